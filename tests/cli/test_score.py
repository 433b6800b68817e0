"""`geno score`: table accuracy, rank and percentile per genotype; exit 2 outside the space; no torch."""

import json
import subprocess
import sys

from genolang.grammar import interop

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
WORST = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def _write(path, arch, name):
    path.write_text(interop.standalone_text(interop.parse_nb201(arch, name=name), ("nb201.geno",), "nb201_net"),
                    encoding="utf-8")
    return path


def test_scores_files_and_run_directories(geno, tmp_path, anb_table):
    best = _write(tmp_path / "best.geno", BEST, "best")
    run = tmp_path / "run"
    run.mkdir()
    _write(run / "genotype.geno", WORST, "worst")
    result = geno("score", str(best), str(run))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "not NAS-Bench-201's published numbers" in result.stdout and "200-epoch" in result.stdout
    assert "median 90.41" in result.stdout and "90th percentile 92.58" in result.stdout
    row = next(line for line in lines if "(best)" in line)
    assert "93.99" in row and "3 of 15,625" in row and "99.98" in row and BEST in row
    row = next(line for line in lines if "(worst)" in line)
    assert "10.00" in row and "0.00" in row


def test_json_lines(geno, tmp_path, anb_table):
    result = geno("score", "--json", str(_write(tmp_path / "best.geno", BEST, "best")))
    record = json.loads(result.stdout)
    assert (record["rank"], record["cells"], record["cell"], record["table"]) == (3, 15_625, BEST, "analognas")
    assert "not NAS-Bench-201's published numbers" in record["caveat"]


def test_a_genotype_outside_the_space_exits_2_with_its_location(geno, tmp_path, anb_table):
    result = geno("score", str(tmp_path / "x.geno"))
    assert result.returncode == 2 and "no such file" in result.stderr
    darts = tmp_path / "darts.geno"
    darts.write_text(interop.standalone_text(interop.parse_darts(
        "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2],"
        " reduce=[('max_pool_3x3', 0), ('skip_connect', 1)], reduce_concat=[2])", name="d"), ("ops.geno",), None),
        encoding="utf-8")
    result = geno("score", str(darts))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{darts}:" in result.stderr and "not in the NAS-Bench-201 space" in result.stderr


def test_an_unknown_table_exits_2(geno, tmp_path):
    result = geno("score", "--table", "nb301x", str(tmp_path))
    assert result.returncode == 2 and "unknown benchmark table" in result.stderr


def test_score_does_not_import_torch(tmp_path):
    best = _write(tmp_path / "best.geno", BEST, "best")
    code = ("import sys\nfrom genolang.cli import main\nsys.argv = ['geno', 'score', sys.argv[1]]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    print('exit', exc.code)\n"
            "print(sorted(m for m in ('torch', 'pandas', 'analognasbench') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code, str(best)], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_a_received_run_whose_genotype_is_a_link_is_refused_unread(geno, tmp_path, anb_table):
    """A run directory someone sent: `genotype.geno` linking out is refused (exit 2, naming the
    file) and the file it points at is never read (its access time does not move)."""
    import os

    secret = tmp_path / "secret.geno"
    secret.write_text("SECRET first line\n", encoding="utf-8")
    os.utime(secret, (1_000_000, 1_000_000))
    run = tmp_path / "run"
    run.mkdir()
    (run / "genotype.geno").symlink_to(secret)
    result = geno("score", str(run))
    assert result.returncode == 2 and "genotype.geno" in result.stderr and "symlink" in result.stderr
    assert "SECRET" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert secret.stat().st_atime == 1_000_000 and secret.read_text(encoding="utf-8").startswith("SECRET")
