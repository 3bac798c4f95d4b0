"""Tests of the national portal (dichvucong.gov.vn) crawl parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.dvcqg import (
    CRAWL_DATE,
    KEYS,
    SkippedRecord,
    iter_records,
    looks_like_dvcqg,
    parse_record,
)
from tests.conftest import NATIONAL_RECORDS, require_shared

DATA = NATIONAL_RECORDS
HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
NO_UNIT = "(chưa rõ đơn vị, thường là ngày làm việc)"
HDND_NOTE = "Lệ phí có thể do tỉnh quy định; hỏi nơi tiếp nhận khi nộp"
ASK = "xem trên Cổng Dịch vụ công quốc gia (dichvucong.gov.vn) hoặc hỏi nơi tiếp nhận hồ sơ."
# Provenance words for staff: citizens never read them in a national record's answer.
PROVENANCE = ("bản ghi", "chưa kiểm chứng", "suy ra")
CITIZEN_KEYS = tuple(key for key in KEYS if key not in ("notes", "source_url", "aliases"))


def raw_record(**overrides: str) -> dict:
    """A minimal crawl record shaped like the portal's, with fields overridden by keyword."""
    record = {
        "ma_thu_tuc": "1.001193",
        "detail_url": "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/019d2bfd-3fe0-70ac-b9d6-5e9e20d6eef7",
        "formality_id": "",
        "ten_thu_tuc": "Thủ tục đăng ký khai sinh",
        "so_quyet_dinh": "163/QĐ-BTP",
        "cap_thuc_hien": "Cấp xã",
        "linh_vuc": "Hộ tịch",
        "co_quan_co_tham_quyen": "",
        "dia_chi_tiep_nhan": "",
        "trinh_tu_thuc_hien": "Bước 1: Nộp hồ sơ.\nBước 2: Nhận kết quả.",
        "cach_thuc_thuc_hien": f"{HEADER}Trực tiếp5 Ngày làm việc50,000 Việt Nam Đồng",
        "thanh_phan_ho_so": "--Tên giấy tờMẫu đơn, tờ khaiSố lượngTờ khai đăng ký khai sinh1 bản chính",
        "can_cu_phap_ly": "Tên văn bản pháp lýMã văn bảnLuật Hộ tịch60/2014/QH13",
        "co_quan_thuc_hien": "Ủy ban nhân dân cấp xã",
        "ket_qua_xu_ly": "Giấy khai sinhMã: KQ.G15.000031Từ khóaKhông có thông tinChọn cơ quan thực hiện",
        "raw_text": "Thủ tục đăng ký khai sinhTên thủ tụcThủ tục đăng ký khai sinhMã thủ tục1.001193"
        "Số quyết định163/QĐ-BTPCấp thực hiệnCấp xã",
    }
    record.update(overrides)
    return record


def channels(rows: str) -> str:
    """A flattened "Cách thức thực hiện" table with the given rows."""
    return HEADER + rows


# --- shape -----------------------------------------------------------------------------------------


def test_parsed_record_has_exactly_the_design_keys() -> None:
    parsed = parse_record(raw_record())
    assert tuple(parsed) == KEYS
    assert parsed["code"] == "1.001193"
    assert parsed["aliases"] == []
    assert parsed["verified_on"] == CRAWL_DATE == "2026-07-17"
    assert parsed["source_url"].startswith("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/")
    assert parsed["field"] == "Hộ tịch"
    assert parsed["level"] == "Cấp xã"
    assert parsed["agency"] == "Ủy ban nhân dân cấp xã"


def test_name_drops_the_leading_thu_tuc_and_short_name_repeats_it() -> None:
    parsed = parse_record(raw_record(ten_thu_tuc="Thủ tục  đăng ký khai sinh cho trẻ em "))
    assert parsed["name"] == "Đăng ký khai sinh cho trẻ em"
    assert parsed["short_name"] == parsed["name"]


def test_name_keeps_the_rest_of_its_capitalisation() -> None:
    parsed = parse_record(raw_record(ten_thu_tuc="Cấp Giấy chứng nhận thợ hàn"))
    assert parsed["name"] == "Cấp Giấy chứng nhận thợ hàn"


def test_name_keeps_thu_tuc_hai_quan_which_is_a_term() -> None:
    parsed = parse_record(raw_record(ten_thu_tuc="Thủ tục hải quan đối với hàng hóa quá cảnh"))
    assert parsed["name"] == "Thủ tục hải quan đối với hàng hóa quá cảnh"


def test_hard_wrapped_name_is_joined_not_skipped() -> None:
    # Real national records (e.g. 1.009644) carry names wrapped as in the source decision.
    wrapped = "Thủ tục điều chỉnh Quyết định chấp thuận nhà đầu tư thuộc thẩm \nquyền của Chủ tịch"
    assert parse_record(raw_record(ten_thu_tuc=wrapped))["name"] == (
        "Điều chỉnh Quyết định chấp thuận nhà đầu tư thuộc thẩm quyền của Chủ tịch"
    )
    repeated = "Thẩm định đề án phân loại đô thị\nThẩm định đề án phân loại đô thị"
    assert parse_record(raw_record(ten_thu_tuc=repeated))["name"] == "Thẩm định đề án phân loại đô thị"


def test_agency_falls_back_to_the_competent_body_then_to_the_portal() -> None:
    parsed = parse_record(raw_record(co_quan_thuc_hien="Không có thông tin", co_quan_co_tham_quyen="Bộ Tư pháp"))
    assert parsed["agency"] == "Bộ Tư pháp"
    parsed = parse_record(raw_record(co_quan_thuc_hien="Không có thông tin", co_quan_co_tham_quyen=""))
    assert parsed["agency"] == "Xem trên Cổng Dịch vụ công quốc gia"


# --- channels: time, fees, online ------------------------------------------------------------------


def test_channels_without_units_keep_the_number_and_say_the_unit_is_missing() -> None:
    table = channels("Trực tuyến1Miễn phíDịch vụ bưu chính1Miễn phíTrực tiếp1Miễn phí")
    parsed = parse_record(raw_record(cach_thuc_thuc_hien=table, can_cu_phap_ly=""))
    assert parsed["processing_time"] == f"1 {NO_UNIT}"
    assert "không ghi đơn vị" in parsed["notes"]
    assert parsed["fees"] == "Miễn phí"
    assert parsed["online"] == (
        "Có thể nộp trực tuyến trên Cổng Dịch vụ công quốc gia (dichvucong.gov.vn); "
        "cũng nhận nộp trực tiếp và qua bưu chính."
    )


def test_channels_with_units_are_reported_per_channel_when_they_differ() -> None:
    table = channels(
        "Trực tiếp03 Ngày làm việcLệ phí : 15.000 Đồng (theo danh sách)Nộp tại Công an cấp xã."
        "Trực tuyến2 Ngày làm việc7,000 Việt Nam Đồng(7.000 đồng/lần đăng ký)- Trực tuyến: nộp qua Cổng."
    )
    parsed = parse_record(raw_record(cach_thuc_thuc_hien=table))
    assert parsed["processing_time"] == "Trực tiếp: 3 ngày làm việc; Trực tuyến: 2 ngày làm việc"
    assert parsed["fees"] == (
        "Trực tiếp: Lệ phí: 15.000 đồng (theo danh sách); Trực tuyến: 7.000 đồng (7.000 đồng/lần đăng ký)"
    )
    assert parsed["online"].startswith("Có thể nộp trực tuyến")
    assert "cũng nhận nộp trực tiếp." in parsed["online"]


def test_same_time_and_fee_on_every_channel_is_one_value() -> None:
    table = channels("Trực tuyến15 Ngày2,000,000 Việt Nam ĐồngDịch vụ bưu chính15 Ngày2,000,000 Việt Nam Đồng")
    parsed = parse_record(raw_record(cach_thuc_thuc_hien=table))
    assert parsed["processing_time"] == "15 ngày"
    assert parsed["fees"] == "2.000.000 đồng"


def test_no_information_time_and_fee_are_said_in_vietnamese() -> None:
    table = channels(
        "Trực tiếpKhông có thông tinKhông có thông tinDịch vụ bưu chínhKhông có thông tinKhông có thông tin"
    )
    parsed = parse_record(raw_record(cach_thuc_thuc_hien=table, can_cu_phap_ly=""))
    assert parsed["processing_time"] == f"Chưa có thông tin thời hạn giải quyết; {ASK}"
    assert parsed["fees"] == f"Chưa có thông tin phí, lệ phí; {ASK}"
    assert parsed["online"] == "Không nộp trực tuyến được; nộp trực tiếp hoặc qua bưu chính."
    assert "Không có thông tin" not in json.dumps(parsed, ensure_ascii=False)
    assert "Bản ghi không có: thời hạn giải quyết, phí, lệ phí, căn cứ pháp lý." in parsed["notes"]


def test_a_time_found_only_in_the_description_says_so_plainly() -> None:
    table = channels("Trực tiếpKhông có thông tinMiễn phíTrả kết quả trong 05 ngày làm việc.")
    parsed = parse_record(raw_record(cach_thuc_thuc_hien=table, can_cu_phap_ly=""))
    assert parsed["processing_time"] == "Theo mô tả của thủ tục: Trả kết quả trong 05 ngày làm việc."
    assert "phần mô tả" in parsed["notes"]


def test_a_fee_without_an_amount_and_one_channel_without_a_fee() -> None:
    table = channels("Trực tiếp5 Ngày làm việcVNĐTrực tuyến5 Ngày làm việcKhông có thông tin")
    parsed = parse_record(raw_record(cach_thuc_thuc_hien=table, can_cu_phap_ly=""))
    assert parsed["fees"] == (
        "Trực tiếp: Có thu phí, lệ phí (chưa rõ số tiền; hỏi nơi tiếp nhận hồ sơ); Trực tuyến: chưa có thông tin"
    )
    assert "không ghi số tiền" in parsed["notes"]


def test_free_fee_with_a_provincial_council_note_is_not_read_literally() -> None:
    table = channels("Trực tiếp3Miễn phí((Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định.))")
    parsed = parse_record(raw_record(cach_thuc_thuc_hien=table, can_cu_phap_ly=""))
    assert parsed["fees"] == f"{HDND_NOTE}. Ghi chú: Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định"
    assert parsed["online"] == "Không nộp trực tuyến được; nộp trực tiếp tại nơi tiếp nhận hồ sơ."
    assert "HĐND tỉnh" in parsed["notes"]


def test_free_fee_with_thong_tu_85_2019_in_the_legal_basis_is_not_read_literally() -> None:
    legal = "Tên văn bản pháp lýMã văn bảnThông tư hướng dẫn về phí và lệ phí85/2019/TT-BTC"
    table = channels("Trực tuyến1Miễn phíTrực tiếp1Miễn phí")
    parsed = parse_record(raw_record(cach_thuc_thuc_hien=table, can_cu_phap_ly=legal))
    assert parsed["fees"] == HDND_NOTE


def test_plain_free_fee_stays_free() -> None:
    parsed = parse_record(raw_record(cach_thuc_thuc_hien=channels("Trực tuyến8 GiờMiễn phí(Không)")))
    assert parsed["fees"] == "Miễn phí"
    assert parsed["processing_time"] == "8 giờ"
    assert parsed["online"] == "Có thể nộp trực tuyến trên Cổng Dịch vụ công quốc gia (dichvucong.gov.vn)."


# --- documents, steps, legal basis, result, place -------------------------------------------------------


def test_documents_are_split_into_short_items_without_table_debris() -> None:
    text = (
        "* Giấy tờ phải nộp:Tên giấy tờMẫu đơn, tờ khaiSố lượng"
        "- Tờ khai đăng ký khai sinh theo mẫu;Mẫu số 01.docx1 bản chính"
        "- Giấy chứng sinh; trường hợp không có Giấy chứng sinh thì nộp văn bản của người làm chứng."
        "1 bản chính"
        "Văn bản ủy quyền (nếu có)0 bản chính,1 bản sao"
        "* Giấy tờ phải xuất trình:Tên giấy tờMẫu đơn, tờ khaiSố lượng- Hộ chiếu hoặc thẻ căn cước1 bản chính"
    )
    documents = parse_record(raw_record(thanh_phan_ho_so=text))["documents"]
    assert documents == [
        "Tờ khai đăng ký khai sinh theo mẫu",
        "Giấy chứng sinh; trường hợp không có Giấy chứng sinh thì nộp văn bản của người làm chứng.",
        "Văn bản ủy quyền (nếu có)",
        "Hộ chiếu hoặc thẻ căn cước (xuất trình)",
    ]


def test_documents_split_glued_bullets_and_truncate_long_items() -> None:
    long_item = "Báo cáo " + "rất dài về hoạt động " * 30
    text = (
        "--Tên giấy tờMẫu đơn, tờ khaiSố lượng- Đơn đề nghị theo Mẫu số 01. - Biên bản họp cộng đồng."
        f"1 bản chính{long_item}1 bản chính"
    )
    documents = parse_record(raw_record(thanh_phan_ho_so=text))["documents"]
    assert documents[:2] == ["Đơn đề nghị theo Mẫu số 01.", "Biên bản họp cộng đồng."]
    assert len(documents[2]) <= 300
    assert documents[2].endswith("…")
    assert documents[2].startswith("Báo cáo rất dài")


def test_missing_documents_say_so() -> None:
    parsed = parse_record(raw_record(thanh_phan_ho_so="Không có thông tin"))
    assert parsed["documents"] == [f"Chưa có thông tin thành phần hồ sơ; {ASK}"]
    assert "Bản ghi không có: thành phần hồ sơ." in parsed["notes"]


def test_steps_split_on_lines_buoc_and_bullets_and_join_soft_wraps() -> None:
    text = (
        "Bước 1: Nộp hồ sơ tại Trung tâm Phục vụ hành chính công.Bước 2: Cán bộ kiểm tra hồ sơ:\n"
        "- Nếu hồ sơ đầy đủ thì tiếp nhận và hẹn ngày trả\nkết quả;\n\n"
        "+ Nếu chưa đầy đủ thì hướng dẫn bổ sung.\n" + "Bước 3: " + "trả kết quả " * 60
    )
    steps = parse_record(raw_record(trinh_tu_thuc_hien=text))["steps"]
    assert steps[:4] == [
        "Bước 1: Nộp hồ sơ tại Trung tâm Phục vụ hành chính công.",
        "Bước 2: Cán bộ kiểm tra hồ sơ:",
        "Nếu hồ sơ đầy đủ thì tiếp nhận và hẹn ngày trả kết quả;",
        "Nếu chưa đầy đủ thì hướng dẫn bổ sung.",
    ]
    assert steps[4].startswith("Bước 3: trả kết quả")
    assert len(steps) == 5
    assert all(len(step) <= 400 for step in steps)


def test_legal_basis_pairs_codes_with_short_titles_in_order_without_duplicates() -> None:
    text = (
        "Tên văn bản pháp lýMã văn bản"
        "Nghị định số 123/2015/NĐ-CP ngày 15/11/2015 của Chính phủ quy định chi tiết Luật Hộ tịch"
        "123/2015/NĐ-CP"
        "Luật 60/2014/QH1360/2014/QH13"
        "LUẬT HÀNG KHÔNG DÂN DỤNG VIỆT NAM66/2006/QH11"
        "Nghị định 64/2022/NĐ-CP64/2022/NĐ-CPQUY ĐỊNH VỀ PHÍ25/2021/TT-BTC"
        "Luật Khiếu nại năm 201102/2011/QH13"
        "Thông tư liên tịch về bảo hiểm y tế09/2015/TTLT-BCA-BYT-BTC"
        "Nghị định 123/2015/NĐ-CP123/2015/NĐ-CP"
    )
    legal_basis = parse_record(raw_record(can_cu_phap_ly=text))["legal_basis"]
    assert legal_basis == [
        "123/2015/NĐ-CP: Nghị định số 123/2015/NĐ-CP ngày 15/11/2015 của Chính phủ quy định chi tiết Luật Hộ tịch",
        "60/2014/QH13",
        "66/2006/QH11: LUẬT HÀNG KHÔNG DÂN DỤNG VIỆT NAM",
        "64/2022/NĐ-CP",
        "25/2021/TT-BTC: QUY ĐỊNH VỀ PHÍ",
        "02/2011/QH13: Luật Khiếu nại năm 2011",
        "09/2015/TTLT-BCA-BYT-BTC: Thông tư liên tịch về bảo hiểm y tế",
    ]


def test_legal_basis_without_code_cells_lists_the_cited_codes() -> None:
    text = "Tên văn bản pháp lýMã văn bảnThông tư số 42/2020/TT-BTC hướng dẫn quá cảnh.42/2020"
    assert parse_record(raw_record(can_cu_phap_ly=text))["legal_basis"] == ["42/2020/TT-BTC"]


def test_missing_legal_basis_says_so() -> None:
    parsed = parse_record(raw_record(can_cu_phap_ly="Không có thông tin"))
    assert parsed["legal_basis"] == [f"Chưa có thông tin căn cứ pháp lý; {ASK}"]


def test_result_is_the_text_before_result_codes_and_boilerplate() -> None:
    text = (
        "Giấy chứng nhận đăng ký hoạt độngMã: KQ.G15.000168Văn bản từ chốiMã: 000.00.00.G04-KQ3194"
        "Từ khóaKhông có thông tinMô tảKhông có thông tinChọn cơ quan thực hiệnNộp hồ sơ"
    )
    assert parse_record(raw_record(ket_qua_xu_ly=text))["result"] == (
        "Giấy chứng nhận đăng ký hoạt động; Văn bản từ chối"
    )
    missing = parse_record(raw_record(ket_qua_xu_ly=""))["result"]
    assert missing == f"Chưa có thông tin kết quả; {ASK}"


def test_where_to_file_uses_an_informative_address_else_the_level() -> None:
    parsed = parse_record(raw_record(dia_chi_tiep_nhan="119 Nguyễn Sơn, phường Bồ Đề, thành phố Hà Nội"))
    assert parsed["where_to_file"] == "119 Nguyễn Sơn, phường Bồ Đề, thành phố Hà Nội"
    parsed = parse_record(raw_record(dia_chi_tiep_nhan="Không có thông tin"))
    assert parsed["where_to_file"] == (
        "Trung tâm Phục vụ hành chính công (Bộ phận Một cửa) cấp xã; xem địa chỉ trên Cổng Dịch vụ công quốc gia."
    )
    parsed = parse_record(raw_record(cap_thuc_hien="Cấp tỉnh"))
    assert parsed["where_to_file"].startswith("Trung tâm Phục vụ hành chính công cấp tỉnh")


# --- skips ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"ma_thu_tuc": ""}, "missing code"),
        ({"ma_thu_tuc": "1.00119"}, "invalid code"),
        ({"ma_thu_tuc": "TTHC-01"}, "invalid code"),
        ({"ten_thu_tuc": "  "}, "empty name"),
        ({"ten_thu_tuc": "Thủ tục"}, "empty name"),
        ({"raw_text": "Mã thủ tục1.014023Số quyết định226/QĐ-UBND"}, "shows code 1.014023"),
        ({"so_quyet_dinh": "226/QĐ-UBND", "raw_text": ""}, "provincial (UBND)"),
    ],
)
def test_unusable_records_are_skipped_with_a_reason(overrides: dict, reason: str) -> None:
    with pytest.raises(SkippedRecord, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_record(raw_record(**overrides))


def test_mis_scraped_local_procedure_with_a_broken_newline_name_is_skipped() -> None:
    raw = raw_record(
        ma_thu_tuc="3.000226",
        ten_thu_tuc="Công bố Danh mục và Quy trình nội bộ thủ tục hành chính thuộc thẩm\nquyền giải quyết",
        so_quyet_dinh="1404/QĐ-UBND",
        linh_vuc="Người có công",
        raw_text="Mã thủ tục3.000579Số quyết định1404/QĐ-UBND",
    )
    with pytest.raises(SkippedRecord, match="3.000226"):
        parse_record(raw)


def test_iter_records_reports_invalid_json_duplicates_and_same_page(tmp_path: Path) -> None:
    other_page = "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/other"
    lines = [
        json.dumps(raw_record(), ensure_ascii=False),
        "{not json",
        "",
        json.dumps(raw_record(), ensure_ascii=False),
        json.dumps(raw_record(ma_thu_tuc="1.000001", raw_text=""), ensure_ascii=False),
        json.dumps(raw_record(ma_thu_tuc="1.000002", raw_text="", detail_url=other_page), ensure_ascii=False),
    ]
    path = tmp_path / "crawl.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = list(iter_records(path))
    assert [number for number, _ in results] == [1, 2, 4, 5, 6]
    assert isinstance(results[0][1], dict) and results[0][1]["code"] == "1.001193"
    assert str(results[1][1]) == "line 2: invalid JSON"
    assert isinstance(results[2][1], SkippedRecord) and "duplicate code" in str(results[2][1])
    assert isinstance(results[3][1], SkippedRecord) and "same portal page" in str(results[3][1])
    assert isinstance(results[4][1], dict) and results[4][1]["code"] == "1.000002"


def test_looks_like_dvcqg() -> None:
    assert looks_like_dvcqg(json.dumps(raw_record(), ensure_ascii=False))
    assert looks_like_dvcqg('\ufeff{"ma_thu_tuc": "1.001193", "ten_thu_tuc": "x"}\n')
    assert not looks_like_dvcqg('{"code": "1.001193", "name": "Đăng ký khai sinh"}')
    assert not looks_like_dvcqg("code,name")
    assert not looks_like_dvcqg('["ma_thu_tuc", "ten_thu_tuc"]')


# --- the whole crawl ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crawl() -> tuple[dict[str, dict], list[SkippedRecord]]:
    """Every record of the bundled national crawl, parsed once: (parsed by code, skips)."""
    require_shared(DATA)
    parsed: dict[str, dict] = {}
    skipped: list[SkippedRecord] = []
    for _, result in iter_records(DATA):
        if isinstance(result, SkippedRecord):
            skipped.append(result)
        else:
            parsed[result["code"]] = result
    return parsed, skipped


def test_whole_crawl_parses(crawl: tuple[dict[str, dict], list[SkippedRecord]]) -> None:
    parsed, skipped = crawl
    assert len(parsed) >= 2600
    assert len(parsed) + len(skipped) == 2642


def test_whole_crawl_values_are_complete_and_clean(
    crawl: tuple[dict[str, dict], list[SkippedRecord]],
) -> None:
    parsed, _ = crawl
    for code, record in parsed.items():
        assert tuple(record) == KEYS, code
        assert record["aliases"] == [], code
        for key in KEYS:
            if key in ("aliases", "special_cases"):  # people write these; the portal has none
                continue
            value = record[key]
            values = value if isinstance(value, list) else [value]
            assert values, (code, key)
            for text in values:
                assert isinstance(text, str) and text.strip(), (code, key)
                assert text == " ".join(text.split()), (code, key, text)
                assert "Không có thông tin" not in text, (code, key, text)
        assert all(len(item) <= 300 for item in record["documents"]), code
        assert all(len(step) <= 400 for step in record["steps"]), code


def _texts(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_citizen_wording_never_names_the_record_when_everything_is_missing() -> None:
    empty = dict.fromkeys(("thanh_phan_ho_so", "trinh_tu_thuc_hien", "can_cu_phap_ly", "ket_qua_xu_ly"), "")
    for table in ("", channels("Trực tiếp1Miễn phí((do Hội đồng nhân dân tỉnh quy định))"), channels("Trực tiếp2VNĐ")):
        parsed = parse_record(raw_record(cach_thuc_thuc_hien=table, linh_vuc="", cap_thuc_hien="", **empty))
        for key in CITIZEN_KEYS:
            for text in _texts(parsed[key]):
                assert not any(phrase in text.lower() for phrase in PROVENANCE), (key, text)
        assert "bản ghi" in parsed["notes"]


@pytest.fixture(scope="module")
def crawl_text() -> dict[str, str]:
    """The text of each crawled record by code (first occurrence), lower case, whitespace collapsed."""
    texts: dict[str, str] = {}
    with DATA.open(encoding="utf-8-sig") as handle:
        for line in handle:
            raw = json.loads(line)
            values = " ".join(str(value) for value in raw.values())
            texts.setdefault(str(raw.get("ma_thu_tuc")), " ".join(values.lower().split()))
    return texts


def test_whole_crawl_citizen_fields_have_no_provenance_words(
    crawl: tuple[dict[str, dict], list[SkippedRecord]], crawl_text: dict[str, str]
) -> None:
    parsed, _ = crawl
    for code, record in parsed.items():
        for key in CITIZEN_KEYS:
            for text in _texts(record[key]):
                for phrase in PROVENANCE:
                    # The portal's own text may say it ("Biên bản ghi nội dung tố cáo"); our wording never does.
                    assert text.lower().count(phrase) <= crawl_text[code].count(phrase), (code, key, text)


def test_whole_crawl_birth_registration(crawl: tuple[dict[str, dict], list[SkippedRecord]]) -> None:
    parsed, _ = crawl
    record = parsed["1.001193"]
    assert record["name"] == "Đăng ký khai sinh"
    assert any("Giấy chứng sinh" in item for item in record["documents"])
    assert any(entry.startswith("123/2015/NĐ-CP") for entry in record["legal_basis"])
    assert record["fees"] == HDND_NOTE
    assert record["result"] == "Giấy khai sinh"


def test_whole_crawl_skips_the_mis_scraped_local_procedures(
    crawl: tuple[dict[str, dict], list[SkippedRecord]],
) -> None:
    parsed, skipped = crawl
    assert 1 <= len(skipped) <= 40
    assert all(str(skip).startswith("line ") and len(str(skip)) > 12 for skip in skipped)
    # The local "Công bố Danh mục…" and "Hỗ trợ phát triển sản xuất cộng đồng" pages saved under
    # ministry codes.
    assert "3.000226" not in parsed and "1.014208" not in parsed
    names = [record["name"] for record in parsed.values()]
    assert not any(
        name.startswith(("Hỗ trợ phát triển sản xuất cộng đồng", "Công bố Danh mục và Quy trình")) for name in names
    )
