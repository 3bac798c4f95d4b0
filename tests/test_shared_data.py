"""Tests that read ../shared skip on a developer's machine without it, and fail under CI=true."""

from pathlib import Path

import pytest

from tests.conftest import require_shared


def test_missing_shared_data_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_shared(tmp_path / "absent.tsv")


def test_missing_shared_data_skips_elsewhere(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_shared(tmp_path / "absent.tsv")


def test_present_shared_data_runs(tmp_path):
    present = Path(tmp_path / "here.tsv")
    present.write_text("x", encoding="utf-8")
    require_shared(present)  # neither skips nor fails
