"""Reading strings out of a process's memory, both ways, here from our own process."""

from __future__ import annotations

import ctypes
import mmap
import os

from cowsnap.trace import native


def test_strings_read_alike_before_and_after_caching_the_mem_fd() -> None:
    text = b"/some/path/\xff\xfe/with a non-UTF-8 name"
    buffer = ctypes.create_string_buffer(text)
    pid = os.getpid()
    memory = native.TraceeMemory()
    try:
        reads = [
            memory.read_string(pid, pid, ctypes.addressof(buffer))
            for _ in range(native.TraceeMemory.READS_BEFORE_CACHING * 2)
        ]
    finally:
        memory.close()
    assert reads == [text] * len(reads)
    assert memory.read_string(pid, pid, 0) is None


def test_a_string_running_into_an_unmapped_page() -> None:
    """A path ending right before unmapped memory is read; one running into it is not."""
    area = mmap.mmap(-1, 2 * mmap.PAGESIZE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(area))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    assert libc.munmap(base + mmap.PAGESIZE, mmap.PAGESIZE) == 0
    end = base + mmap.PAGESIZE
    ctypes.memmove(end - 6, b"/edge\0", 6)
    assert native.read_string(os.getpid(), end - 6) == b"/edge"
    ctypes.memmove(end - 3, b"abc", 3)
    assert native.read_string(os.getpid(), end - 3) is None
    assert native.read_string(os.getpid(), 8) is None
