"""The filled-in form (XLSX every cell, PDF text), the ranking and coverage reports, and the charts.

The form's words are those of attachment 2 as the source prints it (tests/data/fujian-2021-form.yaml);
its points those computed by hand in tests/data/fujian-2021-scores.yaml.
"""

from __future__ import annotations

import json
import re
import subprocess
import warnings
from decimal import Decimal

import openpyxl
import pytest
from conftest import read_yaml, tool

FORM = read_yaml("fujian-2021-form.yaml")
SCORES = read_yaml("fujian-2021-scores.yaml")
NAMES = {"fz-b": "样例·福州乙开发区", "xm-c": "样例·厦门丙开发区"}

# Why the audited points of fz-b differ from its self-assessment (sample-2021-fz-b.csv): B4 seven
# cross-cutting measures (rows 6–12) at 2 points, capped at 12; B5 five special ones (rows 15–19) at 0.5,
# row 20 (X02) outside the catalogue; B9 2,300,000 yuan is 2 whole millions; B11 six city powers capped
# at 5; B17 four provincial or national reports, row 43 a city report.
REASONS = {
    "B4": "考评：7 × 2 = 14; capped at 12；未计分 第13行：duplicate: the same measure is counted at row 6；"
          "未计分 第15–19行：举措不是跨区域、跨部门、跨层级创新举措；"
          "未计分 第20行：举措不在附件1可复制创新成果文件目录中; 举措不是跨区域、跨部门、跨层级创新举措；未计分 1行（2020年）：非当年",
    "B5": "考评：5 × 0.5 = 2.5；未计分 第6–13行：举措不是专项创新举措；未计分 第20行：举措不在附件1可复制创新成果文件目录中；"
          "未计分 1行（2020年）：非当年",
    "B9": "考评：2300000 yuan ÷ 1000000 = 2.3 → 2 whole × 1 = 2",
    "B11": "考评：6 × 1 = 6; capped at 5",
    "B17": "考评：4 × 0.5 = 2；未计分 第43行：不是省级以上媒体报道",
}


def _n(value):
    """A number as the workbook holds it: a whole number as int, else a float."""
    if value is None:
        return None
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _expected_cells(code: str) -> tuple[dict[str, object], set[str]]:
    """Every non-empty cell of sheet 评估细则 for a zone, and its merged ranges, worked out by hand."""
    iri = f"sample:zone-{code}"
    points = SCORES["indicators"][iri]
    selfs = SCORES["self_scores"].get(iri, {})
    total, rank, _ = SCORES["zones"][iri]
    self_total = sum(Decimal(str(v)) for v in selfs.values()) if selfs else None
    cells = {"A1": FORM["title"], "A2": f"开发区名称：{NAMES[code]}", "D2": "评估年度：2021",
             "A3": f"总评分：{total}", "D3": f"自评总分：{self_total if self_total is not None else '—'}",
             "A4": "样例数据：本开发区及其台账均为虚构，仅用于检验评分规则，不是事实陈述"}
    cells.update(dict(zip(("A6", "B6", "C6", "D6", "E6", "F6", "G6"),
                          ("一级指标", "二级指标", "三级指标", "分值", "自评分", "考评分", "考评说明"))))
    merged = {"A1:G1", "A2:C2", "D2:G2", "A3:C3", "D3:G3", "A4:G4"}
    previous = (None, None)
    for n, (b, first, second, third, most) in enumerate(FORM["rows"]):
        r = 7 + n
        if first != previous[0]:
            cells[f"A{r}"] = first
        if second != previous[1]:
            cells[f"B{r}"] = second
        previous = (first, second)
        cells[f"C{r}"], cells[f"D{r}"], cells[f"F{r}"] = third, most, _n(points[b])
        if b in selfs:
            cells[f"E{r}"] = _n(selfs[b])
        if code == "fz-b" and b in REASONS:
            cells[f"G{r}"] = REASONS[b]
    # first-level cells span F1 B1–B3 (rows 7–9), F2 B4–B5, F3 B6–B9, F4 B10–B11, F5 B12–B15, F6 B16–B18;
    # second-level cells A1 B1–B3, A4 B6–B7, A5 B8–B9, A8 B12–B13, A9 B14–B15, A10 B16–B17
    merged |= {"A7:A9", "A10:A11", "A12:A15", "A16:A17", "A18:A21", "A22:A24",
               "B7:B9", "B12:B13", "B14:B15", "B18:B19", "B20:B21", "B22:B23", "A25:C25", "A26:G26", "A27:G27",
               "A29:C29", "D29:G29"}
    cells.update({"A25": "合计", "D25": 100, "F25": _n(total)})
    if self_total is not None:
        cells["E25"] = _n(self_total)
    cells["A26"] = FORM["note"]
    cells["A27"] = f"排名：第{rank}名（倒数第{22 - rank}名）；结果运用：奖励（不超过100万元）"
    cells["A29"] = "评估人：________________________"
    cells["D29"] = "日期：________________________"
    return cells, merged


@pytest.mark.parametrize("code", ["fz-b", "xm-c"])
def test_the_xlsx_form_holds_every_cell_as_computed_by_hand(cli, tmp_path, code):
    out = tmp_path / f"{code}.xlsx"
    run = cli("report", "form", code, "--scheme", "fujian-2021", "--year", "2021", "--out", out)
    assert run.code == 0, run.err
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["评估细则", "考评依据"]
    sheet = book["评估细则"]
    got = {c.coordinate: c.value for row in sheet.iter_rows() for c in row if c.value is not None}
    expected, merged = _expected_cells(code)
    assert got == expected
    assert {str(r) for r in sheet.merged_cells.ranges} == merged
    # the rows where 自评分 ≠ 考评分 are filled, the others not (fz-b: B4, B5, B9, B11, B17)
    filled = {FORM["rows"][r - 7][0] for r in range(7, 25) if sheet[f"F{r}"].fill.fgColor.rgb == "00FFE699"}
    assert filled == (set(REASONS) if code == "fz-b" else set())
    assert sheet.column_dimensions["C"].width == 58
    trace = [c.value for c in book["考评依据"]["A"] if c.value]
    assert trace[0].startswith(NAMES[code]) and any(line.startswith("computed by policykb") for line in trace)
    assert any("rules/fujian-2021.yaml" in line and re.match(r"  [0-9a-f]{64}  ", line) for line in trace)


def test_the_pdf_form_reads_as_the_rubric_with_the_scores(cli, tmp_path):
    pdftotext = tool("pdftotext", "poppler-utils")  # pypdf and pdfminer misread fpdf2's CID fonts; poppler does not
    out = tmp_path / "fz-b.pdf"
    assert cli("report", "form", "fz-b", "--scheme", "fujian-2021", "--year", "2021", "--out", out).code == 0
    extracted = subprocess.run([pdftotext, str(out), "-"], capture_output=True, text=True, check=True).stdout
    laid_out = subprocess.run([pdftotext, "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"合计\s+100\s+63\.9\s+59\.6\n", laid_out)  # the total row: 分值, 自评分, 考评分
    text = re.sub(r"\s+", "", extracted)
    for expected in [FORM["title"], "开发区名称：样例·福州乙开发区", "评估年度：2021", "总评分：59.6", "自评总分：63.9",
                     "评估人：", "日期：", "备注:自贸试验区范围内开发区不作为评估奖励对象。",
                     "考评：6×1=6;cappedat5", "考评：4×0.5=2；未计分第43行：不是省级以上媒体报道",
                     "B4.当年每复制一项跨区域、跨部门、跨层级创新举措得2分，总分不超12分",
                     "考评依据：样例·福州乙开发区2021", "computedbypolicykb",
                     "+kb/ledgers/sample/sample-2021-fz-b.csvrow27产业平台发展专项资金第1笔×1500000"]:
        assert re.sub(r"\s+", "", expected) in text, expected
    assert "排名：第3名（倒数第19名）；结果运用：奖励（不超过100万元）" in text


def test_the_html_form_is_one_page_with_the_trace(cli, tmp_path):
    out = tmp_path / "fz-b.html"
    assert cli("report", "form", "fz-b", "--scheme", "fujian-2021", "--year", "2021", "--out", out).code == 0
    html = out.read_text(encoding="utf-8")
    assert '<td rowspan="3">体制对接 15分</td>' in html and '<tr id="B4" class="differs">' in html
    assert "<style>" in html and "<script" not in html and 'id="trace"' in html


def test_a_form_with_a_wrong_suffix_or_zone_is_refused(cli, tmp_path):
    bad = cli("report", "form", "fz-b", "--scheme", "fujian-2021", "--year", "2021", "--out", tmp_path / "x.docx")
    assert bad.code == 2 and "name the file .xlsx, .html or .pdf" in bad.err
    unknown = cli("report", "form", "fz-q", "--scheme", "fujian-2021", "--year", "2021", "--out", tmp_path / "x.pdf")
    assert unknown.code == 2 and "no zone 'fz-q'" in unknown.err
    assert not any(tmp_path.iterdir())


def test_the_ranking_lists_places_and_the_zones_apart(cli, tmp_path):
    chart = tmp_path / "ranking.png"
    run = cli("report", "ranking", "--scheme", "fujian-2021", "--year", "2021", "--format", "json", "--chart", chart)
    assert run.code == 0, run.err
    data = json.loads(run.out, parse_float=Decimal)
    ranked = {r["zone"]: [r["total"], r["rank"], r["outcome"]] for r in data["ranked"]}
    expected = {z: [Decimal(str(t)) if isinstance(t, float) else t, r, o] for z, (t, r, o) in SCORES["zones"].items()
                if r is not None}
    assert ranked == expected
    assert [(a["zone"], a["why"], a["clause"]) for a in data["not_ranked"]] == [
        ("sample:zone-fz-a", "excluded", "doc:fj-ftzo-2021-1/att2/note"),
        ("sample:zone-xm-a", "excluded", "doc:fj-ftzo-2021-1/att2/note"),
        ("sample:zone-pt-a", "excluded", "doc:fj-ftzo-2021-1/att2/note")]
    assert data["not_ranked"][0]["text"] == "备注: 自贸试验区范围内开发区不作为评估奖励对象。"
    # 11 zones rewarded (np-a and nd-a share place 10), 10 rectify: both lines fall after the 11th zone
    assert data["lines"] == [{"outcome": "reward", "after": 11}, {"outcome": "rectify", "after": 11}]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_ranking_of_a_year_without_data_ranks_nobody(cli):
    run = cli("report", "ranking", "--scheme", "fujian-2021", "--year", "2030")
    assert run.code == 0
    head, _, apart = run.out.partition("not ranked:")
    assert "reward" not in head and "rectify" not in head
    assert apart.count("no-data") == 21 and apart.count("excluded") == 3


def test_coverage_counts_measures_per_catalogue_batch(cli):
    run = cli("report", "coverage", "--year", "2021", "--format", "json")
    data = json.loads(run.out)
    assert len(data["batches"]) == 16  # attachment 1 lists 16 batch documents
    fz_b = next(z for z in data["zones"] if z["zone"] == "样例·福州乙开发区")
    # sample-2021-fz-b.csv: C01–C07 (2021), C08 (2020) and S01–S05 are catalogue measures; X02 is not
    assert sum(fz_b["replicated"]) == 13


def test_charts_set_chinese_in_a_font_that_has_it(tmp_path):
    """matplotlib warns 'Glyph … missing from font' when a character would show as a box: none may."""
    from policykb.kb.layout import Layout
    from policykb.kb.load import load
    from policykb.report.charts import ranking_chart
    from policykb.report.ranking import ranking
    from policykb.scoring.evaluate import evaluate
    from policykb.scoring.provenance import sources
    from policykb.scoring.schemes import scheme_of

    kb = load(Layout.bundled())
    evaluation = evaluate(kb, scheme_of(kb, "fujian-2021"), 2021)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = ranking_chart(ranking(evaluation, sources(kb, evaluation, zones=[])))
        svg = ranking_chart(ranking(evaluation, sources(kb, evaluation, zones=[])), ".svg")
    assert not [w for w in caught if "missing from" in str(w.message)]
    assert png[:4] == b"\x89PNG" and b"<svg" in svg[:400]
