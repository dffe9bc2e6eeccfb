"""The tracer's test bed: C fixtures compiled once per session, and a helper that
traces a real command and returns its exit status and events."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
import sh
from trace_support import Runner, Traced, use_tracer

from cowsnap.trace import trace
from cowsnap.trace.events import Event

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(params=["native", "python"], autouse=True)
def tracer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every tracer test runs against both tracers."""
    return use_tracer(str(request.param), monkeypatch)


@pytest.fixture(scope="session")
def ops_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/trace/fixtures/ops.c, compiled once."""
    compiler = shutil.which("gcc")
    if compiler is None:
        pytest.fail("gcc is needed to build the tracer's C fixtures")
    output = tmp_path_factory.mktemp("trace-fixtures") / "ops"
    sh.Command(compiler)(
        "-O1", "-Wall", "-pthread", "-o", str(output), str(FIXTURES / "ops.c"), _timeout=60
    )
    return output


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty directory, by its physical path (as the tracer reports paths)."""
    directory = tmp_path.resolve() / "w"
    directory.mkdir()
    return directory


@pytest.fixture
def run(work: Path) -> Runner:
    """Trace a command; returns a Traced whose relative views are against `work`."""

    def runner(argv: Sequence[str | bytes], **options: object) -> Traced:
        events: list[Event] = []
        status = trace(argv, on_event=events.append, **options)  # type: ignore[arg-type]
        return Traced(status, events, work)

    return runner


@pytest.fixture
def ops(ops_binary: Path, work: Path, run: Runner) -> Runner:
    """Run one scenario of the ops fixture in `work`."""

    def runner(scenario: str, *extra: str, **options: object) -> Traced:
        return run([str(ops_binary), scenario, str(work), *extra], **options)

    return runner
