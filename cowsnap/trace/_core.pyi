from typing import Any

OPERATIONS: tuple[str, ...]
KINDS: tuple[str, ...]

class Core:
    root_status: int | None
    def __init__(
        self,
        root: int,
        specs: list[tuple[Any, ...]],
        x86_64: dict[int, int],
        i386: dict[int, int],
        x32: dict[int, int],
        hook_mutations: bool,
        hook_closes: bool,
        sync_renames: bool,
        /,
    ) -> None: ...
    def step(
        self, quiet_paths: list[bytes] | None = ..., quiet_dirs: list[bytes] | None = ..., /
    ) -> tuple[list[tuple[Any, ...]], bool]: ...
    def kill_all(self) -> None: ...
