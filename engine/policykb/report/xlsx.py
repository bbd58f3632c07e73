"""The form as an XLSX workbook: sheet 评估细则 laid out like attachment 2, sheet 考评依据 with the full trace.

Merged cells for the first- and second-level indicators as the rubric prints them, column widths a
person would choose for the clause words, wrapped text, rows where 自评分 and 考评分 differ filled and
explained, the 备注, and a signature block. openpyxl writes a plain workbook (no macros, no external
links) that LibreOffice and Excel open without repair.
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from ..scoring.explain import text_trace
from .form import HEADERS, Form

WIDTHS = (12, 26, 58, 7, 8, 8, 46)  # characters; the 三级指标 words and the reasons need the room
DIFFERS = PatternFill("solid", fgColor="FFE699")  # rows where 自评分 ≠ 考评分
HEAD = PatternFill("solid", fgColor="D9E1F2")
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center")
CENTRE = Alignment(wrap_text=True, vertical="center", horizontal="center")
FIRST_ROW = 6  # the header row of the table; the indicators follow it

SIGNATURE = ("评估人：", "日期：")


def _value(value: Decimal | None):
    """A number cell: 12 stays a whole number, 2.5 a decimal; blank when there is none."""
    if value is None:
        return None
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def layout_rows(form: Form) -> dict[str, int]:
    """Where things are on the first sheet (1-based rows), for the renderer and for people reading tests."""
    last = FIRST_ROW + len(form.rows)
    return {"header": FIRST_ROW, "first": FIRST_ROW + 1, "total": last + 1, "note": last + 2, "standing": last + 3,
            "signature": last + 5}


def form_xlsx(form: Form) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "评估细则"
    where = layout_rows(form)
    for n, width in enumerate(WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(n)].width = width

    def merged(row: int, first: int, last: int, value, *, font: Font | None = None, align=WRAP) -> None:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
        cell = sheet.cell(row=row, column=first, value=value)
        cell.alignment = align
        if font:
            cell.font = font

    merged(1, 1, 7, form.title, font=Font(bold=True, size=14), align=CENTRE)
    sheet.row_dimensions[1].height = 24
    merged(2, 1, 3, f"开发区名称：{form.zone}")
    merged(2, 4, 7, f"评估年度：{form.year}")
    merged(3, 1, 3, f"总评分：{_text(form.total)}")
    merged(3, 4, 7, f"自评总分：{_text(form.self_total)}")
    if form.sample:
        merged(4, 1, 7, "样例数据：本开发区及其台账均为虚构，仅用于检验评分规则，不是事实陈述", font=Font(italic=True, color="C00000"))
    for column, text in enumerate(HEADERS, 1):
        cell = sheet.cell(row=FIRST_ROW, column=column, value=text)
        cell.font, cell.fill, cell.alignment, cell.border = Font(bold=True), HEAD, CENTRE, BOX
    for n, row in enumerate(form.rows):
        r = where["first"] + n
        values = (row.first, row.second, row.third, _value(row.max), _value(row.self_score), _value(row.audited),
                  row.reason)
        for column, value in enumerate(values, 1):
            cell = sheet.cell(row=r, column=column, value=value)
            cell.alignment = CENTRE if column in (1, 4, 5, 6) else WRAP
            cell.border = BOX
            if row.differs and column >= 5:
                cell.fill = DIFFERS
    for level, column in (("first", 1), ("second", 2)):
        for start, count in form.spans(level):
            if count > 1:
                sheet.merge_cells(start_row=where["first"] + start, start_column=column,
                                  end_row=where["first"] + start + count - 1, end_column=column)
    total = where["total"]
    sheet.merge_cells(start_row=total, start_column=1, end_row=total, end_column=3)
    for column, value in ((1, "合计"), (4, _value(form.max_total)), (5, _value(form.self_total)),
                          (6, _value(form.total))):
        sheet.cell(row=total, column=column, value=value)
    for column in range(1, 8):
        cell = sheet.cell(row=total, column=column)
        cell.font, cell.alignment, cell.border = Font(bold=True), CENTRE, BOX
    if form.note:
        merged(where["note"], 1, 7, form.note)
    merged(where["standing"], 1, 7, form.standing)
    merged(where["signature"], 1, 3, f"{SIGNATURE[0]}________________________")
    merged(where["signature"], 4, 7, f"{SIGNATURE[1]}________________________")
    sheet.print_title_rows = f"{FIRST_ROW}:{FIRST_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.freeze_panes = sheet.cell(row=where["first"], column=1)

    trace = book.create_sheet("考评依据")
    trace.column_dimensions["A"].width = 150
    for n, line in enumerate(text_trace(form.trace).rstrip("\n").split("\n"), 1):
        trace.cell(row=n, column=1, value=line or None).alignment = Alignment(wrap_text=True, vertical="top")
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _text(value: Decimal | None) -> str:
    return format(value.normalize(), "f") if value is not None else "—"
