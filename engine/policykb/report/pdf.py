"""The form as a PDF: attachment 2's table filled in, the reasons for every difference, a signature
block, then the full trace and the digests. Chinese is set in Noto Sans SC (fonts.py), embedded as a
subset, so the PDF reads the same on a machine without Chinese fonts."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace

from ..scoring.explain import text_trace
from .fonts import cjk_font
from .form import HEADERS, Form, number

WIDTHS = (22, 42, 92, 12, 14, 14, 81)  # millimetres on landscape A4 (277 mm between the margins)
DIFFERS = (255, 230, 153)
HEAD = (217, 225, 242)


def _pdf() -> FPDF:
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_margins(10, 10, 10)
    pdf.add_font("cjk", fname=str(cjk_font()))
    pdf.set_creator("policykb")
    return pdf


def form_pdf(form: Form) -> bytes:
    pdf = _pdf()
    pdf.set_title(f"{form.title} {form.zone} {form.year}")
    pdf.add_page()
    pdf.set_font("cjk", size=15)
    pdf.cell(0, 9, form.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    pdf.cell(150, 7, f"开发区名称：{form.zone}")
    pdf.cell(0, 7, f"评估年度：{form.year}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(150, 7, f"总评分：{number(form.total) or '—'}")
    pdf.cell(0, 7, f"自评总分：{number(form.self_total) or '—'}", new_x="LMARGIN", new_y="NEXT")
    if form.sample:
        pdf.set_text_color(192, 0, 0)
        pdf.cell(0, 6, "样例数据：本开发区及其台账均为虚构，仅用于检验评分规则，不是事实陈述", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    pdf.set_font("cjk", size=8)
    firsts = {start: count for start, count in form.spans("first")}
    seconds = {start: count for start, count in form.spans("second")}
    with pdf.table(col_widths=WIDTHS, text_align=("CENTER", "LEFT", "LEFT", "CENTER", "CENTER", "CENTER", "LEFT"),
                   line_height=4.2, headings_style=FontFace(fill_color=HEAD), repeat_headings=1,
                   v_align="MIDDLE", wrapmode=WrapMode.CHAR) as table:  # Chinese has no spaces to break at
        head = table.row()
        for text in HEADERS:
            head.cell(text, align="CENTER")
        for n, row in enumerate(form.rows):
            line = table.row()
            if n in firsts:
                line.cell(row.first, rowspan=firsts[n])
            if n in seconds:
                line.cell(row.second, rowspan=seconds[n])
            line.cell(row.third)
            line.cell(number(row.max))
            shade = FontFace(fill_color=DIFFERS) if row.differs else None
            line.cell(number(row.self_score), style=shade)
            line.cell(number(row.audited), style=shade)
            line.cell(row.reason or "", style=shade)
        total = table.row()
        total.cell("合计", colspan=3, align="CENTER")
        for value in (form.max_total, form.self_total, form.total):
            total.cell(number(value))
        total.cell("")
    pdf.set_font("cjk", size=9)
    pdf.ln(2)
    if form.note:
        pdf.multi_cell(0, 5, form.note, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, form.standing, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font("cjk", size=11)
    pdf.cell(140, 8, "评估人：________________________")
    pdf.cell(0, 8, "日期：________________________", new_x="LMARGIN", new_y="NEXT")

    pdf.add_page()
    pdf.set_font("cjk", size=12)
    pdf.cell(0, 8, f"考评依据：{form.zone} {form.year}（规则、条款、台账行、计算与输入文件摘要）",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=7)
    for line in text_trace(form.trace).rstrip("\n").split("\n"):
        pdf.multi_cell(0, 3.4, line or " ", new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
    return bytes(pdf.output())
