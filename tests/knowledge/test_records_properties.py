"""Properties of record validation: whatever a parser hands over, a record or one RecordError / SkippedRecord."""

from datetime import date, datetime, time

from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge import dvcqg
from knowledge.records import (
    DATA_KEYS,
    MAX_TEXT,
    OFFICE_KEYS,
    ORIGIN_CURATED,
    ORIGIN_NATIONAL,
    OfficeInfo,
    ProcedureInfo,
    RecordError,
    parse_office,
    parse_record,
)

PROPERTY = settings(max_examples=150, deadline=None)

# Text as parsers hand it over, awkward characters included: controls, NUL, lone surrogates (bytes that were not
# UTF-8), line and paragraph separators, and values that look like codes, dates and levels.
_TEXT = st.one_of(
    st.text(st.characters(codec=None, categories=None), max_size=40),
    st.text(st.sampled_from("aĐ \t\n\r\x00\x1b\x85\u2028\ud800\udcff'=+-@0.9"), max_size=20),
    st.sampled_from(["1.001193", "9.000001", "2026-01-01", "2026-13-45", "full", "partial", "none", "xa-a"]),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**120, max_value=2**400),
    st.floats(),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.binary(max_size=8),
    _TEXT,
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.frozensets(st.integers(), max_size=3),
        st.dictionaries(_TEXT, inner, max_size=3),
    ),
    max_leaves=12,
)
_LONG = st.sampled_from(["a" * (MAX_TEXT + 1), "a " * (9 * MAX_TEXT), "x\n" * 200, "\n" * 400_000])


def _record(keys: tuple[str, ...]) -> st.SearchStrategy[dict]:
    known = st.dictionaries(st.sampled_from(keys), st.one_of(_VALUES, _LONG), max_size=len(keys))
    unknown = st.dictionaries(st.one_of(_TEXT, st.integers(), st.integers(min_value=2**200)), _VALUES, max_size=2)
    return st.one_of(known, st.builds(lambda a, b: {**a, **b}, known, unknown))


@PROPERTY
@given(raw=st.one_of(_record(DATA_KEYS), _VALUES), origin=st.sampled_from([ORIGIN_CURATED, ORIGIN_NATIONAL]))
def test_parse_record_gives_a_procedure_or_a_record_error(raw, origin):
    try:
        info = parse_record(raw, "kb.json, item 1", origin=origin)
    except RecordError as error:
        message = str(error)
        assert message.startswith("kb.json, item 1") and "\n" not in message and len(message) < 1000
        return
    assert isinstance(info, ProcedureInfo) and info.code and info.name
    for key in DATA_KEYS:
        values = getattr(info, key)
        for text in values if isinstance(values, tuple) else (values,):
            assert len(text) <= MAX_TEXT
            assert text == " ".join(text.split())
            assert not any(ord(char) < 32 or 0xD800 <= ord(char) <= 0xDFFF for char in text)
            text.encode("utf-8")  # never raises: what is stored is UTF-8


@PROPERTY
@given(raw=st.one_of(_record(OFFICE_KEYS), _VALUES))
def test_parse_office_gives_an_office_or_a_record_error(raw):
    try:
        office = parse_office(raw, "offices.csv, row 2")
    except RecordError as error:
        assert str(error).startswith("offices.csv, row 2") and "\n" not in str(error)
        return
    assert isinstance(office, OfficeInfo) and office.slug and office.name


_CRAWL_KEYS = (
    "ma_thu_tuc",
    "ten_thu_tuc",
    "so_quyet_dinh",
    "cap_thuc_hien",
    "linh_vuc",
    "co_quan_thuc_hien",
    "co_quan_co_tham_quyen",
    "dia_chi_tiep_nhan",
    "trinh_tu_thuc_hien",
    "cach_thuc_thuc_hien",
    "thanh_phan_ho_so",
    "can_cu_phap_ly",
    "ket_qua_xu_ly",
    "detail_url",
    "raw_text",
)
_PORTAL_TEXT = st.lists(
    st.sampled_from(
        list("0123456789 ().,;:-/\n")
        + ["Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính", "Ngày làm việc", "Miễn phí", "Việt Nam Đồng", "Mã: KQ1"]
        + ["Không có thông tin", "Bước 1:", "1 bản chính", "Tên giấy tờMẫu đơn, tờ khaiSố lượng", "QĐ-UBND", "HĐND"]
        + ["Mẫu số 01.docx", "/2015/NĐ-CP", "Mã thủ tục", "Số quyết định", "Hình thức nộpThời gianPhí, lệ phíMô tả"]
    ),
    max_size=30,
).map("".join)


@PROPERTY
@given(
    raw=st.one_of(
        st.fixed_dictionaries(
            {"ma_thu_tuc": st.sampled_from(["1.001193", "2.000001", "1.00119", ""]), "ten_thu_tuc": _TEXT},
            optional={key: st.one_of(_PORTAL_TEXT, _VALUES) for key in _CRAWL_KEYS[2:]},
        ),
        _VALUES,
    )
)
def test_national_records_parse_or_are_skipped_and_always_import(raw):
    try:
        parsed = dvcqg.parse_record(raw)
    except dvcqg.SkippedRecord:
        return
    assert tuple(parsed) == DATA_KEYS
    try:
        parse_record(parsed, "crawl.jsonl, line 1", origin=ORIGIN_NATIONAL)
    except RecordError as error:
        assert str(error).startswith("crawl.jsonl, line 1")


def test_typical_awkward_values():
    where = "kb.yaml"
    assert (
        parse_record({"code": "9.1", "name": "A", "verified_on": date(2026, 1, 2)}, where).verified_on == "2026-01-02"
    )
    assert parse_record({"code": "9.1", "name": datetime(2026, 1, 2, 3, 4)}, where).name == "2026-01-02"
    for value, message in (
        (time(1, 2), "expected text, got time"),
        (float("nan"), "not a number"),
        (10**5000, "a number too large"),
        ("A\x00", "control character U+0000"),
        ("A\udcff", "not UTF-8 text"),
        ("a " * (9 * MAX_TEXT), f"longer than {MAX_TEXT} characters"),
    ):
        try:
            parse_record({"code": "9.1", "name": value}, where)
        except RecordError as error:
            assert message in str(error)
        else:
            raise AssertionError(value)
    national = parse_record({"code": "9.1", "name": "A\x00B\ud800C " * 5000}, where, origin=ORIGIN_NATIONAL)
    assert national.name.startswith("A B C") and len(national.name) <= MAX_TEXT
