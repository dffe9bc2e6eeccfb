"""`cowsnap mcp`: the tools an agent needs, served over MCP with the `mcp` SDK.

run (a shell command, recorded), log, show, diff, restore and rewind, each
answering with the compact results of cowsnap.agent.results. The server's
stdout is the protocol channel, so a command runs in a child `cowsnap agent
exec` whose output goes to a file, and the server itself never prints. Every
run the server makes belongs to one session: $COWSNAP_SESSION, else a new id.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from cowsnap import api
from cowsnap.agent import results
from cowsnap.agent.wrapper import self_invocation
from cowsnap.diff.text import unified
from cowsnap.errors import CowsnapError, RestoreConflictError
from cowsnap.workspace import detect_workspace

MAX_DIFF_BYTES = 20000
READ_OUTPUT = 4 * results.OUTPUT_TAIL_BYTES
STOP_GRACE_SECONDS = 10
INSTRUCTIONS = (
    "cowsnap records every file a shell command touches and can undo it. Run shell "
    "commands with the `run` tool to make them undoable; `show` or `diff` tells what a run "
    "changed; `rewind` undoes a run and every later one (or a whole session); `restore` "
    "undoes one run or some of its paths. Every restore and rewind can itself be undone "
    "with `restore` on the `undo_run` it returns."
)
T = TypeVar("T")


@dataclass(frozen=True)
class ServerSettings:
    workspace: Path
    store: str | None
    session: str


def new_session() -> str:
    return os.environ.get("COWSNAP_SESSION") or f"mcp-{secrets.token_hex(6)}"


def mcp_server(workspace: str | None = None, store: str | None = None) -> MCPServer:
    """The server for `workspace` (default: the one around the current directory), its
    runs in the session $COWSNAP_SESSION, else a new one."""
    root = detect_workspace(Path(workspace) if workspace else None)
    return build_server(ServerSettings(workspace=root, store=store, session=new_session()))


def _guarded(call: Callable[[], T]) -> T:
    """A cowsnap error becomes the tool's error result, one line, as on the command line."""
    try:
        return call()
    except CowsnapError as error:
        raise ToolError(str(error)) from None


def _restoring(call: Callable[[], T], root: str,
               answer: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """The answer of a restore or rewind; when paths changed since, the conflicts instead
    (nothing was changed), so the agent can look and decide whether to force."""
    try:
        result = call()
    except RestoreConflictError as error:
        return results.conflict_result(error.conflicts, root)
    except CowsnapError as error:
        raise ToolError(str(error)) from None
    return answer(result)


@dataclass(frozen=True)
class Executed:
    status: int
    output_end: bytes
    """The end of its output, at most READ_OUTPUT bytes (a command may print gigabytes)."""
    output_cut: bool
    reported: dict[str, Any]
    """What `cowsnap agent exec` wrote in its result file."""
    note: str | None


class _OutputEnd:
    """Reads a pipe to its end in a thread, keeping only the last READ_OUTPUT bytes: the
    output never touches a file (a file would be a path the run records)."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self._kept = bytearray()
        self.cut = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while chunk := os.read(self._pipe.fileno(), 65536):
            self._kept += chunk
            if len(self._kept) > READ_OUTPUT:
                del self._kept[:len(self._kept) - READ_OUTPUT]
                self.cut = True

    def result(self) -> bytes:
        """What was kept, once the writers are gone (or after a grace period)."""
        self._thread.join(timeout=STOP_GRACE_SECONDS)
        return bytes(self._kept)


def _directory(settings: ServerSettings, cwd: str | None) -> Path:
    """`cwd` (relative to the workspace, or absolute) when it is a directory inside it."""
    chosen = (settings.workspace / (cwd or ".")).resolve()
    if not (chosen == settings.workspace or settings.workspace in chosen.parents) \
            or not chosen.is_dir():
        raise ToolError(f"cwd {cwd!r} is not a directory inside the workspace "
                        f"{settings.workspace}")
    return chosen


def _exec(settings: ServerSettings, command: str, cwd: Path, scratch: Path,
          timeout_seconds: float) -> Executed:
    """Run `command` under `cowsnap agent exec`; its result file goes in `scratch`."""
    result_file = scratch / "result.json"
    argv = [*self_invocation(), "agent", "exec", "--shell", "/bin/sh", "--session",
            settings.session, "--workspace", str(settings.workspace), "--result-file",
            str(result_file), "--", command]
    env = dict(os.environ)
    if settings.store is not None:
        env["COWSNAP_STORE"] = settings.store
    note = None
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    assert process.stdout is not None
    output = _OutputEnd(process.stdout)
    try:
        status = process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        note = f"stopped after {timeout_seconds:g} s (SIGTERM)"
        _signal_group(process.pid, signal.SIGTERM)
        try:
            status = process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            status = process.wait()
            note = f"killed after {timeout_seconds:g} s"
    end = output.result()
    process.stdout.close()
    try:
        reported: dict[str, Any] = json.loads(result_file.read_text())
    except (OSError, ValueError):
        reported = {}
    return Executed(128 - status if status < 0 else status, end, output.cut, reported, note)


def _signal_group(leader: int, number: int) -> None:
    """Signal every process of the command's group: cowsnap and the command's whole tree
    (signalling cowsnap alone would stop the shell and leave its children running, the
    run waiting for them)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader, number)


def build_server(settings: ServerSettings) -> MCPServer:
    """The MCP server, its tools bound to `settings`."""
    server = MCPServer(name="cowsnap", instructions=INSTRUCTIONS)
    root, store = str(settings.workspace), settings.store

    @server.tool()
    def run(command: str, cwd: str | None = None,
            timeout_seconds: float = 600) -> dict[str, Any]:
        """Run a shell command (sh -c) in the workspace (or `cwd`, a directory inside it),
        recorded so it can be undone.

        Returns its exit status, the tail of its output (stdout and stderr), and the
        paths it changed (status: + created, - deleted, c content, t type, p mode).
        """
        with tempfile.TemporaryDirectory(prefix="cowsnap-mcp-") as scratch:
            done = _exec(settings, command, _directory(settings, cwd), Path(scratch),
                         timeout_seconds)
        run_id = done.reported.get("run_id")
        manifest = None
        if run_id:
            manifest = _guarded(lambda: api.show(run_id, workspace=root, store=store))
        warning = "; ".join(part for part in (done.note, done.reported.get("warning"))
                            if part) or None
        return results.run_result(manifest, run_id, done.reported.get("exit_status", done.status),
                                  done.output_end, warning, done.output_cut)

    @server.tool()
    def log(limit: int = 20, session: str | None = None) -> dict[str, Any]:
        """The workspace's recorded runs, newest first (only `session`'s when given)."""
        found = _guarded(lambda: api.log(session=session, workspace=root, store=store).runs)
        return {"runs": [results.summary_result(summary) for summary in found[:limit]],
                "more_runs": max(0, len(found) - limit), "session": settings.session}

    # A client may send "" for an optional run: it means the default, the newest
    # (on the command line an empty reference names no run).

    @server.tool()
    def show(run: str | None = None) -> dict[str, Any]:
        """One run (default: the newest): its command, status and the paths it changed."""
        return results.show_result(_guarded(lambda: api.show(run or None, workspace=root,
                                                               store=store)))

    @server.tool()
    def diff(run: str | None = None, paths: list[str] | None = None) -> dict[str, Any]:
        """What a run (default: the newest) changed, as a unified diff (cut at 20 kB)."""
        changes = _guarded(lambda: api.diff(run or None, paths or (), cwd=settings.workspace,
                                            workspace=root, store=store))
        text = b"\n".join(line for item in changes.files for _kind, line in unified(item))
        return {"run_id": changes.run_id, "diff": text[:MAX_DIFF_BYTES].decode(
                    "utf-8", "replace"), "truncated": len(text) > MAX_DIFF_BYTES}

    @server.tool()
    def restore(run: str | None = None, paths: list[str] | None = None,
                to: Literal["before", "after"] = "before", dry_run: bool = False,
                force: bool = False) -> dict[str, Any]:
        """Undo one run (to="before", the default) or redo it (to="after"), whole or
        only `paths`. Refuses, changing nothing, when a path changed since the run,
        unless `force`; the answer then lists the conflicts."""
        return _restoring(
            lambda: api.restore(run or None, paths or (), side=to, force=force, dry_run=dry_run,
                                cwd=settings.workspace, command=["cowsnap", "mcp", "restore"],
                                workspace=root, store=store),
            root, lambda result: results.restore_result(result, root))

    @server.tool()
    def rewind(run: str | None = None, session: str | None = None, dry_run: bool = False,
               force: bool = False) -> dict[str, Any]:
        """Undo a run (default: the newest) and every later run of the workspace at once,
        or with `session`, everything since that session's first run. Refuses,
        changing nothing, when a path changed since, unless `force`."""
        return _restoring(
            lambda: api.rewind(run or None, session=session, force=force, dry_run=dry_run,
                               cwd=settings.workspace, command=["cowsnap", "mcp", "rewind"],
                               workspace=root, store=store),
            root, lambda result: results.restore_result(result.restore, root, result.runs))

    return server
