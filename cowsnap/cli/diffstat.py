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


def renamed(files: Sequence[api.FileDiff], renames: Mapping[bytes, bytes] | None = None
            ) -> tuple[dict[bytes, api.FileDiff], set[bytes]]:
    """The renames to show as one line: each destination path and the diff of the path
    it came from (itself when the diff already pairs them), and the source paths whose
    own line it replaces. One answer for --name-status and --stat."""
    by_path = {item.path: item for item in files}
    sources: dict[bytes, api.FileDiff] = {}
    for new, old in (renames or {}).items():
        if new in by_path and old in by_path and by_path[old].status[0] == "-":
            sources[new] = by_path[old]
    pairs = {item.path: item for item in files if item.old_name is not None}
    pairs.update({new: source for new, source in sources.items() if new not in pairs})
    return pairs, {source.path for source in sources.values()}


def _old_name(item: api.FileDiff, source: api.FileDiff) -> bytes:
    return item.old_name if source is item and item.old_name is not None else source.name


def name_status(files: Sequence[api.FileDiff], renames: Mapping[bytes, bytes] | None = None,
                *, nul: bool = False) -> list[bytes]:
    """`M<TAB>name` per path, a rename as one `R<TAB>old<TAB>new` line (git adds a
    similarity score after R; cowsnap knows the rename, not a score); with `nul`,
    git's -z form (fields and lines ended by NUL, names raw)."""
    pairs, hidden = renamed(files, renames)
    lines = []
    for item in files:
        if item.path in hidden:
            continue
        names = [item.name]
        code = letter(item.status)
        if item.path in pairs:
            names, code = [_old_name(item, pairs[item.path]), item.name], "R"
        if nul:
            lines.append(b"\0".join([code.encode(), *names]))
        else:
            lines.append("\t".join([code, *map(display_path, names)]).encode())
    return lines


def rename_name(old: str, new: str) -> str:
    """A rename as git's --stat names it: `a => b`, the directories both names share
    outside braces (`sub/{a => b}`)."""
    old_parts, new_parts = old.split("/"), new.split("/")
    shared = 0
    while (shared < min(len(old_parts), len(new_parts)) - 1
           and old_parts[shared] == new_parts[shared]):
        shared += 1
    if shared == 0:
        return f"{old} => {new}"
    start = len("/".join(old_parts[:shared])) + 1
    return f"{old[:start]}{{{old[start:]} => {new[start:]}}}"


def width_of(text: str) -> int:
    """Columns a terminal gives `text` (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else
               0 if unicodedata.combining(char) else 1 for char in text)


def _size(value: int | None) -> str:
    return f"{value or 0} bytes"


def stat(files: Sequence[api.FileDiff], width: int = 80,
         renames: Mapping[bytes, bytes] | None = None) -> list[str]:
    """One line per path and the totals, fitted to `width` columns, as git: names
    padded to one column, a count, a bar of + and - scaled to the room left; a
    binary file shows its size before and after; a rename is one `old => new` line
    (when the diff could not pair them, counting the source's removed lines)."""
    pairs, hidden = renamed(files, renames)
    shown = [item for item in files if item.path not in hidden]
    names = [rename_name(display_path(_old_name(item, pairs[item.path])), display_path(item.name))
             if item.path in pairs else display_path(item.name) for item in shown]
    removed = [item.deletions + (pairs[item.path].deletions
                                 if item.path in pairs and pairs[item.path] is not item else 0)
               for item in shown]
    name_width = max((width_of(name) for name in names), default=0)
    counts = [item.additions + deletions for item, deletions in zip(shown, removed, strict=True)]
    count_width = max((len(str(number)) for number in counts), default=1)
    name_width = min(name_width, max(10, width - count_width - 14))
    room = max(5, width - name_width - count_width - 5)
    largest = max(counts, default=0)
    lines = []
    for item, name, total, deletions in zip(shown, names, counts, removed, strict=True):
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
        minus = round(deletions * scale) or (1 if deletions else 0)
        bar = "+" * plus + "-" * minus
        lines.append(f" {padded} | {str(total).rjust(count_width)} {bar}".rstrip())
    additions = sum(item.additions for item in shown)
    deletions_total = sum(removed)
    lines.append(f" {count(len(shown), 'file')} changed, "
                 f"{additions} insertion{'s' if additions != 1 else ''}(+), "
                 f"{deletions_total} deletion{'s' if deletions_total != 1 else ''}(-)")
    return lines
