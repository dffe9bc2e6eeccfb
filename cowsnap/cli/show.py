"""`cowsnap show`: one run, a status line per path, filtered like git's pathspecs."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import click

from cowsnap import api
from cowsnap.cli.format import (
    command_line,
    count,
    display_path,
    exit_description,
    local_time,
    printable,
    relative_name,
)
from cowsnap.cli.options import complete_runs, json_option, location_options, terminal_options
from cowsnap.cli.tally import CREATED, DELETED, MODIFIED, TYPE_CHANGED, effect, tally, was_read
from cowsnap.cli.terminal import colour_wanted, emit, paint

PROBES = {"existence", "directory"}
"""Operations that only look at a path (does it exist, what is in it)."""
STYLE = {CREATED: "green", DELETED: "red", MODIFIED: "yellow", TYPE_CHANGED: "yellow"}


def matches(name: bytes, pattern: bytes) -> bool:
    """git's pathspec: a glob over the whole name (`*` crosses `/`, so '*.txt' finds
    them at any depth), or a directory standing for everything beneath it."""
    directory = pattern.rstrip(b"/")
    return (fnmatch.fnmatchcase(name, pattern) or name == directory
            or name.startswith(directory + b"/"))


@dataclass(frozen=True)
class Filter:
    """Which entries `show` lists: by what the run did (any of the chosen kinds; all
    when none is chosen), by pathspec, minus the excluded."""

    changed: bool = False
    written: bool = False
    read: bool = False
    deleted: bool = False
    everything: bool = False
    pathspecs: tuple[bytes, ...] = ()
    excludes: tuple[bytes, ...] = ()

    def by_kind(self, entry: api.FileEntry) -> bool:
        found = effect(entry)
        if not (self.changed or self.written or self.read or self.deleted):
            looked_at_only = set(entry.operations) <= PROBES
            return (self.everything or bool(api.entry_change(entry))
                    or (entry.in_workspace and not looked_at_only))
        return ((self.changed and bool(api.entry_change(entry)))
                or (self.written and found in (CREATED, MODIFIED, TYPE_CHANGED))
                or (self.deleted and found is DELETED)
                or (self.read and was_read(entry)))

    def by_name(self, name: bytes) -> bool:
        if self.pathspecs and not any(matches(name, spec) for spec in self.pathspecs):
            return False
        return not any(matches(name, pattern) for pattern in self.excludes)


def header_lines(manifest: api.Manifest) -> Iterator[str]:
    yield f"run:       {manifest.run_id}"
    yield f"command:   {command_line(manifest.command)}"
    yield f"exit:      {exit_description(manifest.exit_status)}"
    yield f"workspace: {display_path(manifest.workspace)} ({printable(manifest.backend)})"
    yield f"started:   {local_time(manifest.started_at)}"
    yield f"finished:  {local_time(manifest.finished_at)}"
    if manifest.session is not None:
        yield f"session:   {printable(manifest.session)}"
    for repository in manifest.git_repositories:
        dirty = " (dirty)" if repository.dirty else ""
        after = repository.head or "no commit"
        if repository.head_before is not None and repository.head_before != repository.head:
            was = " (dirty)" if repository.dirty_before else ""
            where = f"{repository.head_before}{was} -> {after}{dirty}"
        else:
            where = f"{after}{dirty}" + (" (unchanged)" if repository.head_before else "")
        yield f"git:       {display_path(repository.root)} at {printable(where)}"
    if manifest.version_globs:
        yield f"versions:  {printable(' '.join(manifest.version_globs))}"
    kept = api.kept_snapshot(manifest)
    if kept is not None:
        yield f"snapshot:  {display_path(str(kept))} (kept; removed with the run)"
    for warning in manifest.warnings:
        yield f"warning:   {printable(warning)}"


def show_lines(manifest: api.Manifest, chosen: Filter = Filter(),
               colour: bool = False) -> Iterator[bytes]:
    """The header, one line per path the filter keeps, and what they add up to."""
    for line in header_lines(manifest):
        yield line.encode("utf-8", "backslashreplace")
    yield b""
    listed = []
    hidden = hidden_read = 0
    for entry in manifest.files:
        name = relative_name(entry.path, manifest.workspace)
        if not chosen.by_name(name):
            continue
        if not chosen.by_kind(entry):
            hidden += 1
            hidden_read += was_read(entry)
            continue
        listed.append(entry)
        status = api.status_code(entry)
        versions = len(entry.versions)
        kept = f"  ({count(versions, 'version')})" if versions else ""
        text = f" {display_path(name)}  [{','.join(entry.operations)}]{kept}"
        yield paint(status.encode(), STYLE.get(effect(entry)), colour) + text.encode()
    yield b""
    yield f"{count(len(listed), 'path')} listed: {tally(listed)}".encode()
    if hidden:
        filtered = chosen.changed or chosen.written or chosen.read or chosen.deleted
        why = "paths the filters leave out" if filtered else \
            "unchanged paths outside the workspace or only looked at"
        read = f", {hidden_read} of them read" if hidden_read else ""
        more = "" if filtered else "; --all lists them"
        yield f"(and {hidden} {why}{read}{more})".encode()


def show_text(manifest: api.Manifest, *, everything: bool = False) -> str:
    return "\n".join(line.decode() for line in show_lines(manifest, Filter(everything=everything)))


@click.command("show")
@click.argument("arguments", nargs=-1, metavar="[RUN] [PATHSPEC]...",
                shell_complete=complete_runs)
@click.option("--changed", is_flag=True, help="Only paths the run left different.")
@click.option("--written", is_flag=True, help="Only paths the run created or modified.")
@click.option("--read", "read_", is_flag=True, help="Only paths the run read.")
@click.option("--deleted", is_flag=True, help="Only paths the run deleted.")
@click.option("--exclude", "excludes", multiple=True, metavar="PATHSPEC",
              help="Leave out matching paths (repeatable), e.g. --exclude .git/")
@click.option("--all", "everything", is_flag=True,
              help="Also list unchanged paths outside the workspace (libraries) and those "
                   "only looked at (existence checks, directory listings).")
@location_options
@json_option
@terminal_options
def show(arguments: Sequence[str], changed: bool, written: bool, read_: bool, deleted: bool,
         excludes: tuple[str, ...], everything: bool, workspace: str | None,
         store: str | None, as_json: bool, color: str, no_pager: bool) -> None:
    """Show one run (default: the workspace's newest) with a status line per path.

    Paths are relative to the workspace (absolute outside it). Status: + created,
    - deleted, c content changed, t type changed, then p when permissions changed,
    m when other metadata (owner, group, times, xattrs) changed; `.` means
    unchanged. The kind filters add up (--written --deleted lists both). A
    PATHSPEC is a glob over the whole name ('*.txt' at any depth) or a directory.
    --json prints the full manifest.

    Without a kind filter it lists what the run changed and what it read in the
    workspace (its inputs), on a terminal as in a pipe: `show | grep` sees the
    lines you saw, and the noise (libraries, existence checks) is already left
    out. --changed narrows it to the changes.
    """
    run, specs = api.split_run_argument(arguments, store, workspace)
    manifest = api.show(run, workspace=workspace, store=store)
    if as_json:
        click.echo(json.dumps(api.manifest_to_dict(manifest), indent=2))
        return
    encode = [spec.encode("utf-8", "surrogateescape") for spec in specs]
    chosen = Filter(changed=changed, written=written, read=read_, deleted=deleted,
                    everything=everything, pathspecs=tuple(encode),
                    excludes=tuple(item.encode("utf-8", "surrogateescape")
                                   for item in excludes))
    emit(show_lines(manifest, chosen, colour_wanted(color)), no_pager=no_pager)
