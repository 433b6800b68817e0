"""The IDX file format of MNIST and Fashion-MNIST, read without trusting the header.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order. The files may be gzipped.

A header is only a claim: the reader checks the magic, the type code and the dimensions, refuses
a payload larger than :data:`MAX_PAYLOAD` before reading anything, and reads the payload in
chunks so that a header claiming far more data than the file holds allocates only what the file
really holds. Every problem is a :class:`DataError` that names the file and the byte offset.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from genolang.base.errors import DataError

__all__ = ["IDX_TYPES", "MAX_PAYLOAD", "read_idx", "idx_bytes"]

# type code -> big-endian numpy dtype (the format stores every multi-byte value big-endian)
IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_DIMS = 4
# Fashion-MNIST's training images are 47 MB; a claim beyond 4 GiB is a damaged or hostile header.
MAX_PAYLOAD = 1 << 32
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_FORMAT_HINT = ("an IDX file starts with 0x00 0x00, a type code (0x08 for uint8) and the number of "
                "dimensions, then one big-endian uint32 per dimension")


def _fail(kind: str, path: Path, offset: int | None, message: str, hint: str | None = _FORMAT_HINT) -> DataError:
    where = f"{path}" if offset is None else f"{path}, byte {offset}"
    return DataError(f"{kind} dataset: {where}: {message}", hint=hint)


def _read_exactly(stream: BinaryIO, n: int) -> bytearray:
    """Up to ``n`` bytes, in chunks: a short result means the stream ended early."""
    out = bytearray()      # writable, so the array made from it is too
    while len(out) < n:
        part = stream.read(min(n - len(out), _CHUNK))
        if not part:
            break
        out += part
    return out


def _header(kind: str, path: Path, stream: BinaryIO) -> tuple[np.dtype, tuple[int, ...]]:
    magic = _read_exactly(stream, 4)
    if len(magic) < 4:
        raise _fail(kind, path, 0, f"the file ends after {len(magic)} bytes, inside the 4-byte magic number")
    if magic[0] or magic[1]:
        raise _fail(kind, path, 0, f"wrong magic number 0x{magic.hex()}: an IDX file starts with two zero bytes")
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02x}" for c in IDX_TYPES)
        raise _fail(kind, path, 2, f"unknown IDX type code 0x{code:02x} (known: {known})")
    if not 1 <= ndim <= MAX_DIMS:
        raise _fail(kind, path, 3, f"{ndim} dimensions; expected 1 to {MAX_DIMS}")
    raw = _read_exactly(stream, 4 * ndim)
    if len(raw) < 4 * ndim:
        raise _fail(kind, path, 4 + len(raw), f"the file ends inside the header ({ndim} dimensions need "
                                              f"{4 * ndim} bytes after the magic number)")
    return np.dtype(IDX_TYPES[code]), tuple(int(d) for d in np.frombuffer(raw, dtype=">u4"))


def read_idx(path: str | Path, *, kind: str = "idx") -> np.ndarray:
    """The array of an IDX file (gzipped or plain), in its native byte order.

    ``kind`` names the dataset in error messages.

    Example:
        >>> images = read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype
        ((10000, 28, 28), dtype('uint8'))
    """
    path = Path(path)
    try:
        handle = open(path, "rb")
    except OSError as err:
        raise _fail(kind, path, None, f"cannot be read: {err.strerror or err}", hint=None) from err
    with handle:
        zipped = handle.read(2) == _GZIP_MAGIC
        handle.seek(0)
        try:
            if not zipped:
                return _read(kind, path, handle, zipped)
            with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
                return _read(kind, path, stream, zipped)
        except (OSError, EOFError, zlib.error) as err:   # a damaged gzip stream (BadGzipFile is an OSError)
            raise _fail(kind, path, None, f"is not a readable {'gzip ' if zipped else ''}file: {err}",
                        hint="the file may be truncated; download or install it again") from err


def _read(kind: str, path: Path, stream: BinaryIO, zipped: bool) -> np.ndarray:
    dtype, dims = _header(kind, path, stream)
    start = 4 + 4 * len(dims)
    size = math.prod(dims) * dtype.itemsize
    shape = "×".join(str(d) for d in dims)
    if size > MAX_PAYLOAD:
        raise _fail(kind, path, 4, f"the header claims {shape} values ({size:,} bytes), more than the "
                                   f"{MAX_PAYLOAD:,} bytes an IDX file read here may hold")
    if not zipped:
        actual = path.stat().st_size - start
        if actual != size:
            raise _fail(kind, path, start, f"the header claims {shape} values ({size:,} bytes) but the file "
                                           f"holds {actual:,} bytes after the header",
                        hint="the file is truncated or not the file it claims to be")
    payload = _read_exactly(stream, size + 1)   # one byte more: a longer stream has extra data
    if len(payload) != size:
        said = f"{len(payload):,}" if len(payload) <= size else "more than that"
        raise _fail(kind, path, start, f"the header claims {shape} values ({size:,} bytes) but the "
                                       f"{'decompressed ' if zipped else ''}file holds {said} bytes after the header",
                    hint="the file is truncated or not the file it claims to be")
    return np.frombuffer(payload, dtype=dtype).reshape(dims)


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` written as an IDX file (the inverse of :func:`read_idx`), for tests and conversions.

    Example:
        >>> idx_bytes(np.zeros((2, 3), dtype=np.uint8))[:4].hex()
        '00000802'
    """
    same = [c for c, name in IDX_TYPES.items()
            if np.dtype(name).kind == array.dtype.kind and np.dtype(name).itemsize == array.dtype.itemsize]
    if not same:
        raise ValueError(f"IDX has no type code for {array.dtype}")
    code = same[0]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
