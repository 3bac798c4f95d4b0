"""The bundled knowledge base says things a citizen can act on (issue #11).

Provenance and doubts live in the staff-only `notes`; the citizen-facing fields are short, plain and
phone-sized; online filing is data (`online_level`); facts the 2026-11-30 audit found wrong, invented or
missing stay fixed.
"""

import json
import unicodedata

import pytest

from knowledge.records import ONLINE_LEVELS
from tests.conftest import NATIONAL_RECORDS

CITIZEN_FIELDS = (
    "name",
    "short_name",
    "agency",
    "where_to_file",
    "documents",
    "special_cases",
    "steps",
    "processing_time",
    "fees",
    "online",
    "result",
    "legal_basis",
)
# Words of internal provenance notes: they belong in `notes`, never in what a citizen reads.
PROVENANCE = (
    "bản ghi",
    "chưa kiểm chứng",
    "suy ra",
    "theo hiểu biết chung",
    "ghi chú tham khảo",
    "chưa đối chiếu",
    "chưa xác minh",
    "chưa được xác minh",
    "nguồn tham khảo",
    "crawl",
)
# Bodies and papers that no longer exist after the 2025 reform.
OBSOLETE = ("cấp huyện", "phòng tư pháp", "công an huyện", "sổ hộ khẩu")
# Portals that no national record names (audit 2026-11-30, INVENTED items 2-6).
UNSOURCED_PORTALS = ("hokinhdoanh.dkkd.gov.vn", "dvc.moc.gov.vn")
# Procedures filed with the commune police: their agency must send people to that desk.
POLICE = {
    "1.002755", "1.003197", "1.003677", "1.004194", "1.004222", "1.010038", "1.010041", "2.001159",
    "1.012566", "1.014061", "1.014062", "1.014063", "1.014064", "3.000228",
}  # fmt: skip
NO_NATIONAL_RECORD = {"1.001776"}


def citizen_texts(info):
    for key in CITIZEN_FIELDS:
        value = getattr(info, key)
        for text in value if isinstance(value, tuple) else (value,):
            yield key, text


def by_code(bundled):
    return {info.code: info for info in bundled}


def test_no_provenance_or_obsolete_bodies_reach_citizens(bundled):
    found = [
        f"{info.code} {key}: {word!r}"
        for info in bundled
        for key, text in citizen_texts(info)
        for word in (*PROVENANCE, *OBSOLETE, *UNSOURCED_PORTALS)
        if word in text.lower()
    ]
    assert found == []


def test_first_answer_fits_a_phone(bundled):
    for info in bundled:
        assert 1 <= len(info.documents) <= 5, info.code
        assert all(len(item) <= 160 for item in info.documents), info.code
        assert 3 <= len(info.steps) <= 6, info.code


def test_special_cases_name_the_situation_first(bundled):
    for info in bundled:
        for item in info.special_cases:
            situation, colon, rest = item.partition(": ")
            assert colon and rest and len(situation) <= 100, (info.code, item)


def test_online_filing_is_data(bundled):
    for info in bundled:
        assert info.online_level in ONLINE_LEVELS, info.code
        assert info.online, info.code
        if info.online_level == "none":
            assert not info.online.startswith("Có"), info.code
            assert "hoặc nộp trực tuyến" not in info.online.lower(), info.code


def test_agency_sends_people_to_the_right_desk(bundled):
    for info in bundled:
        if info.code in POLICE:
            assert "Công an cấp xã" in info.agency, info.code
        else:
            assert "công an" not in info.agency.lower(), info.code


def test_every_entry_was_rechecked_and_says_what_it_rests_on(bundled):
    for info in bundled:
        assert info.verified_on >= "2026-11-30", info.code
        assert info.notes, info.code


def test_issue_11_facts(bundled):
    kb = by_code(bundled)
    birth = kb["1.001193"]
    assert any("chưa xác định được cha" in item and "1.000689" in item for item in birth.special_cases)
    assert "ngay" not in kb["2.000815"].processing_time.lower()
    assert not any("ngay" in step.lower() for step in kb["2.000815"].steps)
    assert "KHÔNG CÓ BẢN GHI QUỐC GIA" in kb["1.001776"].notes
    assert kb["2.000884"].online_level == "none"
    # Audit 2026-11-30: the civil-servant exception belongs to 1.004884, not to 1.004772.
    civil_servant = [item for item in kb["1.004772"].special_cases if "thủ trưởng" in item]
    assert civil_servant and not any("không cần" in item for item in civil_servant)
    assert any("không cần" in item for item in kb["1.004884"].special_cases if "thủ trưởng" in item)
    # Audit 2026-11-30: a child born abroad needs proof of lawful entry and of residence.
    assert any("nhập cảnh" in item for item in kb["2.000528"].special_cases)


@pytest.mark.parametrize(
    "code",
    ["1.000656", "1.000689", "1.004772", "1.004837", "1.004845", "1.004859", "1.004884", "1.005461", "2.000528"],
)
def test_online_filers_are_told_what_to_bring_at_pickup(bundled, code):
    info = by_code(bundled)[code]
    assert any(item.startswith("Nộp trực tuyến:") and "nhận kết quả" in item for item in info.special_cases)


@pytest.mark.needs_shared(NATIONAL_RECORDS)
def test_entries_point_at_their_national_record(bundled):
    records = {}
    with NATIONAL_RECORDS.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            records[record["ma_thu_tuc"]] = record
    for info in bundled:
        if info.code in NO_NATIONAL_RECORD:
            assert info.code not in records
            continue
        record = records[info.code]
        assert info.source_url == record["detail_url"], info.code
        assert info.level == unicodedata.normalize("NFC", record["cap_thuc_hien"]), info.code
