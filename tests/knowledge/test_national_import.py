"""Importing the 2,642 national portal records next to the curated knowledge base."""

import pytest

from bot.app import build_app
from bot.cli import main
from knowledge.db import load_procedures
from tests.conftest import DEV_QUERIES, NATIONAL_RECORDS

pytestmark = pytest.mark.needs_shared(NATIONAL_RECORDS)


@pytest.fixture
def imported(database_url, capsys):
    assert main(["import", str(NATIONAL_RECORDS)]) == 0
    return capsys.readouterr()


def test_import_loads_the_national_records_and_keeps_curated_entries(imported, engine, bundled):
    procedures = load_procedures(engine)
    assert len(procedures) >= 2600
    by_code = {info.code: info for info in procedures}
    for info in bundled:
        assert by_code[info.code] == info and by_code[info.code].origin == "curated"
    assert "curated kept 50" in imported.out
    assert "skipped 17" in imported.out  # only the mis-scraped pages; long records are trimmed, not dropped
    assert "skipped" in imported.out


def test_reimport_is_idempotent(imported, capsys):
    assert main(["import", str(NATIONAL_RECORDS)]) == 0
    assert "added 0, updated 0" in capsys.readouterr().out


def test_replace_lets_national_records_overwrite_curated(imported, engine, capsys):
    assert main(["import", str(NATIONAL_RECORDS), "--replace", "--dry-run"]) == 0
    assert "would be updated 50" in capsys.readouterr().out
    assert {info.origin for info in load_procedures(engine) if info.code == "1.001193"} == {"curated"}


@pytest.mark.needs_shared(DEV_QUERIES)
def test_citizens_still_reach_the_commune_procedure(imported):
    from knowledge.evaluation import evaluate, load_cases

    app = build_app()
    report = evaluate(app.index, load_cases(DEV_QUERIES))
    assert report["top1"] >= 0.90
    assert report["top1_answered"] >= 0.85
    result = app.index.search("giấy phép xây dựng")
    assert result.hits[0].code == "1.013225"


def test_export_and_reimport_keeps_national_records_national(imported, engine, tmp_path, capsys):
    target = tmp_path / "all.json"
    assert main(["export", str(target)]) == 0
    assert main(["import", str(target), "--dry-run"]) == 0
    assert "would be added 0, would be updated 0" in capsys.readouterr().out
