"""The parser on hostile text: bounded depth and literals, a BOM, comments attached in linear
time, and spec files read only when they are regular and small enough."""

import os
import time

import pytest

from genolang.base.errors import SpecSyntaxError
from genolang.grammar import parse, parse_file
from genolang.grammar.reading import read_spec
from genolang.base.limits import MAX_FILE_BYTES, MAX_INT_DIGITS, MAX_SYNTAX_DEPTH


def test_nesting_deeper_than_the_limit_is_a_located_error():
    parse("op x = " + "residual(" * 10 + "relu" + ")" * 10 + "\n")
    with pytest.raises(SpecSyntaxError) as caught:
        parse("op x = " + "residual(" * MAX_SYNTAX_DEPTH + "relu" + ")" * MAX_SYNTAX_DEPTH + "\n", "deep.geno")
    assert caught.value.span.line == 1 and caught.value.span.column > 1


def test_a_long_integer_literal_is_refused_where_it_is():
    parse("experiment e { seed = " + "9" * MAX_INT_DIGITS + " }\n")
    with pytest.raises(SpecSyntaxError) as caught:
        parse("experiment e {\n  seed = " + "9" * 5000 + "\n}\n")
    assert (caught.value.span.line, caught.value.span.column) == (2, 10)


def test_a_byte_order_mark_is_dropped():
    assert parse("\ufeffop x = relu\n").items[0].name == "x"


def test_comments_attach_in_linear_time():
    def seconds(n):
        text = "".join(f"# note {i}\nop a{i} = relu  # tail {i}\n" for i in range(n))
        start = time.process_time()     # CPU time: load on the machine does not inflate it
        module = parse(text, f"<comments {n}>")
        assert module.items[-1].comments == (f"note {n - 1}",) and module.items[-1].note == f"tail {n - 1}"
        return time.process_time() - start

    small, large = seconds(1000), seconds(8000)
    assert large < 16 * small + 0.5, (small, large)     # 8x the input; quadratic would be 64x


def test_only_regular_files_under_the_limit_are_read(tmp_path):
    fifo = tmp_path / "pipe.geno"
    os.mkfifo(fifo)
    big = tmp_path / "big.geno"
    with open(big, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    for path, words in ((fifo, "not a regular file"), ("/dev/zero", "not a regular file"), (big, "limited to"),
                        (tmp_path, "folder"), (tmp_path / "missing.geno", "no such spec file")):
        with pytest.raises(SpecSyntaxError, match=words):
            read_spec(path)
    (tmp_path / "latin.geno").write_bytes(b"op x = relu # \xe9\n")
    with pytest.raises(SpecSyntaxError, match="not UTF-8"):
        parse_file(tmp_path / "latin.geno")
