"""Shared fixtures: the bundled knowledge base, its index, a fresh database per test."""

from pathlib import Path

import pytest

from knowledge.db import BUNDLED_DIR, init_db, make_engine
from knowledge.importer import read_bundled
from knowledge.records import ProcedureInfo
from knowledge.search import SearchIndex, bundled_popularity

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEV_QUERIES = SHARED / "eval" / "queries-dev.tsv"
NATIONAL_RECORDS = SHARED / "data" / "tthc_dvcqg_chatbot-tthc.jsonl"


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
