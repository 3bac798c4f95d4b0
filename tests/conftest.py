"""Shared fixtures: the bundled knowledge base, its index, a fresh database per test.

Tests that need ../shared (the development questions, the national records) mark themselves with
`needs_shared`: on a developer's machine without it they skip, visibly; under CI=true they fail, so a CI
that lost ../shared cannot go green.

Tests that exercise the database itself (migrations, shared state, several processes) mark themselves with
`databases`: their `database_url` / `engine` run once on SQLite and once on PostgreSQL, when
TTHC_TEST_POSTGRES_URL names a server (`.ci/run` sets it when one answers on 127.0.0.1:5432); without it the
PostgreSQL run is skipped, visibly. Every other test runs on SQLite only, so the suite is not run twice.
On PostgreSQL each test gets a schema of its own in one throwaway database per test session (the URL selects
it through search_path, so subprocesses started with that URL see the same schema); the database is dropped
at the end of the session, with the leftovers of sessions that died.
"""

import itertools
import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from knowledge.db import BUNDLED_DIR, init_db, make_engine
from knowledge.importer import read_bundled
from knowledge.records import ProcedureInfo
from knowledge.search import SearchIndex, bundled_popularity

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEV_QUERIES = SHARED / "eval" / "queries-dev.tsv"
DEV_LONG_QUERIES = SHARED / "eval" / "queries-dev-long.tsv"
NATIONAL_RECORDS = SHARED / "data" / "tthc_dvcqg_chatbot-tthc.jsonl"
POSTGRES_URL = os.environ.get("TTHC_TEST_POSTGRES_URL", "").strip()
BACKENDS = ("sqlite", "postgresql")
THROWAWAY_PREFIX = "tthc_test_"


def in_ci() -> bool:
    """Whether the tests run in CI (CI=true), where missing shared data is a failure."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_shared(*paths: Path) -> None:
    """Skip (developer machine) or fail (CI) when a file of ../shared is missing."""
    missing = [str(path) for path in paths if not path.exists()]
    if not missing:
        return
    message = f"shared data not found: {', '.join(missing)}"
    if in_ci():
        pytest.fail(message + " (CI=true: ../shared must be beside the repository)", pytrace=False)
    pytest.skip(message)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "needs_shared(*paths): the test reads these files of ../shared")
    config.addinivalue_line(
        "markers", "databases: database_url/engine run on SQLite and on PostgreSQL (TTHC_TEST_POSTGRES_URL)"
    )


def pytest_generate_tests(metafunc) -> None:
    if "db_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("databases"):
        metafunc.parametrize("db_backend", BACKENDS, indirect=True)


def pytest_runtest_setup(item) -> None:
    for marker in item.iter_markers("needs_shared"):
        require_shared(*marker.args)


@pytest.fixture(scope="session")
def bundled() -> list[ProcedureInfo]:
    return read_bundled(BUNDLED_DIR)


@pytest.fixture(scope="session")
def index(bundled) -> SearchIndex:
    return SearchIndex(bundled, popularity=bundled_popularity())


@pytest.fixture
def db_backend(request) -> str:
    """The database under test: "sqlite", or "postgresql" for tests marked `databases` (parametrized)."""
    return getattr(request, "param", "sqlite")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def postgres_database():
    """A throwaway database on the TTHC_TEST_POSTGRES_URL server for this test session: (URL, counter)."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: TTHC_TEST_POSTGRES_URL is not set")
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"{THROWAWAY_PREFIX}{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with server.connect() as connection:
            existing = connection.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"), {"prefix": THROWAWAY_PREFIX + "%"}
            ).scalars()
            for stale in existing:  # left by a session that was killed: its pid is gone
                pid = stale[len(THROWAWAY_PREFIX) :].split("_")[0]
                if pid.isdigit() and not _process_alive(int(pid)):
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # the variable is set but nothing answers: say so once per test
        server.dispose()
        pytest.fail(f"PostgreSQL at TTHC_TEST_POSTGRES_URL is unusable: {error}", pytrace=False)
    try:
        yield make_url(POSTGRES_URL).set(database=name), itertools.count(1)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def database_url(request, db_backend, tmp_path, monkeypatch) -> str:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own; the CLI, the app and
    subprocesses pick it up from the environment."""
    monkeypatch.chdir(tmp_path)  # no stray .env or tthc.db from the working tree
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'tthc.db'}"
        monkeypatch.setenv("TTHC_DATABASE_URL", url)
        yield url
        return
    database, counter = request.getfixturevalue("postgres_database")
    schema = f"t{next(counter)}"
    admin = create_engine(database, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    # search_path puts every table of this test in its schema; application_name finds its connections.
    url = database.update_query_dict({"options": f"-csearch_path={schema}", "application_name": schema})
    rendered = url.render_as_string(hide_password=False)
    monkeypatch.setenv("TTHC_DATABASE_URL", rendered)
    try:
        yield rendered
    finally:
        with admin.connect() as connection:
            # Engines a test left open (an App it built) would hold locks on the schema: end them first.
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": schema},
            )
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    init_db(engine)
    yield engine
    engine.dispose()
