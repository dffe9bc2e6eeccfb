"""`diff --stat` and `diff --name-status` as git prints them."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

from cowsnap import api
from cowsnap.cli.format import count, display_path

LETTERS = {"+": "A", "-": "D", "t": "T", "c": "M"}


def letter(status: str) -> str:
    """git's letter for a two-character status: A, D, T, M (content or permissions)."""
    return LETTERS.get(status[0], "M")


def name_status(files: Sequence[api.FileDiff], renames: Mapping[bytes, bytes] | None = None,
                *, nul: bool = False) -> list[bytes]:
    """`M<TAB>name` per path, a rename as one `R<TAB>old<TAB>new` line (git adds a
    similarity score after R; cowsnap knows the rename, not a score); with `nul`,
    git's -z form (fields and lines ended by NUL, names raw)."""
    by_path = {item.path: item for item in files}
    moved = {new: old for new, old in (renames or {}).items()
             if new in by_path and old in by_path and by_path[old].status[0] == "-"}
    lines = []
    for item in files:
        if item.path in moved.values():
            continue
        names = [item.name]
        code = letter(item.status)
        if item.old_name is not None:
            names, code = [item.old_name, item.name], "R"
        elif item.path in moved:
            names, code = [by_path[moved[item.path]].name, item.name], "R"
        if nul:
            lines.append(b"\0".join([code.encode(), *names]))
        else:
            lines.append("\t".join([code, *map(display_path, names)]).encode())
    return lines


def width_of(text: str) -> int:
    """Columns a terminal gives `text` (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else
               0 if unicodedata.combining(char) else 1 for char in text)


def _size(value: int | None) -> str:
    return f"{value or 0} bytes"


def stat(files: Sequence[api.FileDiff], width: int = 80) -> list[str]:
    """One line per path and the totals, fitted to `width` columns, as git: names
    padded to one column, a count, a bar of + and - scaled to the room left; a
    binary file shows its size before and after."""
    names = [display_path(item.name) for item in files]
    name_width = max((width_of(name) for name in names), default=0)
    counts = [item.additions + item.deletions for item in files]
    count_width = max((len(str(number)) for number in counts), default=1)
    name_width = min(name_width, max(10, width - count_width - 14))
    room = max(5, width - name_width - count_width - 5)
    largest = max(counts, default=0)
    lines = []
    for item, name, total in zip(files, names, counts, strict=True):
        if width_of(name) > name_width:
            name = "..." + name[-(name_width - 3):]
        padded = name + " " * (name_width - width_of(name))
        if item.binary:
            sizes = f"Bin {_size(item.old.size if item.old.exists else 0)} -> " \
                    f"{_size(item.new.size if item.new.exists else 0)}"
            lines.append(f" {padded} | {sizes}")
            continue
        scale = min(1.0, room / largest) if largest else 1.0
        plus = round(item.additions * scale) or (1 if item.additions else 0)
        minus = round(item.deletions * scale) or (1 if item.deletions else 0)
        bar = "+" * plus + "-" * minus
        lines.append(f" {padded} | {str(total).rjust(count_width)} {bar}".rstrip())
    additions = sum(item.additions for item in files)
    deletions = sum(item.deletions for item in files)
    lines.append(f" {count(len(files), 'file')} changed, "
                 f"{additions} insertion{'s' if additions != 1 else ''}(+), "
                 f"{deletions} deletion{'s' if deletions != 1 else ''}(-)")
    return lines
