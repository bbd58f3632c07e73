"""Ledger files as offices save them (tests/data/ledgers/cases.yaml), and inputs too large to keep as files:
each is imported or refused with the file, row and header and what to do, and a refusal changes nothing."""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import DATA, read_yaml
from rdflib import Graph, URIRef

from policykb.ledgers import limits
from policykb.namespace import PREFIXES

CASES = read_yaml("ledgers/cases.yaml")
FILES = DATA / "ledgers"


def snapshot(directory: Path) -> dict:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def problems_listed(err: str) -> int:
    match = re.search(r"(\d+) problem\(s\) in \d+ files?; nothing was imported", err)
    return int(match.group(1)) if match else 0


def expand(curie: str) -> URIRef:
    prefix, local = curie.split(":", 1)
    return URIRef(str(PREFIXES[prefix]) + local)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["file"])
def test_a_ledger_file_is_imported_or_refused_as_the_case_says(cli, kb_dir, tmp_path, case):
    ledger = tmp_path / case["file"]
    shutil.copy(FILES / case["file"], ledger)
    before = snapshot(kb_dir / "kb")
    result = cli("import", ledger, "--kb", kb_dir)
    assert result.code == case["exit"], result.err
    for words in case.get("says", []):
        assert words in result.err, (words, result.err)
    for words in case.get("notes", []):
        assert words in result.err, (words, result.err)
    if case["exit"]:
        first = result.err.splitlines()[1]
        assert first.startswith(f"{tmp_path}/{case['where']}" if "where" in case else str(ledger)), result.err
        assert problems_listed(result.err) == case["problems"]
        assert "hint:" in result.err
        assert snapshot(kb_dir / "kb") == before  # refused: nothing written, nothing left behind
        return
    written = kb_dir / "kb" / "evidence" / f"{ledger.stem}.ttl"
    graph = Graph().parse(written, format="turtle")
    for row, values in case["rows"].items():
        items = list(graph.subjects(expand("pkb:ledgerRow"), None))
        item = next(i for i in items if int(graph.value(i, expand("pkb:ledgerRow"))) == row)
        for prop, value in values.items():
            assert {str(o) for o in graph.objects(item, expand(prop))} == {value}, (row, prop)


def test_a_cell_longer_than_a_spreadsheet_cell_is_refused_with_its_row(cli, kb_dir, tmp_path):
    ledger = tmp_path / "long.csv"
    ledger.write_text("开发区,年度,类型,事项名称,层级\n" f"fz-b,2022,体制机制,{'长' * 140_000},市级\n", encoding="utf-8")
    before = snapshot(kb_dir / "kb")
    result = cli("import", ledger, "--kb", kb_dir)
    assert result.code == 1
    assert f"{ledger}:2: a cell of row 2 is longer than 32,767 characters" in result.err
    assert snapshot(kb_dir / "kb") == before
    shorter = tmp_path / "longish.csv"  # within the CSV reader's limit, beyond a spreadsheet cell's
    shorter.write_text("开发区,年度,类型,事项名称,层级\n" f"fz-b,2022,体制机制,{'长' * 40_000},市级\n", encoding="utf-8")
    result = cli("import", shorter, "--kb", kb_dir)
    assert result.code == 1
    assert f"{shorter}:2:事项名称: the cell holds 40,000 characters, more than a spreadsheet cell may (32,767)" in result.err


@pytest.mark.parametrize("column, cell", [("金额（元）", "9" * 5000), ("年度", "2" * 5000), ("数量", "1" * 5000)])
def test_a_number_of_five_thousand_digits_is_refused(cli, kb_dir, tmp_path, column, cell):
    ledger = tmp_path / "digits.csv"
    row = {"开发区": "fz-b", "年度": "2022", "类型": "省级赋权", "事项名称": "权限", "数量": "1", "金额（元）": "1"}
    row[column] = cell
    ledger.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n", encoding="utf-8")
    result = cli("import", ledger, "--kb", kb_dir)
    assert result.code == 1
    assert f"{ledger}:2:{column}: " in result.err and "has 5,000 digits, more than a number may (15, as in Excel)" in result.err


def test_every_bad_cell_is_reported_up_to_a_limit_and_the_rest_counted(cli, kb_dir, tmp_path):
    ledger = tmp_path / "many.csv"
    rows = [f"fz-b,2022,财政支持,资金{i},{i}万" for i in range(150)]
    ledger.write_text("开发区,年度,类型,事项名称,金额（元）\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = cli("import", ledger, "--kb", kb_dir)
    assert result.code == 1
    assert "150 problem(s) in 1 file; nothing was imported" in result.err
    assert result.err.count("is not a number") == limits.MAX_ERRORS == 100
    assert f"{ledger}:101:金额（元）: '99万' is not a number" in result.err  # the 100th, in row order
    assert "… and 50 more problem(s), not shown" in result.err


def test_problems_of_several_ledgers_are_reported_together(cli, kb_dir, tmp_path):
    first, second = tmp_path / "one.csv", tmp_path / "two.csv"
    first.write_text("开发区,年度,类型,举措\nfz-b,2022,复制推广,C99\n", encoding="utf-8")
    shutil.copy(FILES / "decimal-comma.csv", second)
    before = snapshot(kb_dir / "kb")
    result = cli("import", first, second, "--kb", kb_dir)
    assert result.code == 1
    assert "2 problem(s) in 2 files" in result.err
    assert result.err.index(f"{first}:2:举措") < result.err.index(f"{second}:2:金额（元）")
    assert snapshot(kb_dir / "kb") == before


def _bomb(path: Path, sheet_bytes: int) -> None:
    """An .xlsx whose one sheet unpacks to `sheet_bytes` of rows: a few MB of zip, a lot of XML."""
    head = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main"><sheetData>')
    row = '<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                      'package/2006/content-types"/>')
        book.writestr("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                      '<sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>')
        book.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/'
                      '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                      'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            block = (row * 20_000).encode()
            for _ in range(sheet_bytes // len(block)):
                sheet.write(block)
            sheet.write(b"</sheetData></worksheet>")


def test_a_workbook_that_inflates_beyond_the_limit_is_refused_before_it_is_read(cli, kb_dir, tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    _bomb(bomb, 1024 * 1024 * 1024)  # 1 GB of rows
    assert bomb.stat().st_size < 10 * 1024 * 1024
    result = cli("import", bomb, "--kb", kb_dir)
    assert result.code == 1
    assert re.search(r"the workbook is too large to read: its part xl/worksheets/sheet1\.xml unpacks to 1,0\d\d MB",
                     result.err), result.err
    assert "(the limit is 100 MB a part" in result.err


def test_a_file_larger_than_a_ledger_may_be_is_refused_unread(cli, kb_dir, tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as out:
        out.truncate(limits.MAX_FILE_BYTES + 1)  # sparse: nothing is written, the size is what counts
    result = cli("import", big, "--kb", kb_dir)
    assert result.code == 1 and "larger than a ledger may be (20 MB)" in result.err


def test_more_rows_than_a_ledger_may_hold_are_refused(cli, kb_dir, tmp_path):
    ledger = tmp_path / "rows.csv"
    ledger.write_text("开发区,年度,类型,事项名称,层级\n" + "fz-b,2022,体制机制,机制,市级\n" * (limits.MAX_ROWS + 11),
                      encoding="utf-8")
    result = cli("import", ledger, "--kb", kb_dir)
    assert result.code == 1 and "the ledger has more than 20,000 rows" in result.err


def test_a_row_far_down_a_long_ledger_is_checked_against_the_shapes_too(cli, kb_dir, tmp_path):
    """The shapes check new evidence a group of rows at a time (kb.validate.CHUNK_SUBJECTS): every group counts."""
    ledger = tmp_path / "funds.csv"
    rows = [f"fz-b,2022,财政支持,资金{i},{1000 + i}" for i in range(250)]
    rows[228] = "fz-b,2022,财政支持,资金228,"  # spreadsheet row 230: no amount
    ledger.write_text("开发区,年度,类型,事项名称,金额（元）\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = cli("import", ledger, "--kb", kb_dir)
    assert result.code == 1
    assert "1 problem(s) in 1 file" in result.err
    assert f"{ledger}:230:金额（元）: A 财政支持 row needs the amount received in 金额（元）" in result.err
