"""DOCX renderer (python-docx) for issued documents: the Party document layout of 36-HD/VPTW.

Everything measurable comes from the report's layout table (``core/reporting/layout.py``):
A4 and margins; Times New Roman set on the Normal style and on every run for all four
scripts (ascii, hAnsi, eastAsia, cs) so Vietnamese never falls back to another font; the
two-column header and the recipients-plus-signature area as borderless 1×2 tables; the line
under "ĐẢNG CỘNG SẢN VIỆT NAM" as a paragraph border as long as the text; page numbers as a
PAGE field in the header, none on page 1; photos embedded at the layout's width; the QR code
of the verification URL at the end. A plugin can reuse it with its own layout:
``render_docx(report, layout={"place": "Hòa Bình"})``.
"""

import io
import unicodedata

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

from fieldkit.core.reporting.layout import deep_merge, layout_of
from fieldkit.core.reporting.text import number

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_ALIGN = {"justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "center": WD_ALIGN_PARAGRAPH.CENTER,
          "left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT}
# Advance widths of Times (New Roman) Bold capitals, per 1000 em: enough to draw the line
# under the Party's name as long as the text without the font file at hand.
_BOLD_CAPS = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (
    722, 667, 722, 722, 667, 611, 778, 778, 389, 500, 778, 667, 944, 722, 778, 611, 778,
    722, 556, 667, 722, 722, 1000, 722, 722, 667)))


def render_docx(report, layout=None):
    """The report as DOCX bytes; ``layout`` (optional) is merged over the report's own."""
    writer = _Writer(deep_merge(layout_of(report), layout or {}), report.get("_images") or {})
    return writer.render(report)


class _Writer:
    def __init__(self, layout, images):
        self.layout = layout
        self.images = images
        self.font = layout["font"]["name"]
        self.sizes = layout["sizes_pt"]
        self.doc = Document()

    # --- the document --------------------------------------------------------------------

    def render(self, report):
        self._setup_page()
        self._setup_styles()
        self._page_numbers()
        self._header(report["header"])
        self._title(report.get("doc_type", ""), report.get("subject", ""))
        for block in report.get("blocks", []):
            self._block(block)
        self._closing(report.get("recipients") or {}, report.get("signature") or {})
        if report.get("verification"):
            self._verification(report["verification"])
        appendix = report.get("appendix") or []
        if appendix:
            self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            for block in appendix:
                self._block(block)
        props = self.doc.core_properties
        props.title = report.get("title") or report.get("subject") or ""
        props.author = " ".join(report["header"].get("issuer", []))
        props.language = self.layout["font"].get("language", "vi-VN")
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()

    def _setup_page(self):
        page = self.layout["page"]
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(page["width_mm"]), Mm(page["height_mm"])
        margins = page["margins_mm"]
        section.top_margin, section.bottom_margin = Mm(margins["top"]), Mm(margins["bottom"])
        section.left_margin, section.right_margin = Mm(margins["left"]), Mm(margins["right"])
        section.header_distance = Mm(max(5, margins["top"] - 10))
        self.text_width_cm = (page["width_mm"] - margins["left"] - margins["right"]) / 10

    def _setup_styles(self):
        body = self.layout["body"]
        for name in ("Normal", "Table Grid"):
            try:
                style = self.doc.styles[name]
            except KeyError:
                continue
            style.font.name = self.font
            style.font.size = Pt(self.sizes["body"])
            _set_fonts(style.element.get_or_add_rPr(), self.font,
                       self.layout["font"].get("language"))
        normal = self.doc.styles["Normal"].paragraph_format
        normal.space_before = Pt(0)
        normal.space_after = Pt(body["space_after_pt"])
        normal.line_spacing = body["line_spacing"]
        # The document defaults too, so nothing (headers, fields) falls back to the theme font.
        for rpr in self.doc.styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr"):
            _set_fonts(rpr, self.font, self.layout["font"].get("language"))

    # --- runs and paragraphs -------------------------------------------------------------

    def run(self, paragraph, text, size=None, bold=False, italic=False, underline=False,
            color=None):
        run = paragraph.add_run(unicodedata.normalize("NFC", str(text)))
        run.font.name = self.font
        run.font.size = Pt(size or self.sizes["body"])
        run.font.bold = bold or None
        run.font.italic = italic or None
        run.font.underline = underline or None
        if color:
            run.font.color.rgb = RGBColor.from_string(color)
        _set_fonts(run._element.get_or_add_rPr(), self.font, None)
        return run

    def paragraph(self, container=None, align="justify", indent=False, space_after=None,
                  space_before=None, keep_with_next=False):
        paragraph = (container or self.doc).add_paragraph()
        fmt = paragraph.paragraph_format
        fmt.alignment = _ALIGN[align]
        if indent:
            fmt.first_line_indent = Cm(self.layout["body"]["first_line_indent_cm"])
        if space_after is not None:
            fmt.space_after = Pt(space_after)
        if space_before is not None:
            fmt.space_before = Pt(space_before)
        if keep_with_next:
            fmt.keep_with_next = True
        return paragraph

    # --- header, title -------------------------------------------------------------------

    def _header(self, header):
        spec = self.layout["header"]
        table = self._frame_table(spec["left_width_cm"], spec["right_width_cm"])
        left, right = table.rows[0].cells
        first = left.paragraphs[0]
        first.alignment = WD_ALIGN_PARAGRAPH.CENTER
        first.paragraph_format.space_after = Pt(0)
        self.run(first, header["superior"], self.sizes["superior"])
        for line in header.get("issuer", []):
            self.run(self.paragraph(left, "center", space_after=0), line, self.sizes["issuer"],
                     bold=True)
        if header.get("star"):
            self.run(self.paragraph(left, "center", space_after=0), header["star"],
                     self.sizes["issuer"])
        self.run(self.paragraph(left, "center", space_after=0), header["number"],
                 self.sizes["number"])
        party = right.paragraphs[0]
        party.alignment = WD_ALIGN_PARAGRAPH.CENTER
        party.paragraph_format.space_after = Pt(0)
        self.run(party, header["party"], self.sizes["party"], bold=True)
        if spec.get("party_line", True):
            text_cm = _bold_caps_width_cm(header["party"], self.sizes["party"])
            room = spec["right_width_cm"] - 0.4  # the cell's own margins
            side = max(0.0, (room - text_cm) / 2)
            party.paragraph_format.left_indent = Cm(side)
            party.paragraph_format.right_indent = Cm(side)
            _border(party, "bottom", size=8, space=1)
        self.run(self.paragraph(right, "right", space_before=6, space_after=0),
                 header["place_date"], self.sizes["place_date"], italic=True)

    def _title(self, doc_type, subject):
        self.run(self.paragraph(align="center", space_before=18, space_after=0), doc_type,
                 self.sizes["doc_type"], bold=True)
        for line in subject.split("\n"):
            self.run(self.paragraph(align="center", space_after=0), line,
                     self.sizes["subject"], bold=True)
        line = self.paragraph(align="center", space_after=12)
        side = max(0.0, (self.text_width_cm - 3.0) / 2)
        line.paragraph_format.left_indent = Cm(side)
        line.paragraph_format.right_indent = Cm(side)
        self.run(line, "", 4)
        _border(line, "bottom", size=6, space=1)

    # --- body blocks ---------------------------------------------------------------------

    def _block(self, block):
        kind = block["type"]
        if kind == "heading":
            level = block["level"]
            paragraph = self.paragraph(align="justify", indent=True, keep_with_next=True,
                                       space_before=6 if level == 1 else 3)
            self.run(paragraph, block["text"], self.sizes["heading"], bold=level < 3,
                     italic=level == 3)
            _outline(paragraph, level - 1)
        elif kind == "paragraph":
            paragraph = self.paragraph(align=block.get("align") or "justify",
                                       indent=block.get("indent", True))
            for run in block.get("runs", []):
                self.run(paragraph, run["text"], bold=run.get("bold"), italic=run.get("italic"))
        elif kind == "bullet":
            paragraph = self.paragraph(indent=True)
            self.run(paragraph, "- " + block["text"])
        elif kind == "table":
            self._table(block)
        elif kind == "photo":
            self._photo(block)

    def _table(self, block):
        columns, rows = block["columns"], block["rows"]
        size = self.sizes["table"]
        numeric = set(block.get("numeric") or [])
        table = self.doc.add_table(rows=1 + len(rows), cols=len(columns))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        widths = block.get("widths_cm") or [self.text_width_cm / len(columns)] * len(columns)
        _fixed_widths(table, widths)
        _repeat_header(table.rows[0])
        fill = self.layout["colors"]["table_header_fill"]
        for index, title in enumerate(columns):
            cell = table.rows[0].cells[index]
            _shade(cell, fill)
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.paragraph_format.space_after = Pt(0)
            self.run(paragraph, title, size, bold=True)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row):
                paragraph = table.rows[r].cells[c].paragraphs[0]
                paragraph.paragraph_format.space_after = Pt(0)
                paragraph.paragraph_format.first_line_indent = Cm(0)
                if c in numeric:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                    text = _number(value)
                else:
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
                    text = "" if value is None else str(value)
                self.run(paragraph, text, size)
        if block.get("caption"):
            self.run(self.paragraph(align="center", space_before=3), block["caption"],
                     self.sizes["caption"], italic=True)
        else:
            self.paragraph(space_after=0)

    def _photo(self, block):
        data = self.images.get(block.get("sha256"))
        if not data:
            self.run(self.paragraph(align="center"), f"[{block.get('caption') or 'Ảnh'}]",
                     self.sizes["caption"], italic=True)
            return
        paragraph = self.paragraph(align="center", space_after=0, keep_with_next=True)
        paragraph.add_run().add_picture(io.BytesIO(data),
                                        width=Cm(self.layout["photo_width_cm"]))
        self.run(self.paragraph(align="center"), block.get("caption") or "",
                 self.sizes["caption"], italic=True)

    # --- recipients, signature, verification ---------------------------------------------

    def _closing(self, recipients, signature):
        spec = self.layout["signature"]
        self.paragraph(space_after=6)
        table = self._frame_table(spec["left_width_cm"], spec["right_width_cm"])
        left, right = table.rows[0].cells
        label = left.paragraphs[0]
        label.paragraph_format.space_after = Pt(0)
        self.run(label, recipients.get("label", ""), self.sizes["recipients_label"],
                 bold=True, italic=True, underline=True)
        for line in recipients.get("lines", []):
            paragraph = self.paragraph(left, "left", space_after=0)
            self.run(paragraph, line, self.sizes["recipients"])
        first = right.paragraphs[0]
        first.alignment = WD_ALIGN_PARAGRAPH.CENTER
        first.paragraph_format.space_after = Pt(0)
        for index, line in enumerate(signature.get("capacity", [])):
            paragraph = first if index == 0 else self.paragraph(right, "center", space_after=0)
            self.run(paragraph, line, self.sizes["signer_capacity"], bold=True)
        for _ in range(spec.get("blank_lines", 3)):
            self.paragraph(right, "center", space_after=0)
        self.run(self.paragraph(right, "center", space_before=12), signature.get("name") or "",
                 self.sizes["signer_name"], bold=True)

    def _verification(self, verification):
        from fieldkit.core.qr import qr_png
        spec = self.layout["qr"]
        png = io.BytesIO(qr_png(verification["url"], box_size=10))
        self.paragraph(space_after=0)
        table = self._frame_table(spec["size_cm"] + 0.6, self.text_width_cm - spec["size_cm"] - 0.6)
        code_cell, text_cell = table.rows[0].cells
        code_cell.paragraphs[0].add_run().add_picture(io.BytesIO(png.getvalue()),
                                                      width=Cm(spec["size_cm"]))
        size = self.sizes["verification"]
        lines = [(f"{spec['label']}: ", verification["id"]),
                 (f"{spec['check_at']}: ", verification["url"])]
        first = text_cell.paragraphs[0]
        first.paragraph_format.space_after = Pt(0)
        for index, (label, value) in enumerate(lines):
            paragraph = first if index == 0 else self.paragraph(text_cell, "left", space_after=0)
            self.run(paragraph, label, size, italic=True)
            self.run(paragraph, value, size)
        self.run(self.paragraph(text_cell, "left", space_after=0),
                 "Quét mã QR để đối chiếu văn bản với bản do Ban Chỉ đạo Trung ương phát hành "
                 "(mã SHA-256 của tệp).", size, italic=True)

    # --- helpers -------------------------------------------------------------------------

    def _frame_table(self, left_cm, right_cm):
        """A borderless 1×2 table with fixed column widths (header, signature)."""
        table = self.doc.add_table(rows=1, cols=2)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _fixed_widths(table, [left_cm, right_cm])
        _no_borders(table)
        return table

    def _page_numbers(self):
        section = self.doc.sections[0]
        section.different_first_page_header_footer = True
        paragraph = section.header.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"),
                           ("end", None)):
            run = self.run(paragraph, "", self.sizes["page_number"])
            if kind:
                element = OxmlElement("w:fldChar")
                element.set(qn("w:fldCharType"), kind)
            elif text == " PAGE ":
                element = OxmlElement("w:instrText")
                element.set(qn("xml:space"), "preserve")
                element.text = text
            else:
                element = OxmlElement("w:t")
                element.text = text
            run._element.append(element)
        section.first_page_header.paragraphs[0].text = ""  # page 1: no number


def _number(value):
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, (int, float)):
        return number(value, 0 if float(value).is_integer() else 1)
    return str(value)


def _bold_caps_width_cm(text, size_pt):
    """The printed width of a capitals line in Times New Roman Bold."""
    units = 0
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            continue
        units += 250 if char == " " else _BOLD_CAPS.get(char.upper().replace("Đ", "D"), 722)
    return units / 1000 * size_pt / 72 * 2.54


# Child order of the OOXML elements we touch (ECMA-376): Word refuses files whose
# property elements are out of order, so every insertion goes to its place.
_ORDER = {
    "w:pPr": ("pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr "
              "suppressLineNumbers pBdr shd tabs suppressAutoHyphens kinsoku wordWrap "
              "overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi adjustRightInd "
              "snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc "
              "textDirection textAlignment textboxTightWrap outlineLvl divId cnfStyle rPr "
              "sectPr pPrChange"),
    "w:rPr": ("rStyle rFonts b bCs i iCs caps smallCaps strike dstrike outline shadow emboss "
              "imprint noProof snapToGrid vanish webHidden color spacing w kern position sz "
              "szCs highlight u effect bdr shd fitText vertAlign rtl cs em lang "
              "eastAsianLayout specVanish oMath"),
    "w:tblPr": ("tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize "
                "tblStyleColBandSize tblW jc tblCellSpacing tblInd tblBorders shd tblLayout "
                "tblCellMar tblLook tblCaption tblDescription"),
    "w:tcPr": ("cnfStyle tcW gridSpan hMerge vMerge tcBorders shd noWrap tcMar textDirection "
               "tcFitText vAlign hideMark"),
    "w:trPr": ("cnfStyle divId gridBefore gridAfter wBefore wAfter cantSplit trHeight "
               "tblHeader tblCellSpacing jc hidden"),
}
_ORDER = {parent: [qn(f"w:{tag}") for tag in tags.split()] for parent, tags in _ORDER.items()}


def _put(parent, tag, parent_tag):
    """The ``tag`` child of ``parent`` (created in its schema position if missing)."""
    existing = parent.find(qn(tag))
    if existing is not None:
        return existing
    element = OxmlElement(tag)
    order = _ORDER[parent_tag]
    position = order.index(qn(tag))
    later = set(order[position + 1:])
    for index, child in enumerate(parent):
        if child.tag in later:
            parent.insert(index, element)
            return element
    parent.append(element)
    return element


def _set_fonts(rpr, font, language):
    """Set the font for all four scripts (and the language) on an ``w:rPr``."""
    fonts = _put(rpr, "w:rFonts", "w:rPr")
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), font)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    if language:
        _put(rpr, "w:lang", "w:rPr").set(qn("w:val"), language)


def _border(paragraph, side, size=6, space=1):
    borders = _put(paragraph._p.get_or_add_pPr(), "w:pBdr", "w:pPr")
    line = OxmlElement(f"w:{side}")
    line.set(qn("w:val"), "single")
    line.set(qn("w:sz"), str(size))
    line.set(qn("w:space"), str(space))
    line.set(qn("w:color"), "000000")
    borders.append(line)


def _outline(paragraph, level):
    _put(paragraph._p.get_or_add_pPr(), "w:outlineLvl", "w:pPr").set(qn("w:val"), str(level))


def _no_borders(table):
    borders = _put(table._tbl.tblPr, "w:tblBorders", "w:tblPr")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)


def _fixed_widths(table, widths_cm):
    table.autofit = False
    _put(table._tbl.tblPr, "w:tblLayout", "w:tblPr").set(qn("w:type"), "fixed")
    grid = table._tbl.tblGrid
    for column, width in zip(grid.findall(qn("w:gridCol")), widths_cm):
        column.set(qn("w:w"), str(int(Cm(width).twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm):
            cell.width = Cm(width)


def _repeat_header(row):
    _put(row._tr.get_or_add_trPr(), "w:tblHeader", "w:trPr").set(qn("w:val"), "true")


def _shade(cell, fill):
    shading = _put(cell._tc.get_or_add_tcPr(), "w:shd", "w:tcPr")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
