"""Read a ledger file (CSV or XLSX) into rows of cells by canonical column name.

Headers may be English or Chinese (pkb:ledgerAlias); nothing is given meaning here — that is `convert`.
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ..errors import LedgerError, Location
from ..kb.names import norm
from .vocabulary import Vocabulary


@dataclass(frozen=True)
class LedgerRow:
    """One spreadsheet row: its number (header = 1) and its cells by canonical column name."""

    number: int
    cells: dict


@dataclass(frozen=True)
class Ledger:
    """A ledger as read from its file, before any meaning is given to the cells."""

    path: Path
    name: str
    columns: tuple[str, ...]
    rows: tuple[LedgerRow, ...]


def read(path: Path, vocabulary: Vocabulary, shown: str | None = None) -> Ledger:
    """Read a CSV or XLSX ledger; headers may be English or Chinese (pkb:ledgerAlias)."""
    shown = shown or str(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, raw_rows = _read_csv(path, shown)
    elif suffix in (".xlsx", ".xlsm"):
        header, raw_rows = _read_xlsx(path, shown)
    else:
        raise LedgerError(f"cannot read a ledger of type {suffix or '(none)'}", location=Location(shown),
                          hint="save the ledger as .csv (UTF-8) or .xlsx")
    columns: list[str | None] = []
    for index, title in enumerate(header, 1):
        if not title.strip():
            columns.append(None)
            continue
        column = vocabulary.by_header.get(norm(title))
        if column is None and norm(title) in ("序号", "no", "no.", "#", "seq"):
            columns.append(None)  # a running number, as forms have; nothing to import
            continue
        if column is None:
            known = sorted({c.name for c in vocabulary.columns.values()})
            close = difflib.get_close_matches(norm(title), list(vocabulary.by_header), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise LedgerError(
                f"unknown column {title!r}",
                location=Location(shown, 1, _column_letter(index)),
                hint=f"{hint}columns are: {', '.join(known)} (Chinese headers such as 开发区, 年度, 类型, 举措, 金额 also work; see kb/ledgers/README.md)",
            )
        if column.name in columns:
            raise LedgerError(f"column {column.name!r} appears twice", location=Location(shown, 1, _column_letter(index)),
                              hint="keep one column per field")
        columns.append(column.name)
    rows = []
    for number, values in raw_rows:
        cells = {name: value.strip() for name, value in zip(columns, values) if name and value and value.strip()}
        if cells:
            rows.append(LedgerRow(number, cells))
    return Ledger(path, shown, tuple(c for c in columns if c), tuple(rows))


def _column_letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_csv(path: Path, shown: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China often saves CSV as GB18030
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LedgerError("the file is neither UTF-8 nor GB18030 text", location=Location(shown),
                          hint="save the ledger as CSV UTF-8")
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise LedgerError("the ledger is empty", location=Location(shown), hint="start with a header row; see kb/ledgers/template.csv") from None
    return header, [(number, row) for number, row in enumerate(reader, 2)]


def _read_xlsx(path: Path, shown: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise LedgerError(f"cannot open the workbook: {exc}", location=Location(shown), hint="save it again from Excel or LibreOffice as .xlsx") from None
    sheet = next((book[n] for n in book.sheetnames if n.strip() in ("台账", "ledger", "Ledger")), book.worksheets[0])
    rows = list(sheet.iter_rows(values_only=True))
    book.close()
    if not rows:
        raise LedgerError("the ledger sheet is empty", location=Location(shown), hint="start with a header row; see kb/ledgers/template.xlsx")
    header = [_xlsx_text(v) for v in rows[0]]
    return header, [(number, [_xlsx_text(v) for v in row]) for number, row in enumerate(rows[1:], 2)]


def _xlsx_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)
