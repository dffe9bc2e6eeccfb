from typing import Any

OPERATIONS: tuple[str, ...]
KINDS: tuple[str, ...]

def configure(
    path_event: type, process_event: type, trace_warning: type,
    operations: tuple[Any, ...], names: tuple[str, ...], /,
) -> None: ...

class Core:
    root_status: int | None
    root_signal: int | None
    def __init__(
        self,
        root: int,
        specs: list[tuple[Any, ...]],
        x86_64: dict[int, int],
        i386: dict[int, int],
        x32: dict[int, int],
        fork_calls: dict[int, str],
        hook_mutations: bool,
        hook_closes: bool,
        sync_renames: bool,
        follow: bool,
        /,
    ) -> None: ...
    def step(
        self,
        quiet_paths: list[bytes] | None = ...,
        quiet_dirs: list[bytes] | None = ...,
        quiet_closes: list[bytes] | None = ...,
        quiet_trees: list[bytes] | None = ...,
        /,
    ) -> tuple[list[Any], bool]: ...
    def kill_all(self) -> None: ...
