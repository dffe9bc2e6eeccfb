"""How often a real `cowsnap run` enters Python with the tracee stopped (the recorder's
before_mutation hook), counted on each backend with both tracers: on btrfs once per
directory, not per file (the snapshot holds everything); on the lazy backends once per
path that existed before the run, and not at all beneath a directory the run made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cowsnap import api
from cowsnap.api import running
from cowsnap.model import MUTATING_OPERATIONS
from cowsnap.trace.events import Event, PathEvent
from tests.conftest import workspace_for

pytestmark = pytest.mark.timeout(120)

FILES = 40
SCRIPT = (f"mkdir -p new/a new/b && for i in $(seq {FILES}); do echo $i > new/a/f$i; "
          "chmod 600 new/a/f$i; echo $i > new/b/g$i; done; rm new/b/g1; "
          "for f in old/*; do echo more >> $f; chmod 600 $f; done")
OLD_FILES = 5


@pytest.fixture(params=["btrfs", "reflink", "copy"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def workspace(backend: str) -> Iterator[Path]:
    for workspace in workspace_for(backend):
        (workspace / "old").mkdir()
        for index in range(OLD_FILES):
            (workspace / "old" / f"o{index}").write_text("before\n")
        yield workspace


def test_the_hook_runs_once_per_directory_or_existing_path(
    backend: str, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooked: list[bytes] = []
    mutations: list[PathEvent] = []
    traced = running.trace

    def counting_trace(*args: Any, before_mutation: Callable[[PathEvent], None],
                       on_event: Callable[[Event], None], **options: Any) -> int:
        def hook(event: PathEvent) -> None:
            hooked.append(event.path)
            before_mutation(event)

        def seen(event: Event) -> None:
            if isinstance(event, PathEvent) and event.operation in MUTATING_OPERATIONS:
                mutations.append(event)
            on_event(event)

        return traced(*args, before_mutation=hook, on_event=seen, **options)

    monkeypatch.setattr(running, "trace", counting_trace)
    result = api.run(api.RunRequest(command=["sh", "-c", SCRIPT], workspace=workspace,
                                    store=tmp_path / "store", backend=backend,
                                    cwd=workspace))
    assert result.exit_status == 0 and result.backend == backend
    assert len(mutations) > 3 * FILES
    relative = sorted({path[len(bytes(workspace)) + 1 :] for path in hooked})
    if backend == "btrfs":
        # The first mutation in each directory: the workspace (mkdir new), new (mkdir a),
        # new/a, new/b and old.
        assert len(hooked) <= 5, relative
    else:
        assert relative == [b"new"] + [b"old/o%d" % index for index in range(OLD_FILES)]
        assert len(hooked) == len(relative), "each path once"
