"""The documented Neovim set-up works: headless Neovim with the `init.lua` of docs/editors.md
opens a spec with a shape error and shows the server's diagnostic at its place."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
local found = vim.wait(%d, function() return #vim.diagnostic.get(0) > 0 end, 50)
local out = {}
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(out, string.format("%%d:%%d:%%s", d.lnum, d.col, d.message))
end
vim.fn.writefile(out, os.getenv("GENO_PROBE_OUT"))
vim.cmd("qa!")
"""
WAIT_MS = 60_000                    # a cap against hangs, not a timing


def documented_config() -> str:
    text = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    return re.search(r"```lua\n(.*?)```", text, re.S).group(1)


@pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim is not installed (apt-get install -y neovim)")
def test_headless_neovim_shows_the_servers_diagnostic(tmp_path):
    pytest.importorskip("pygls", reason="the language server needs the lsp extra")
    project = tmp_path / "project"
    project.mkdir()
    (project / "geno.toml").write_text("")
    spec = project / "shape.geno"
    shutil.copy(Path(__file__).parent / "project" / "shape.geno", spec)
    (tmp_path / "init.lua").write_text(documented_config())
    (tmp_path / "probe.lua").write_text(PROBE % WAIT_MS)
    out = tmp_path / "diagnostics.txt"
    env = {**os.environ, "GENO_PROBE_OUT": str(out), "OMP_NUM_THREADS": "1", "GENOLANG_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    subprocess.run(["nvim", "--headless", "-n", "-i", "NONE", "-u", str(tmp_path / "init.lua"), str(spec),
                    "-c", f"luafile {tmp_path / 'probe.lua'}"],
                   cwd=project, env=env, timeout=WAIT_MS / 1000 + 60, capture_output=True, stdin=subprocess.DEVNULL)
    found = out.read_text().splitlines() if out.exists() else []
    assert found, "Neovim showed no diagnostic"
    assert found[0].startswith("7:15:") and "produces 8x16x16" in found[0]
