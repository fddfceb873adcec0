"""Issued documents: the inspection report (DOCX, HTML) and the summary (DOCX, XLSX), and the
findings export (CSV, XLSX) — opened again with python-docx / openpyxl and read like a clerk
would: the Party header blocks, the numbers, the flagged items, Vietnamese text intact."""

import io
import re
import unicodedata
import zipfile
from datetime import date

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Cm
from openpyxl import load_workbook

from fieldkit.core.hookspecs import hookimpl
from fieldkit.core.plugins import get_plugin_manager
from fieldkit.core.reporting import sample
from fieldkit.core.reporting.export import build_export
from fieldkit.core.reporting.filters import Filters, parse_period
from fieldkit.core.reporting.inspection import build_inspection_report
from fieldkit.core.reporting.issue import issue
from fieldkit.core.reporting.summary import build_summary_report
from fieldkit.core.reports import ReportRenderer, renderer_for

PUBLIC = "https://hq.example.vn"
FONT = "Times New Roman"


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    seeded = sample.sample_hq(tmp_path_factory.mktemp("hq"))
    yield seeded
    seeded["store"].close()


def inspection_report(hq, index=2, **options):
    options.setdefault("issued_on", date(2026, 1, 10))
    return build_inspection_report(hq["store"], hq["ids"][index], hq["units"], hq["checklists"],
                                   hq["pm"], hq["blobs"], **options)


def all_paragraphs(document):
    """Every paragraph of the body, tables included, in order."""
    found = []
    for block in document.element.body.iter(qn("w:p")):
        found.append("".join(t.text or "" for t in block.iter(qn("w:t"))))
    return found


@pytest.fixture(scope="module")
def hoa_binh_docx(hq):
    """The 2026 report of a 2024 inspection of a legacy Hòa Bình commune."""
    report = inspection_report(hq, number="12")
    issued = issue(hq["store"], hq["pm"], report, "docx", PUBLIC)
    return report, issued, Document(io.BytesIO(issued.data))


def test_docx_header_blocks(hoa_binh_docx):
    report, _issued, document = hoa_binh_docx
    header = document.tables[0]
    left, right = (cell.text for cell in header.rows[0].cells)
    assert left.splitlines()[:2] == ["BAN CHẤP HÀNH TRUNG ƯƠNG", "BAN CHỈ ĐẠO TRUNG ƯƠNG"]
    assert "Số 12-BC/BCĐTW" in left and "Số:" not in left
    assert right.splitlines() == ["ĐẢNG CỘNG SẢN VIỆT NAM", "Hà Nội, ngày 10 tháng 01 năm 2026"]
    party = header.rows[0].cells[1].paragraphs[0]
    assert party.runs[0].bold and party.runs[0].font.size.pt == 15
    assert party.runs[0].font.underline is None  # the line is a border, not underlining
    border = party._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert border.get(qn("w:val")) == "single"
    place = header.rows[0].cells[1].paragraphs[1].runs[0]
    assert place.italic and place.font.size.pt == 14
    # borderless 1×2 table
    borders = header._tbl.tblPr.find(qn("w:tblBorders"))
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}
    texts = all_paragraphs(document)
    assert "BÁO CÁO" in texts
    subject = ("Kết quả kiểm tra việc thực hiện dân chủ ở cơ sở tại phường Thái Bình, "
               "tỉnh Hòa Bình (nay thuộc tỉnh Phú Thọ)")
    assert subject in texts
    assert report["subject"] == subject


def test_docx_outline_numbers_flags_and_recommendations(hq, hoa_binh_docx):
    report, _issued, document = hoa_binh_docx
    texts = all_paragraphs(document)
    headings = [t for t in texts if t[:3] in ("I- ", "II-", "III", "IV-")]
    assert headings == ["I- ĐẶC ĐIỂM TÌNH HÌNH", "II- KẾT QUẢ THỰC HIỆN",
                        "III- HẠN CHẾ, NGUYÊN NHÂN", "IV- KIẾN NGHỊ, ĐỀ XUẤT"]
    body = "\n".join(texts)
    # The inspection (sample PLAN[2]): 8 items flagged, every one listed under III with its
    # answer; the scores table carries the numbers of core.scoring.
    flagged = report["data"]["flagged"]
    assert flagged == ["BI01", "BI02", "BA02", "LA01", "KT02", "GS01", "TH01", "TH02"]
    section_three = body.split("III- HẠN CHẾ, NGUYÊN NHÂN")[1].split("IV- ")[0]
    assert "còn 8 nội dung hạn chế" in section_three
    for code in flagged:
        assert f" {code} – " in section_three
    assert "KT02 – Số thành viên Ban Thanh tra nhân dân: 3." in section_three
    scores = document.tables[1]
    rows = {row.cells[0].text: [c.text for c in row.cells[1:]] for row in scores.rows}
    assert rows["Dân biết"] == ["2", "2", "25"]
    assert rows["Chung"] == ["12", "8", "41,7"]
    assert report["data"]["scores"]["overall"] == 41.7
    assert "Bổ sung thành viên Ban Thanh tra nhân dân cho đủ 5 người" in body
    assert "Đơn vị chịu trách nhiệm: Ủy ban MTTQ xã; thời hạn: 31/08/2024" in body
    assert "Từ ngày 01/07/2025, địa bàn thuộc phường Thống Nhất, tỉnh Phú Thọ." in body
    # recipients and signature: a borderless 1×2 table
    closing = [t for t in document.tables if "Nơi nhận:" in t.rows[0].cells[0].text][0]
    left, right = closing.rows[0].cells
    assert left.paragraphs[0].runs[0].underline
    assert left.text.splitlines()[-1] == "- Lưu VT."
    assert right.text.splitlines()[:2] == ["K/T TRƯỞNG BAN", "PHÓ TRƯỞNG BAN"]


def test_docx_fonts_page_and_numbering(hoa_binh_docx):
    _report, _issued, document = hoa_binh_docx
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin,
                                  section.left_margin, section.right_margin)] == [20, 20, 30, 15]
    normal = document.styles["Normal"]
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert {fonts.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "eastAsia", "cs")} == {FONT}
    assert normal.font.size.pt == 14
    runs = list(document.element.body.iter(qn("w:r")))
    assert len(runs) > 100
    for run in runs:
        if run.find(qn("w:t")) is None:
            continue
        fonts = run.find(qn("w:rPr")).find(qn("w:rFonts"))
        assert {fonts.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "eastAsia", "cs")} == {FONT}
    body_sizes = {r.font.size.pt for p in document.paragraphs for r in p.runs if r.text.strip()}
    assert body_sizes <= {10, 12, 13, 14, 15, 16}
    justified = [p for p in document.paragraphs if p.paragraph_format.first_line_indent]
    assert justified and all(abs(p.paragraph_format.first_line_indent.cm - 1.0) < 0.01
                             for p in justified)
    # page numbers: a PAGE field in the header, none on the first page
    assert section.different_first_page_header_footer
    header_xml = section.header._element.xml
    assert "PAGE" in header_xml and "fldChar" in header_xml
    assert "PAGE" not in section.first_page_header._element.xml


def test_docx_photos_at_a_sensible_width_and_text_is_nfc(hoa_binh_docx):
    _report, issued, document = hoa_binh_docx
    widths = [shape.width.cm for shape in document.inline_shapes]
    assert any(8 <= w <= 10 for w in widths)  # the evidence photo of BI01
    assert any(2 <= w <= 3 for w in widths)  # the QR code
    with zipfile.ZipFile(io.BytesIO(issued.data)) as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    assert unicodedata.normalize("NFC", xml) == xml
    assert "Ảnh: Bảng niêm yết tại trụ sở UBND xã" in "\n".join(all_paragraphs(document))


def test_report_before_the_reform_names_only_the_old_province(hq):
    report = inspection_report(hq, issued_on=date(2024, 6, 1))
    assert report["subject"].endswith("tại phường Thái Bình, tỉnh Hòa Bình")
    assert report["header"]["place_date"] == "Hà Nội, ngày 01 tháng 06 năm 2024"
    assert report["header"]["number"].startswith("Số ") and report["header"]["number"].endswith(
        "-BC/BCĐTW")


def test_ninh_binh_keeps_its_name_and_shows_the_new_commune(hq):
    report = inspection_report(hq, index=0)
    assert report["subject"].endswith(
        "phường Đông Thành, tỉnh Ninh Bình (nay thuộc phường Hoa Lư, tỉnh Ninh Bình)")


def test_layout_is_one_table_a_plugin_or_file_can_override(hq, tmp_path, monkeypatch):
    layout_file = tmp_path / "layout.json"
    layout_file.write_text('{"place": "Hòa Bình", "sizes_pt": {"body": 13}, '
                           '"signature": {"capacity": ["TRƯỞNG BAN"], "name": "Nguyễn Văn A"}}',
                           encoding="utf-8")
    monkeypatch.setenv("FIELDKIT_REPORT_LAYOUT", str(layout_file))
    report = inspection_report(hq)
    assert report["header"]["place_date"].startswith("Hòa Bình, ngày 10 tháng 01 năm 2026")
    document = Document(io.BytesIO(renderer_for(hq["pm"], "inspection", "docx").render(report)))
    assert document.styles["Normal"].font.size.pt == 13
    closing = [t for t in document.tables if "Nơi nhận:" in t.rows[0].cells[0].text][0]
    assert closing.rows[0].cells[1].text.split("\n")[0] == "TRƯỞNG BAN"
    assert "Nguyễn Văn A" in closing.rows[0].cells[1].text


def test_a_province_plugin_renderer_wins_over_the_builtin(hq):
    class ProvincePlugin:
        @hookimpl
        def fieldkit_report_renderers(self):
            return [ReportRenderer("inspection", "docx", "application/x-test",
                                   lambda report: b"tinh " + report["subject"].encode(), "Tỉnh")]

    pm = get_plugin_manager(load_entrypoints=False)
    pm.safe_register(ProvincePlugin(), name="tinh_hoa_binh", source="directory")
    assert renderer_for(pm, "inspection", "docx").media_type == "application/x-test"
    assert renderer_for(hq["pm"], "inspection", "docx").label == "Word (DOCX)"
    assert renderer_for(pm, "summary", "xlsx").label == "Excel (XLSX)"  # built-ins still there


def test_html_print_view_escapes_user_text(hq):
    report = inspection_report(hq)
    issued = issue(hq["store"], hq["pm"], report, "html", PUBLIC)
    html = issued.data.decode("utf-8")
    assert "&lt;script&gt;alert(" in html
    assert "<script" not in html.lower()
    assert "ĐẢNG CỘNG SẢN VIỆT NAM" in html and "Hà Nội, ngày 10 tháng 01 năm 2026" in html
    assert "data:image/png;base64," in html  # the QR code, inline
    assert not re.search(r'(src|href)="(https?:)?//', html.replace(f'href="{PUBLIC}/verify/', ""))
    assert "<link" not in html  # nothing fetched: styles, images, QR all inline
    assert unicodedata.normalize("NFC", html) == html


def test_summary_xlsx_sheets_numbers_and_header(hq):
    report = build_summary_report(hq["store"], hq["units"], Filters(period=parse_period("2024")),
                                  hq["checklists"], issued_on=date(2025, 1, 15))
    data = renderer_for(hq["pm"], "summary", "xlsx").render(report)
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames[:4] == ["Tỉnh × nội dung", "Mục hạn chế", "Kiến nghị",
                                   "Tự đánh giá - kiểm tra"]
    sheet = book["Tỉnh × nội dung"]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.column_dimensions["B"].width == 16
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=2)}
    phu_tho = rows["Phú Thọ"]
    assert phu_tho[0].value == "25" and phu_tho[2].value == "Hòa Bình"
    assert phu_tho[3].value == 2 and phu_tho[3].data_type == "n"
    columns = [c.value for c in sheet[1]]
    ld = columns.index("Công tác lãnh đạo, chỉ đạo")
    expected = next(p for p in report["data"]["provinces"] if p["code"] == "25")
    assert phu_tho[ld].value == pytest.approx(round(expected["themes"]["LD"], 1))
    assert phu_tho[ld].number_format == "0.0"
    flags = book["Mục hạn chế"]
    top = [c.value for c in next(flags.iter_rows(min_row=2, max_row=2))]
    assert top[:3] == [1, "sample.commune", "BI01"] and top[5] == 3


def test_summary_docx_six_month_review(hq):
    report = build_summary_report(hq["store"], hq["units"],
                                  Filters(period=parse_period("2024-H1")), hq["checklists"],
                                  number="5", issued_on=date(2024, 7, 5))
    issued = issue(hq["store"], hq["pm"], report, "docx", PUBLIC)
    document = Document(io.BytesIO(issued.data))
    texts = all_paragraphs(document)
    assert "Sơ kết 6 tháng đầu năm 2024 việc thực hiện dân chủ ở cơ sở" in texts
    assert "I- KẾT QUẢ 6 THÁNG ĐẦU NĂM 2024" in texts
    assert "II- PHƯƠNG HƯỚNG, NHIỆM VỤ 6 THÁNG CUỐI NĂM 2024" in texts
    assert "Số 5-BC/BCĐTW" in document.tables[0].rows[0].cells[0].text
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "Tỉnh")
    names = [row.cells[0].text for row in table.rows[1:]]
    assert names == ["Phú Thọ (Hòa Bình cũ)", "Ninh Bình", "An Giang (Kiên Giang cũ)", "Chung"]


def test_export_neutralises_formulas_in_csv_and_xlsx(hq):
    report = build_export(hq["store"], hq["units"], Filters(), hq["checklists"])
    csv_bytes = renderer_for(hq["pm"], "export", "csv").render(report)
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    text = csv_bytes.decode("utf-8-sig")
    assert "'=HYPERLINK(" in text and ",=HYPERLINK(" not in text
    assert "Phường Thái Bình" in text and "Tỉnh Phú Thọ" in text  # both eras
    book = load_workbook(io.BytesIO(renderer_for(hq["pm"], "export", "xlsx").render(report)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    note = header.index("Ghi chú")
    cells = [row[note] for row in sheet.iter_rows(min_row=2)
             if isinstance(row[note].value, str) and row[note].value.startswith("=")]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)
    value = header.index("Giá trị")
    numbers = [row[value] for row in sheet.iter_rows(min_row=2) if row[header.index("Mã mục")]
               .value == "BI02"]
    assert numbers and all(c.data_type == "n" for c in numbers)
    with zipfile.ZipFile(io.BytesIO(renderer_for(hq["pm"], "export", "xlsx").render(report))) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def test_exports_carry_no_verification_but_documents_do(hq):
    report = build_export(hq["store"], hq["units"], Filters(), hq["checklists"])
    assert issue(hq["store"], hq["pm"], report, "csv").record is None
    summary = build_summary_report(hq["store"], hq["units"], Filters(period=parse_period("2024")),
                                   hq["checklists"])
    issued = issue(hq["store"], hq["pm"], summary, "xlsx", PUBLIC)
    assert issued.record["url"] == f"{PUBLIC}/verify/{issued.record['id']}"
    book = load_workbook(io.BytesIO(issued.data))
    assert book["Xác thực"]["B1"].value == issued.record["id"]


def test_json_report_leaves_binary_attachments_out(hq):
    report = inspection_report(hq)
    assert report["_images"]
    data = renderer_for(hq["pm"], "inspection", "json").render(report)
    assert b"_images" not in data and "Hòa Bình".encode() in data


def test_a_note_typed_in_nfd_comes_out_nfc(hq):
    store = hq["store"]
    finding = next(f for f in store.find("finding", inspection_id=hq["ids"][4])
                   if f["item"] == "LD01")
    nfd = unicodedata.normalize("NFD", "Đã kiện toàn Ban Thanh tra nhân dân")
    store.save({**{k: v for k, v in finding.items() if k != "_seq"}, "note": nfd})
    report = inspection_report(hq, index=4)
    row = next(r for r in report["data"]["findings"] if r["code"] == "LD01")
    assert row["note"] == unicodedata.normalize("NFC", nfd) != nfd
    document = Document(io.BytesIO(renderer_for(hq["pm"], "inspection", "docx").render(report)))
    assert unicodedata.normalize("NFC", nfd) in "\n".join(all_paragraphs(document))


def test_photo_width_follows_the_layout(hq):
    report = inspection_report(hq, layout={"photo_width_cm": 8.0})
    document = Document(io.BytesIO(renderer_for(hq["pm"], "inspection", "docx").render(report)))
    assert Cm(8.0).cm == pytest.approx(max(s.width.cm for s in document.inline_shapes), abs=0.01)
