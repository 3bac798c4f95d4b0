"""Shared fixtures: the bundled knowledge base, its index, a fresh database per test.

Tests that need ../shared (the development questions, the national records) mark themselves with
`needs_shared`: on a developer's machine without it they skip, visibly; under CI=true they fail, so a CI
that lost ../shared cannot go green.
"""

import os
from pathlib import Path

import pytest

from knowledge.db import BUNDLED_DIR, init_db, make_engine
from knowledge.importer import read_bundled
from knowledge.records import ProcedureInfo
from knowledge.search import SearchIndex, bundled_popularity

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEV_QUERIES = SHARED / "eval" / "queries-dev.tsv"
DEV_LONG_QUERIES = SHARED / "eval" / "queries-dev-long.tsv"
NATIONAL_RECORDS = SHARED / "data" / "tthc_dvcqg_chatbot-tthc.jsonl"


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
def database_url(tmp_path, monkeypatch) -> str:
    """A fresh SQLite file; the CLI and the app pick it up from the environment."""
    url = f"sqlite:///{tmp_path / 'tthc.db'}"
    monkeypatch.setenv("TTHC_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # no stray .env or tthc.db from the working tree
    return url


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    init_db(engine)
    yield engine
    engine.dispose()
