"""The `tthc` command line contract: outputs and exit codes."""

import csv
import io
import json

import pytest

from bot.cli import main
from knowledge.db import load_offices, make_engine
from tests.conftest import DEV_QUERIES


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_search_json_on_a_fresh_database(database_url, capsys):
    code, out, err = run(capsys, "search", "lam giay khai sinh can gi", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["decision"] == "answer"
    assert payload["facets"] == ["documents"]
    assert payload["results"][0]["code"] == "1.001193"


def _stdin(data: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def test_search_jsonl_answers_one_line_per_question(database_url, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", _stdin("dang ky ket hon o dau\nxin chào\n".encode()))
    code, out, _ = run(capsys, "search", "--jsonl", "--limit", "2")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [line["decision"] for line in lines] == ["answer", "none"]
    assert lines[0]["results"][0]["code"] == "1.000894"
    assert all(len(line["results"]) <= 2 for line in lines)


def test_search_jsonl_never_stops_on_a_bad_line(database_url, capsys, monkeypatch):
    bad = [b"\xff\xfe broken utf-8", b"ky ky", b"dnag ky ket hno " * 4, "\u0000 \ud7ff 🙏🙏🙏".encode(), b"x" * 20_000]
    monkeypatch.setattr("sys.stdin", _stdin(b"\n".join([*bad, b"lam giay khai sinh"]) + b"\n"))
    code, out, _ = run(capsys, "search", "--jsonl")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == len(bad) + 1
    assert all(line["decision"] in ("answer", "clarify", "none") for line in lines)
    assert lines[-1]["decision"] == "answer" and lines[-1]["results"][0]["code"] == "1.001193"


def test_show_a_facet(database_url, capsys):
    code, out, _ = run(capsys, "show", "1.004873", "--facet", "time")
    assert code == 0
    assert "Thời gian giải quyết" in out and "1.004873" in out


def test_show_unknown_code_is_refused_with_one_line(database_url, capsys):
    code, out, err = run(capsys, "show", "9.999999")
    assert code == 1
    assert err.count("\n") == 1 and "9.999999" in err


def test_wrong_usage_exits_2(database_url, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["show", "1.001193", "--facet", "weather"])
    assert raised.value.code == 2
    with pytest.raises(SystemExit) as raised:
        main([])
    assert raised.value.code == 2


@pytest.mark.parametrize(
    "argv", [["stats", "--days", "0"], ["stats", "--days", "99999999999"], ["search", "--limit", "-3", "x"]]
)
def test_counts_out_of_range_are_refused_with_one_line(database_url, capsys, argv):
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2 and "must be a whole number from 1 to 100000" in capsys.readouterr().err


def test_import_of_a_missing_file_is_refused(database_url, capsys):
    code, _, err = run(capsys, "import", "nowhere.csv")
    assert code == 1
    assert "nowhere.csv" in err


def test_export_import_round_trip_through_the_cli(database_url, capsys, tmp_path):
    target = tmp_path / "kb.xlsx"
    assert run(capsys, "export", str(target))[0] == 0
    code, out, _ = run(capsys, "import", str(target), "--dry-run")
    assert code == 0
    assert "would be added 0, would be updated 0, unchanged 51" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "-", "--format", "xlsx"], "xlsx cannot be written to standard output"),
        (["export", "kb.doc"], "kb.doc: unknown export format 'doc'"),
        (["office", "export", "offices.doc"], "offices.doc: unknown export format 'doc'"),
    ],
)
def test_exports_that_cannot_be_written_are_refused_with_one_line(database_url, capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err and err.count("\n") == 1


def test_export_json_to_stdout_has_all_keys_filled(database_url, capsys):
    code, out, _ = run(capsys, "export", "-", "--format", "json")
    procedures = json.loads(out)
    assert code == 0 and len(procedures) == 51
    from knowledge.records import REQUIRED_FOR_COMPLETE

    empty = {item["code"]: [key for key in REQUIRED_FOR_COMPLETE if not item[key]] for item in procedures}
    assert {code: keys for code, keys in empty.items() if keys} == {}


def test_chat_answers_questions_and_buttons(database_url, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("làm giấy khai sinh cần gì\n4\nxin chào\n"))
    code, out, _ = run(capsys, "chat")
    assert code == 0
    assert "Hồ sơ cần chuẩn bị" in out and "Giấy chứng sinh" in out
    assert "Mã thủ tục 1.001193" in out


@pytest.mark.needs_shared(DEV_QUERIES)
def test_eval_reports_accuracy(database_url, capsys):
    code, out, _ = run(capsys, "eval", str(DEV_QUERIES), "--json")
    report = json.loads(out)
    assert code == 0
    assert report["top1_answered"] >= 0.95
    assert report["facet_accuracy"] >= 0.9


def test_eval_of_a_malformed_file_is_refused(database_url, capsys, tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text("only one column\n", encoding="utf-8")
    code, _, err = run(capsys, "eval", str(path))
    assert code == 1 and "line 1" in err


def test_bench_reports_ratios_against_baselines(database_url, capsys):
    code, out, _ = run(capsys, "bench", "--procedures", "200", "--queries", "30", "--json")
    report = json.loads(out)[0]
    assert code == 0
    assert report["procedures"] == 200
    ours = report["timings"][0]
    assert ours["method"] == "tthc index" and len(report["timings"]) == 4  # ours, rapidfuzz, rank-bm25, bm25s
    assert all(timing["queries"] == 30 and 0 < timing["p50_ms"] <= timing["p99_ms"] for timing in report["timings"])
    # The ratios reported are the ratios of the medians measured in the same run, not figures from elsewhere.
    for key, timing in zip(("rapidfuzz", "bm25", "bm25s"), report["timings"][1:], strict=True):
        assert report[f"speedup_p50_vs_{key}"] == pytest.approx(timing["p50_ms"] / ours["p50_ms"], rel=0.05, abs=0.06)
    assert set(report["top1_agreement"]) == {"rapidfuzz", "rank-bm25", "bm25s"}
    assert all(0.0 <= share <= 1.0 for share in report["top1_agreement"].values())


def test_bench_telegram_reports_updates_per_second(database_url, capsys):
    code, out, _ = run(capsys, "bench", "--telegram", "--queries", "40", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["updates"] == 40 and report["messages_sent"] >= 40  # every update was answered
    # The share is the ratio of the two rates measured in this run.
    share = (
        report["dialog_updates_per_second"]
        and report["application_updates_per_second"] / report["dialog_updates_per_second"]
    )
    assert report["application_share_of_dialog"] == pytest.approx(share, rel=0.02)


def test_link_prints_a_deep_link_that_opens_the_procedure(database_url, capsys, monkeypatch):
    from bot.app import build_app
    from bot.conversation import Incoming

    monkeypatch.setenv("TTHC_TELEGRAM_BOT_USERNAME", "@tthc_xa_bot")
    code, out, _ = run(capsys, "link", "1.004873")
    assert code == 0
    link = out.strip()
    assert link.startswith("https://t.me/tthc_xa_bot?start=")
    payload = link.split("start=")[1]
    reply = build_app().respond(Incoming("telegram", "1", command="start", payload=payload))
    assert "Mã thủ tục 1.004873" in reply.messages[0].html


def test_link_needs_the_bot_username_and_a_known_code(database_url, capsys, monkeypatch):
    monkeypatch.delenv("TTHC_TELEGRAM_BOT_USERNAME", raising=False)
    code, _, err = run(capsys, "link", "1.004873")
    assert code == 1 and "TTHC_TELEGRAM_BOT_USERNAME" in err
    monkeypatch.setenv("TTHC_TELEGRAM_BOT_USERNAME", "tthc_xa_bot")
    code, _, err = run(capsys, "link", "9.999999")
    assert code == 1 and "9.999999" in err


def test_staff_can_extend_the_terms_table(database_url, capsys, monkeypatch, tmp_path):
    question = "làm giấy ttkh cho con"
    assert json.loads(run(capsys, "search", question, "--json")[1])["decision"] != "answer"
    terms = tmp_path / "terms.yaml"
    terms.write_text("replace:\n  ttkh: khai sinh\n", encoding="utf-8")
    monkeypatch.setenv("TTHC_TERMS_FILE", str(terms))
    payload = json.loads(run(capsys, "search", question, "--json")[1])
    assert payload["decision"] == "answer" and payload["results"][0]["code"] == "1.001193"


def test_a_broken_terms_file_is_refused_with_one_line(database_url, capsys, monkeypatch, tmp_path):
    terms = tmp_path / "terms.yaml"
    terms.write_text("facets:\n  weather: [trời mưa]\n", encoding="utf-8")
    monkeypatch.setenv("TTHC_TERMS_FILE", str(terms))
    code, _, err = run(capsys, "search", "khai sinh")
    assert code == 1 and "terms.yaml" in err and "weather" in err


def test_stats_names_its_period(database_url, capsys):
    from bot.app import build_app
    from bot.conversation import Incoming

    build_app().handle(Incoming("cli", "tester", text="giá xăng hôm nay"))
    code, out, _ = run(capsys, "stats", "--days", "30")
    assert code == 0 and "Thống kê 30 ngày qua" in out and "hôm nay" not in out.splitlines()[0]
    assert "Câu hỏi: 1" in out and "gia xang hom nay" in out
    assert "Thống kê hôm nay" in run(capsys, "stats", "--days", "1")[1]


def test_offices_are_added_listed_exported_imported_and_removed(database_url, capsys, tmp_path):
    assert run(capsys, "office", "add", "xa-a", "--name", "Trung tâm xã A", "--phone", "0262 111 222")[0] == 0
    code, out, _ = run(capsys, "office", "list")
    assert code == 0 and "xa-a" in out and "0262 111 222" in out
    target = tmp_path / "offices.yaml"
    assert run(capsys, "office", "export", str(target))[0] == 0
    assert run(capsys, "office", "remove", "xa-a")[1].strip() == "office xa-a removed"
    assert "no offices yet" in run(capsys, "office", "list")[1]
    code, out, _ = run(capsys, "office", "import", str(target))
    assert code == 0 and "added 1" in out
    code, _, err = run(capsys, "office", "remove", "xa-khong-co")
    assert code == 1 and "xa-khong-co" in err


def test_offices_exported_to_a_spreadsheet_run_no_formulas_and_come_back_unchanged(database_url, capsys, tmp_path):
    notes = '=HYPERLINK("http://evil.example";"bấm")'
    added = run(
        capsys,
        "office",
        "add",
        "xa-b",
        "--name",
        "Xã B",
        "--phone",
        "+84 262 111 222",
        "--notes",
        notes,
        "--agencies",
        "UBND cấp xã; Công an cấp xã",
    )
    assert added[0] == 0
    target = tmp_path / "offices.csv"
    assert run(capsys, "office", "export", str(target))[0] == 0
    cells = [cell for row in csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    before = run(capsys, "office", "list")[1]
    assert run(capsys, "office", "remove", "xa-b")[0] == 0
    assert run(capsys, "office", "import", str(target))[0] == 0
    assert run(capsys, "office", "list")[1] == before and "+84 262 111 222" in before
    (office,) = load_offices(make_engine(database_url))
    assert office.agencies == ("UBND cấp xã", "Công an cấp xã")  # still both desks, not one "police" agency


def test_lint_exits_1_when_it_finds_problems(database_url, capsys, tmp_path):
    assert run(capsys, "lint", "--curated")[0] == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text("code: '9.000001'\nname: Thủ tục thiếu\naliases: [đăng ký khai sinh]\n", encoding="utf-8")
    code, out, _ = run(capsys, "lint", str(broken))
    assert code == 1 and "9.000001, field 'documents': empty" in out


def test_verbose_shows_the_traceback_of_a_refused_input(database_url, capsys):
    from bot.cli.common import CommandError

    with pytest.raises(CommandError, match="9.999999"):
        main(["--verbose", "show", "9.999999"])
    assert run(capsys, "show", "9.999999")[0] == 1  # without it: one line, exit 1


def test_show_notes_shows_the_staff_notes(database_url, capsys):
    code, out, _ = run(capsys, "show", "1.001193", "--notes")
    assert code == 0 and "Ghi chú cho cán bộ:" in out
    assert "Ghi chú cho cán bộ" not in run(capsys, "show", "1.001193")[1]


def test_db_upgrade_on_a_current_database_says_so(database_url, capsys):
    run(capsys, "office", "list")  # creates the database
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "is current" in out


def test_today_starts_at_midnight_in_vietnam(database_url, capsys):
    from datetime import timedelta

    from sqlmodel import Session

    from bot.admin.dashboard import dashboard_data
    from bot.app import build_app
    from bot.texts import VIETNAM, local_days_start
    from knowledge.models import QueryLog

    app = build_app()
    midnight = local_days_start(1)  # 17:00 UTC the day before
    assert midnight.astimezone(VIETNAM).hour == 0
    with Session(app.engine) as session:
        session.add(QueryLog(created_at=midnight + timedelta(minutes=1), text="hom nay", asked="hôm nay"))
        session.add(QueryLog(created_at=midnight - timedelta(minutes=1), text="hom qua", asked="hôm qua"))
        session.commit()
    out = run(capsys, "stats", "--days", "1")[1]
    assert "Câu hỏi: 1" in out and "hom qua" not in out
    per_day = dashboard_data(app.engine, days=2)["per_day"]
    today = midnight.astimezone(VIETNAM).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    today = today.isoformat()
    assert sum(per_day[today].values()) == 1 and sum(per_day[yesterday].values()) == 1
    app.engine.dispose()
