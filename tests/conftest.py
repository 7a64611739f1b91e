"""Every test gets a fresh home and a fresh database of its own.

Homes. A home is a folder with workflows/ and plugins/. By default they are copies of
the repository's: the real RCM roadmap, for the tests about the roadmap, its documents,
pages and commands. A module marked ``pytestmark = pytest.mark.fixture_workflows`` (the
engine's own tests) gets a copy of tests/workflows/ instead, with an empty plugins/:
a small members file and small definitions, so that a change to the roadmap (a country
added, a step renamed) cannot break a test of the engine.

Databases. A test that uses a database (``db_url``, or a fixture built on it such as
``engine``, ``rcmflow`` or ``snapshot``) runs once per backend: SQLite always,
PostgreSQL when RCMFLOW_TEST_POSTGRES_URL is set (each test then works in a schema of
its own). A test marked ``no_database`` runs once: its database URL names a file in a
folder that does not exist, so a command that opens the database fails the test.

Templates. What many tests start from is built once per session and per backend, and
each test gets a copy of its own: an initialised database (the ``engine`` fixture) and
the demo played to its end with the files it wrote (``demo_data``, ``demo``). On SQLite
a template is a file, and is copied; on PostgreSQL it is a schema, copied into the
test's schema by replaying the SQL that the migrations ran when the template was
initialised, then copying the rows and the sequences' positions.

Installed entry points are never loaded unless a test asks for them.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from rcmflow.cli import cli
from rcmflow.core.engine import Engine

REPO = Path(__file__).resolve().parent.parent
#: the small project of the engine's tests: tests/workflows/ (plugins/: none)
FIXTURES = Path(__file__).resolve().parent
POSTGRES_URL = os.environ.get("RCMFLOW_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]


def pytest_configure(config):
    # Piped output is as wide as COLUMNS says (else 80): the tests read it 200 wide, as a
    # wide window shows it; the tests of narrow screens set their own.
    os.environ["COLUMNS"] = "200"
    config.addinivalue_line(
        "markers", "fixture_workflows: the test's home holds tests/workflows/ (a small project) "
                   "instead of the roadmap in the repository's workflows/ and plugins/")
    config.addinivalue_line(
        "markers", "no_database: the test needs no database, so it runs once rather than once per backend")


def pytest_generate_tests(metafunc):
    """One run per backend for each test that uses a database, unless it is marked no_database."""
    if "database" in metafunc.fixturenames and not metafunc.definition.get_closest_marker("no_database"):
        metafunc.parametrize("database", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    for name in ("RCMFLOW_HOME", "RCMFLOW_DB", "RCMFLOW_ACTOR", "RCMFLOW_REPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RCMFLOW_ENTRY_POINTS", "0")


# --- homes ------------------------------------------------------------------------------


def copy_project(source: Path, folder: Path) -> Path:
    """Lay a home in `folder`: `source`'s workflows/, and its plugins/ (or an empty one)."""
    folder.mkdir(parents=True)
    shutil.copytree(source / "workflows", folder / "workflows", ignore=shutil.ignore_patterns("__pycache__"))
    if (source / "plugins").is_dir():
        shutil.copytree(source / "plugins", folder / "plugins", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        (folder / "plugins").mkdir()
    return folder


@pytest.fixture
def home(request, tmp_path: Path) -> Path:
    """A project folder: a copy of the repository's workflows/ and plugins/, or of
    tests/workflows/ for a test marked fixture_workflows."""
    source = FIXTURES if request.node.get_closest_marker("fixture_workflows") else REPO
    return copy_project(source, tmp_path / "home")


# --- databases ---------------------------------------------------------------------------


def _postgres_schema_url(base: str, schema: str | None = None) -> tuple[str, str]:
    schema = schema or f"t_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


class Postgres:
    """The PostgreSQL server of RCMFLOW_TEST_POSTGRES_URL: schemas made and dropped, and
    templates copied from one schema into another."""

    def __init__(self, base: str):
        import sqlalchemy as sa

        self.base = base
        self.admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        #: what `rcmflow init` ran on an empty schema: (statement, parameters, executemany)
        self.migrations: list[tuple[str, Any, bool]] | None = None

    def create_schema(self) -> tuple[str, str]:
        url, schema = _postgres_schema_url(self.base)
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        return url, schema

    def drop_schema(self, schema: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def initialise(self, engine: Engine) -> None:
        """`rcmflow init` on the engine's empty schema, recording the SQL its migrations
        run, so that other schemas can be initialised by replaying it."""
        import sqlalchemy as sa

        recorded: list[tuple[str, Any, bool]] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("INSERT INTO DEFINITIONS"):
                return  # what `init` pins after migrating is data: the template's rows bring it
            if statement.lstrip().split(None, 1)[0].upper() in ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE",
                                                                  "DELETE", "COMMENT"):
                recorded.append((statement, parameters, executemany))

        sa.event.listen(engine.db.engine, "before_cursor_execute", record)
        try:
            engine.init()
        finally:
            sa.event.remove(engine.db.engine, "before_cursor_execute", record)
        assert any(s.lstrip().upper().startswith("CREATE TABLE") for s, _, _ in recorded), recorded
        self.migrations = recorded

    def copy(self, template: str | None, schema: str) -> None:
        """Make the empty `schema` what `rcmflow init` makes it, then (from a template
        schema) give it the template's rows and the positions of its sequences."""
        from rcmflow.store.models import Base

        assert self.migrations is not None, "no schema was initialised yet"
        with self.admin.connect() as conn:
            raw = conn.connection.dbapi_connection
            with raw.transaction():
                with raw.cursor() as cursor:
                    cursor.execute(f'SET LOCAL search_path TO "{schema}"')
                    for statement, parameters, many in self.migrations:
                        if many:
                            cursor.executemany(statement, parameters)
                        else:
                            cursor.execute(statement, parameters or None)
                    if template is None:
                        return
                    # the template's rows stand for those the migrations wrote (a namespace)
                    for table in reversed(Base.metadata.sorted_tables):
                        cursor.execute(f'DELETE FROM "{schema}"."{table.name}"')
                    for table in Base.metadata.sorted_tables:
                        cursor.execute(f'INSERT INTO "{schema}"."{table.name}" SELECT * FROM "{template}"."{table.name}"')
                    cursor.execute("SELECT sequencename, last_value FROM pg_sequences "
                                   "WHERE schemaname = %s AND last_value IS NOT NULL", (template,))
                    for sequence, last_value in cursor.fetchall():
                        cursor.execute("SELECT setval(%s, %s)", (f'"{schema}"."{sequence}"', last_value))

    def dispose(self) -> None:
        self.admin.dispose()


@dataclass
class Template:
    """A database built once: a SQLite file, or a PostgreSQL schema."""

    backend: str
    path: Path | None = None
    schema: str | None = None


@dataclass
class Played:
    """A story played once on a template database, in a home of its own: the demo, or
    whatever a test module builds with `Templates.played`."""

    database: Template
    home: Path
    #: what the story told, line by line
    told: list[str]
    #: the story clock's last moment (None: it ran on the real clock)
    end: dt.datetime | None
    #: the folders it wrote in its home (out/, outbox/)
    folders: list[str] = field(default_factory=list)

    def clock(self):
        """A demo clock that goes on from where the story ended."""
        from rcmflow.default_plugins.scenario.demo import DemoClock

        return DemoClock(self.end)

    def copy_into(self, home: Path, database: "Database") -> None:
        """Give a test a copy of its own: the database, and the files written in the home."""
        database.load(self.database)
        for folder in self.folders:
            shutil.copytree(self.home / folder, home / folder)


def play_demo(build: Callable[..., Engine]) -> tuple[list[str], dt.datetime]:
    """`rcmflow demo`'s story: the meeting report, played on its own clock."""
    from rcmflow.default_plugins.scenario.demo import run_demo

    told: list[str] = []
    clocks = []

    def factory(clock):
        clocks.append(clock)
        return build(clock=clock)

    run_demo(factory, told.append).close()
    return told, clocks[0].now


class Templates:
    """The session's templates, built when a test first asks for them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.postgres = Postgres(POSTGRES_URL) if POSTGRES_URL else None
        self._initialised: dict[str, Template] = {}
        self._played: dict[tuple[str, str], Played] = {}
        self._schemas: list[str] = []

    def _new(self, backend: str, name: str) -> tuple[Template, str]:
        if backend == "sqlite":
            path = self.folder / f"{name}-{backend}.db"
            return Template(backend, path=path), f"sqlite:///{path}"
        url, schema = self.postgres.create_schema()
        self._schemas.append(schema)
        return Template(backend, schema=schema), url

    def initialised(self, backend: str) -> Template:
        """A database that `rcmflow init` made ready, with nothing in it."""
        if backend not in self._initialised:
            template, url = self._new(backend, "initialised")
            engine = Engine(copy_project(FIXTURES, self.folder / f"init-home-{backend}"), url, "ts-officer",
                            entry_points=False)
            try:
                if backend == "postgresql":
                    self.postgres.initialise(engine)
                else:
                    engine.init()
            finally:
                engine.close()
            self._initialised[backend] = template
        return self._initialised[backend]

    def played(self, name: str, backend: str, project: Path,
               play: Callable[[Callable[..., Engine]], tuple[list[str], dt.datetime | None] | None]) -> Played:
        """`play` run once per session and backend, on a home laid from `project` and a
        database of its own. It gets a function that builds engines on them (keyword
        arguments go to Engine) and returns what it told and its clock's end, or None."""
        key = (name, backend)
        if key not in self._played:
            self.initialised(backend)  # on PostgreSQL: the migrations to replay in the copies
            template, url = self._new(backend, name)
            home = copy_project(project, self.folder / f"{name}-home-{backend}")
            engines: list[Engine] = []

            def build(**kwargs) -> Engine:
                engines.append(Engine(home, url, "ts-officer", entry_points=False, **kwargs))
                return engines[-1]

            try:
                told, end = play(build) or ([], None)
            finally:
                for engine in engines:
                    engine.close()
            folders = sorted(p.name for p in home.iterdir() if p.is_dir() and p.name not in ("workflows", "plugins"))
            self._played[key] = Played(template, home, told, end, folders)
        return self._played[key]

    def demo(self, backend: str) -> Played:
        """The meeting report's story, played once on the roadmap: on SQLite by the
        `rcmflow demo` command itself, which keeps its folder (home and database); on
        PostgreSQL by the same scenario on the template schema."""
        if backend == "postgresql":
            return self.played("demo", backend, REPO, play_demo)
        key = ("demo", backend)
        if key not in self._played:
            import gc
            import sqlite3

            import sqlalchemy as sa

            source = copy_project(REPO, self.folder / "demo-source")
            target = self.folder / "demo-home-sqlite"
            result = CliRunner().invoke(cli, ["--home", str(source), "demo", "--into", str(target)])
            assert result.exit_code == 0, result.output
            gc.collect()  # the command's engine: its connections closed, before the file is copied
            path = target / "rcmflow.db"
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db = sa.create_engine(f"sqlite:///{path}")
            with db.connect() as conn:
                end = conn.execute(sa.text("SELECT max(at) FROM events")).scalar()
            db.dispose()
            end = dt.datetime.fromisoformat(str(end)).replace(tzinfo=dt.timezone.utc)
            folders = sorted(p.name for p in target.iterdir() if p.is_dir() and p.name not in ("workflows", "plugins"))
            self._played[key] = Played(Template(backend, path=path), target, result.stdout.splitlines(), end, folders)
        return self._played[key]

    def cleanup(self) -> None:
        if self.postgres:
            for schema in self._schemas:
                self.postgres.drop_schema(schema)
            self.postgres.dispose()


@pytest.fixture(scope="session")
def templates(tmp_path_factory) -> Templates:
    built = Templates(tmp_path_factory.mktemp("templates"))
    yield built
    built.cleanup()


@dataclass
class Database:
    """The test's database: where it is, and how to fill it from a template."""

    backend: str  # sqlite, postgresql, or none (a test marked no_database)
    url: str
    path: Path | None = None
    schema: str | None = None
    postgres: Postgres | None = None

    def load(self, template: Template) -> None:
        """Make this (still untouched) database a copy of `template`."""
        assert template.backend == self.backend, (template.backend, self.backend)
        if self.backend == "sqlite":
            assert not self.path.exists(), f"{self.path} was opened before the template was copied in"
            for suffix in ("", "-wal"):
                source = template.path.with_name(template.path.name + suffix)
                if source.exists():
                    shutil.copyfile(source, self.path.with_name(self.path.name + suffix))
        else:
            self.postgres.copy(template.schema, self.schema)


@pytest.fixture
def database(request, home: Path, tmp_path: Path, templates: Templates):
    """The database of the test: a SQLite file in the home, or a fresh PostgreSQL schema."""
    backend = getattr(request, "param", "none")
    if backend == "none":
        yield Database("none", f"sqlite:///{tmp_path / 'no-database-here' / 'rcmflow.db'}")
        return
    if backend == "sqlite":
        path = home / "rcmflow.db"
        yield Database("sqlite", f"sqlite:///{path}", path=path)
        return
    if not POSTGRES_URL:
        pytest.skip("set RCMFLOW_TEST_POSTGRES_URL to run on PostgreSQL")
    postgres = templates.postgres
    url, schema = postgres.create_schema()
    try:
        yield Database("postgresql", url, schema=schema, postgres=postgres)
    finally:
        postgres.drop_schema(schema)


@pytest.fixture
def db_url(database: Database) -> str:
    """The database URL of the test (empty: nothing has created any table yet)."""
    return database.url


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
def initialised(database: Database, templates: Templates) -> Database:
    """The test's database as `rcmflow init` leaves it: a copy of the session's
    initialised template (the migrations are run once per session, not per test)."""
    database.load(templates.initialised(database.backend))
    return database


@pytest.fixture
def engine(initialised, make_engine) -> Engine:
    """An engine on an initialised database, acting as the secretariat's ts-officer."""
    return make_engine()


@pytest.fixture
def demo_data(home: Path, database: Database, templates: Templates) -> Played:
    """The demo played to its end, copied: its database into the test's, and the files
    it wrote (out/, outbox/) into the test's home. The demo is played once per session
    and backend; each test changes only its own copy."""
    played = templates.demo(database.backend)
    played.copy_into(home, database)
    return played


@pytest.fixture
def demo(demo_data: Played, make_engine) -> Engine:
    """An engine on a copy of the played demo, on a demo clock that goes on from its end."""
    return make_engine(clock=demo_data.clock())


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


@pytest.fixture
def opened(rcmflow):
    """theme-1 started and opened through the command line: every member is asked."""
    assert rcmflow("init").exit_code == 0
    assert rcmflow("start", "thematic-consultation", "--set", "theme=1", "--set", "deadline=2030-04-20").exit_code == 0
    assert rcmflow("fire", "theme-1", "open").exit_code == 0
    return "theme-1"


def one_line(result) -> str:
    """The one line a refused command printed on stderr (and no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]
