"""What a Python user sees first (issue 22, item 9): `dir(genolang)` lists the API, and a
genotype prints as its .geno text with a short repr."""

import genolang


def test_dir_lists_the_lazily_loaded_api():
    names = dir(genolang)
    for name in ("load", "search", "train", "compile_eval", "zoo", "genotype_text", "Classifier"):
        assert name in names


def test_a_genotype_prints_as_its_text_and_reprs_in_one_line():
    genotype = genolang.zoo("darts_v2").genotypes["darts_v2"]
    text = str(genotype)
    assert text == genolang.genotype_text(genotype)
    assert "genotype darts_v2 {" in text and "n0 = sep_conv_3(c0) + sep_conv_3(c1)" in text
    shown = repr(genotype)
    assert "\n" not in shown and len(shown) < 200 and "darts_v2" in shown
