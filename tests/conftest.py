"""Every test gets a fresh home (a copy of workflows/) and a fresh database.

The database fixture is parametrised: SQLite always, PostgreSQL when
RCMFLOW_TEST_POSTGRES_URL is set (each test then works in a schema of its own).
Installed entry points are never loaded unless a test asks for them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from rcmflow.cli import cli
from rcmflow.core.engine import Engine

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("RCMFLOW_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    for name in ("RCMFLOW_HOME", "RCMFLOW_DB", "RCMFLOW_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RCMFLOW_ENTRY_POINTS", "0")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A project folder holding a copy of the repository's workflows/ and plugins/."""
    folder = tmp_path / "home"
    folder.mkdir()
    shutil.copytree(REPO / "workflows", folder / "workflows")
    shutil.copytree(REPO / "plugins", folder / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _postgres_schema_url(base: str) -> tuple[str, str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, home: Path):
    """The database URL of the test: a SQLite file in the home, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{home / 'rcmflow.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("set RCMFLOW_TEST_POSTGRES_URL to run on PostgreSQL")
    import sqlalchemy as sa

    url, schema = _postgres_schema_url(POSTGRES_URL)
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def make_engine(home: Path, db_url: str):
    """Build engines on the test's home and database (one per actor, say)."""
    engines: list[Engine] = []

    def build(actor: str = "ts-officer", **kwargs) -> Engine:
        engine = Engine(home, db_url, actor, entry_points=False, **kwargs)
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.close()


@pytest.fixture
def engine(make_engine) -> Engine:
    engine = make_engine()
    engine.init()
    return engine


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def rcmflow(home: Path, db_url: str):
    """Run the command line as a user would, on the test's home and database."""
    runner = CliRunner()

    def run(*args: str, actor: str | None = "ts-officer", input: str | None = None) -> Run:
        options = ["--home", str(home), "--db", db_url]
        if actor:
            options += ["--actor", actor]
        result = runner.invoke(cli, [*options, *args], input=input, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def snapshot(db_url: str):
    """Every row of every rcmflow table, to show that a refused command changed nothing."""
    import sqlalchemy as sa

    from rcmflow.store.models import Base

    def take() -> dict[str, list[tuple]]:
        engine = sa.create_engine(db_url)
        try:
            with engine.connect() as conn:
                return {
                    table.name: sorted(map(tuple, conn.execute(sa.select(table)).all()), key=repr)
                    for table in Base.metadata.sorted_tables
                }
        finally:
            engine.dispose()

    return take


@pytest.fixture
def consultation(engine: Engine) -> str:
    """theme-1, opened: every member country's track is waiting for input."""
    engine.start("thematic-consultation", params={"theme": "1", "deadline": "2030-04-20"})
    engine.fire("theme-1", "open")
    return "theme-1"


RECORDER_PLUGIN = '''\
"""A test action: records each successful run; fails while fail.txt exists, and
kills its own process while die.txt exists."""
import os
import signal
from pathlib import Path

import rcmflow

HERE = Path(__file__).parent


def record(ctx, args):
    """Append a line to runs.txt."""
    if (HERE / "die.txt").exists():
        os.kill(os.getpid(), signal.SIGKILL)
    if (HERE / "fail.txt").exists():
        raise ConnectionError("mail server down")
    with open(HERE / "runs.txt", "a") as handle:
        handle.write(f"{ctx.idempotency_key} {args}\\n")


@rcmflow.hookimpl
def register_actions(register):
    register("record", record)
'''


class Recorder:
    """The `record` action of a test's home: what it did, and switches to make it fail or die."""

    def __init__(self, plugins: Path):
        self.plugins = plugins
        (plugins / "recorder.py").write_text(RECORDER_PLUGIN)

    def runs(self) -> list[str]:
        """One line per successful run: "<idempotency key> <args>"."""
        path = self.plugins / "runs.txt"
        return path.read_text().splitlines() if path.exists() else []

    def args(self) -> list[str]:
        return [line.split(" ", 1)[1] for line in self.runs()]

    def switch(self, name: str, on: bool) -> None:
        flag = self.plugins / f"{name}.txt"
        flag.write_text(name) if on else flag.unlink(missing_ok=True)

    def fail(self, on: bool = True) -> None:
        self.switch("fail", on)

    def die(self, on: bool = True) -> None:
        self.switch("die", on)


@pytest.fixture
def recorder(home: Path) -> Recorder:
    return Recorder(home / "plugins")
