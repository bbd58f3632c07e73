"""CSV and TSV output is opened in spreadsheets: a cell that would run as a formula there is written
with a leading apostrophe (the OWASP CSV-injection rule); numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest
from policykb.spreadsheet import defuse

# a cell as stored → as written to CSV/TSV
CELLS = [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("=HYPERLINK(\"http://example.invalid\",\"报告\")", "'=HYPERLINK(\"http://example.invalid\",\"报告\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-", "'-"),
    ("-5", "-5"),
    ("+3", "+3"),
    ("-0.25", "-0.25"),
    ("-1e6", "-1e6"),
    ("1500000", "1500000"),
    ("样例·福州乙开发区", "样例·福州乙开发区"),
    ("a=b", "a=b"),
    ("", ""),
]


@pytest.mark.parametrize("cell, written", CELLS)
def test_a_formula_looking_cell_gets_an_apostrophe_and_a_number_does_not(cell, written):
    assert defuse(cell) == written


QUERY = """# title: Cells a ledger might hold
SELECT ?cell WHERE { VALUES ?cell { "=cmd|' /C calc'!A0" "@SUM(A1:A9)" "-5" -5 "样例·福州乙开发区" } }
"""


def test_query_csv_neutralises_formula_cells(cli, tmp_path):
    query = tmp_path / "cells.rq"
    query.write_text(QUERY, encoding="utf-8")
    result = cli("query", "--file", query, "--format", "csv")
    assert result.code == 0, result.err
    assert list(csv.reader(io.StringIO(result.out))) == [
        ["cell"], ["'=cmd|' /C calc'!A0"], ["'@SUM(A1:A9)"], ["-5"], ["-5"], ["样例·福州乙开发区"]]
    # JSON carries the values as stored
    data = cli("query", "--file", query, "--format", "json")
    assert [row["cell"] for row in json.loads(data.out)][:2] == ["=cmd|' /C calc'!A0", "@SUM(A1:A9)"]


def test_the_form_workbook_keeps_a_formula_looking_text_as_text(tmp_path):
    """A trace line quoting a ledger cell `=cmd|…` is a text cell in the XLSX form, never a formula."""
    import io

    from openpyxl import Workbook, load_workbook
    from policykb.report.xlsx import _put

    book = Workbook()
    _put(book.active, 1, 1, "=cmd|' /C calc'!A0")
    _put(book.active, 2, 1, "12")
    buffer = io.BytesIO()
    book.save(buffer)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert (sheet.cell(1, 1).value, sheet.cell(1, 1).data_type) == ("=cmd|' /C calc'!A0", "s")
    assert sheet.cell(2, 1).value == "12"
