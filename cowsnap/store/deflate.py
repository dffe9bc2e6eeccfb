"""Compression of stored contents: zlib streams, made by ISA-L (`isal`).

The streams are plain zlib, so git, libgit2 and Python's zlib read them as any
other; ISA-L makes them about four times faster than zlib at level 1, for the
same size (docs/store.md). Compression is most of the cost of keeping a new
content. Inflating stays with zlib: it is already fast.
"""

from __future__ import annotations

from typing import Protocol

from isal import isal_zlib

LEVEL = 1
"""ISA-L's level 1 (of 0-3): the size of zlib's level 1 at four times its speed."""


class Compressor(Protocol):
    def compress(self, data: bytes | memoryview, /) -> bytes: ...

    def flush(self) -> bytes: ...


def deflate(data: bytes | memoryview) -> bytes:
    """`data` as one zlib stream."""
    return isal_zlib.compress(data, LEVEL)


def compressor() -> Compressor:
    """A zlib stream made piece by piece."""
    return isal_zlib.compressobj(LEVEL)


def checksum(data: bytes | memoryview) -> int:
    """CRC-32 of `data` (as zlib.crc32)."""
    return isal_zlib.crc32(data)
