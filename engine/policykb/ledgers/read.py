"""Read a ledger file (CSV or XLSX) into rows of cells by canonical column name.

Headers may be English or Chinese (pkb:ledgerAlias); nothing is given meaning here — that is `convert`.
What a spreadsheet kept by hand holds around its table is handled as an office means it: a title row
above the header and blank rows are skipped, a 合计 (total) row and a note row below the table are
skipped with a note, a zone cell merged over several rows applies to each of them, and a CSV saved by
Excel on Chinese Windows (GB18030/GBK) is read as such. What cannot be read right — a cell right of the
last header, a formula whose value was never stored, an error value, a cell longer than Excel allows —
is a problem of its row and column, collected with every other problem of the ledger.

Two kinds of table are read alike: evidence ledgers (台账) and statistics tables (统计表, one row per area
and year). Given the words of both, the reader takes the kind whose columns the header row names; a
statistics table's measure headers carry their unit in brackets (税收（亿元）), which is kept as typed.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from ..errors import LedgerError, Location
from ..kb.names import norm
from . import limits
from .units import split_unit
from .vocabulary import Column, Vocabulary
from .xlsx import ErrorValue, Formula, Workbook, sheets_in_order

RUNNING_NUMBER = ("序号", "no", "no.", "#", "seq", "编号")  # a running number, as forms have: ignored
TOTAL_WORDS = ("合计", "总计", "小计", "共计", "total", "sum")
NOTE_WORDS = ("注", "说明", "备注", "填表说明", "填报说明", "note", "notes")
LEDGER_SHEETS = ("台账", "ledger", "统计表", "statistics")


@dataclass(frozen=True)
class LedgerRow:
    """One spreadsheet row: its number (as the spreadsheet shows it) and its cells by canonical column name."""

    number: int
    cells: dict


@dataclass(frozen=True)
class Ledger:
    """A ledger as read from its file, before any meaning is given to the cells.

    `headers` and `letters` give, for each column, the header as the office typed it and its column
    letter, so that messages name the cell the way the office sees it. `problems` are the cells that
    could not be read; `notes` say what was skipped or assumed (a title row, a 合计 row, the encoding).
    """

    path: Path
    name: str
    columns: tuple[str, ...]
    rows: tuple[LedgerRow, ...]
    headers: dict = field(default_factory=dict)
    letters: dict = field(default_factory=dict)
    sheet: str | None = None
    encoding: str | None = None
    notes: tuple[str, ...] = ()
    problems: tuple[LedgerError, ...] = ()
    unknown_headers: tuple[str, ...] = ()  # headers of the header row that name no column
    header_row: int | None = None  # the spreadsheet row of the header
    table: str = "ledger"  # the kind of table: "ledger" (evidence) or "statistics" (the vocabulary's `table`)

    def header(self, column: str, vocabulary: Vocabulary | None = None) -> str:
        """The header the office typed for a column; for a column the ledger lacks, the template's header."""
        if column in self.headers:
            return self.headers[column]
        if vocabulary is not None and column in vocabulary.columns:
            return vocabulary.columns[column].header
        return column

    def problem(self, row: int | None, column: str | None, message: str, hint: str, *,
                letter: str | None = None, header: str | None = None) -> LedgerError:
        """A LedgerError at a row and column: FILE:ROW:HEADER, the sheet and cell in the message for a workbook."""
        where = header or (self.headers.get(column, column) if column else letter)
        cell = letter or self.letters.get(column)
        if self.sheet is not None and row is not None:
            message = f"sheet {self.sheet}" + (f", cell {cell}{row}" if cell else "") + f": {message}"
        return LedgerError(message, location=Location(self.name, row, where), hint=hint)


def read(path: Path, vocabulary, shown: str | None = None) -> Ledger:
    """Read a CSV or XLSX ledger; raises LedgerError when the file as a whole cannot be read.

    `vocabulary` is the words of one kind of table, or a tuple of several (evidence ledger, statistics
    table): the first whose columns the header row names most is used, and `Ledger.table` says which.
    """
    vocabularies = vocabulary if isinstance(vocabulary, tuple) else (vocabulary,)
    shown = shown or str(path)
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LedgerError(f"cannot read the ledger: {exc.strerror or exc}", location=Location(shown),
                          hint="give the path of a .csv or .xlsx ledger that you may read") from None
    if size > limits.MAX_FILE_BYTES:
        raise LedgerError(f"the file is {limits.size(size)}, larger than a ledger may be ({limits.size(limits.MAX_FILE_BYTES)})",
                          location=Location(shown),
                          hint=f"a ledger holds one row per evidence item, at most {limits.MAX_ROWS:,} rows: "
                               "split it into several files (one per zone and year is best)")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        grid, encoding, notes = _read_csv(path, shown)
        return _table(path, shown, _kind_of(grid, vocabularies), grid, None, encoding, notes, {})
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, shown, vocabularies)
    if suffix in (".xls", ".et", ".ods", ".numbers", ".wps"):
        raise LedgerError(f"policykb reads .xlsx workbooks and .csv files, not {suffix}", location=Location(shown),
                          hint="open it in Excel, WPS or LibreOffice and save it as Excel Workbook (.xlsx) or CSV UTF-8")
    raise LedgerError(f"cannot read a ledger of type {suffix or '(none)'}", location=Location(shown),
                      hint="save the ledger as .csv (UTF-8) or .xlsx")


# ---------------------------------------------------------------------------------------------
# CSV: the encoding, then the cells
# ---------------------------------------------------------------------------------------------

def _read_csv(path: Path, shown: str):
    raw = path.read_bytes()
    text, encoding = _decode(raw, shown)
    notes = []
    if encoding == "gb18030":
        notes.append("read as GB18030 (GBK), the encoding Excel on Chinese Windows saves CSV files in")
    elif encoding == "big5":
        notes.append("read as Big5 (traditional Chinese)")
    elif encoding == "utf-16":
        notes.append("read as UTF-16 text (Excel's Unicode Text)")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    grid = []
    number = 0
    try:
        for number, values in enumerate(reader, 1):
            if number > limits.MAX_ROWS + limits.HEADER_SEARCH_ROWS:
                raise LedgerError(f"the ledger has more than {limits.MAX_ROWS:,} rows", location=Location(shown),
                                  hint="split the ledger into several files (one per zone and year is best)")
            cells = {i: v for i, v in enumerate(values, 1) if v.strip()}
            if cells:
                grid.append((number, cells))
    except csv.Error as exc:
        row = number + 1
        if "field larger than field limit" in str(exc):
            raise LedgerError(f"a cell of row {row} is longer than {limits.MAX_CELL_CHARS:,} characters, the most a "
                              "spreadsheet cell holds", location=Location(shown, row),
                              hint="shorten the cell, or check that every quote (\") that opens a cell also closes it") from None
        raise LedgerError(f"row {row} cannot be read as CSV: {exc}", location=Location(shown, row),
                          hint="save the ledger again from Excel, WPS or LibreOffice as CSV UTF-8") from None
    if not grid:
        raise LedgerError("the ledger is empty", location=Location(shown),
                          hint="start with a header row; see kb/ledgers/template.csv")
    return grid, encoding, notes


def _decode(raw: bytes, shown: str) -> tuple[str, str | None]:
    """The text of a CSV file and the encoding it was read in (None for UTF-8).

    UTF-8 (with or without BOM) is tried first, then GB18030 (which covers GBK and GB2312, what Excel on
    Chinese Windows writes). Big5 bytes also decode as GB18030, into rare characters; so GB18030 is taken
    only when nearly all its Chinese characters are common ones (in GB2312), and Big5 otherwise.
    """
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[3:].decode("utf-8"), None
        except UnicodeDecodeError:
            pass
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    simplified = _try(raw, "gb18030")
    if simplified is not None and _common_chinese_share(simplified) >= 0.8:
        return simplified, "gb18030"
    traditional = _try(raw, "cp950")
    if traditional is not None:
        return traditional, "big5"
    if simplified is not None:
        return simplified, "gb18030"
    raise LedgerError("the file is not text in UTF-8, GB18030 (GBK) or Big5", location=Location(shown),
                      hint="open it in Excel or WPS and save it as CSV UTF-8 (逗号分隔) (*.csv), or as .xlsx")


def _try(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _common_chinese_share(text: str) -> float:
    hanzi = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not hanzi:
        return 1.0
    common = sum(1 for c in hanzi if _in_gb2312(c))
    return common / len(hanzi)


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


# ---------------------------------------------------------------------------------------------
# XLSX: the sheet that holds the ledger
# ---------------------------------------------------------------------------------------------

def _read_xlsx(path: Path, shown: str, vocabularies: tuple) -> Ledger:
    with Workbook(path, shown) as book:
        candidates = list(sheets_in_order(book, LEDGER_SHEETS))
        if not candidates:
            raise LedgerError("the workbook has no visible sheet", location=Location(shown),
                              hint="unhide the ledger sheet (right-click a sheet tab → Unhide) and save again")
        chosen, vocabulary = None, vocabularies[0]
        for sheet in candidates:
            head = book.rows(sheet, stop_after=limits.HEADER_SEARCH_ROWS)
            found = _kind_of(head.rows, vocabularies, found_only=True)
            if found is not None:
                chosen, vocabulary = sheet, found
                break
        notes = []
        if chosen is None:
            chosen = candidates[0]
        elif chosen is not candidates[0]:
            skipped = ", ".join(s.name for s in candidates[:candidates.index(chosen)])
            notes.append(f"read sheet {chosen.name}, the first with a header row of known columns (skipped: {skipped})")
        sheet = book.rows(chosen)
    grid = [(number, {c: _cell_text(v) for c, v in cells.items()}) for number, cells in sheet.rows]
    if not grid:
        raise LedgerError(f"sheet {chosen.name} is empty", location=Location(shown),
                          hint="start with a header row; see kb/ledgers/template.xlsx")
    found = _find_header(grid, vocabulary)
    grid, merged_notes = _fill_merged(grid, sheet.merged, found[0] if found else None)
    return _table(path, shown, vocabulary, grid, chosen.name, None, notes + merged_notes, sheet.beyond)


def _cell_text(value):
    """A workbook cell as the text a CSV would hold; formulas without a value and error values stay as they are."""
    if isinstance(value, (Formula, ErrorValue)):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.isoformat(sep="T")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _number_text(value)
    return str(value)


def _number_text(number: Decimal) -> str:
    """A number as typed: Excel stores 0.1 + 0.2 as 0.30000000000000004 and shows 15 digits, and so do we."""
    if not number.is_finite() or abs(number.adjusted()) > 20:
        return str(number)
    if len(number.as_tuple().digits) > limits.MAX_NUMBER_DIGITS:
        number = round(number, limits.MAX_NUMBER_DIGITS - 1 - number.adjusted())
    text = format(number.normalize(), "f")
    return text


def _fill_merged(grid, merged, header_index):
    """A cell merged over several rows below the header (a zone written once for its rows) applies to each row."""
    if not merged or header_index is None:
        return grid, []
    header_row = grid[header_index][0]
    rows = dict(grid)
    notes = []
    for merge in merged:
        if merge.last_row <= merge.first_row or merge.first_row <= header_row:
            continue
        value = rows.get(merge.first_row, {}).get(merge.first_column)
        if value is None:
            continue
        for number in range(merge.first_row + 1, merge.last_row + 1):
            rows.setdefault(number, {})[merge.first_column] = value
        notes.append(f"rows {merge.first_row}–{merge.last_row}: the merged cell "
                     f"{_letter(merge.first_column)}{merge.first_row} ({value}) applies to each of them")
    return sorted(rows.items()), notes


# ---------------------------------------------------------------------------------------------
# The table: header row, columns, data rows
# ---------------------------------------------------------------------------------------------

def _header_key(title: str) -> str:
    """A header as compared: case, spaces, line breaks, full-width brackets and a required-mark * ignored."""
    return re.sub(r"\s+", "", norm(unicodedata.normalize("NFKC", title))).rstrip("*")


def _header_lookup(vocabulary: Vocabulary) -> dict[str, Column]:
    return {_header_key(h): c for h, c in vocabulary.by_header.items()}


def _column_of(key: str, lookup: dict[str, Column]) -> Column | None:
    """The column a header names: by a header it accepts, or — for a measure of a statistics table, whose header
    names its unit (税收（亿元）) — by the name before the unit. The unit itself is checked when the cells are
    converted; any other column's header must be one it accepts, whole (金额（万元） is not 金额（元）)."""
    column = lookup.get(key)
    if column is None:
        name, unit = split_unit(key)
        column = lookup.get(_header_key(name)) if unit is not None else None
        if column is not None and column.unit is None:
            return None
    return column


def _find_header(grid, vocabulary: Vocabulary) -> tuple[int, int] | None:
    """The header row: among the first rows, the first whose cells are mostly known headers, as (its index in
    `grid`, how many known headers it has)."""
    lookup = _header_lookup(vocabulary)
    for index, (_number, cells) in enumerate(grid[:limits.HEADER_SEARCH_ROWS]):
        texts = [v for v in cells.values() if isinstance(v, str)]
        known = sum(1 for t in texts if _column_of(_header_key(t), lookup) is not None or _header_key(t) in RUNNING_NUMBER)
        if known >= 2 and known * 2 >= len(cells):
            return index, known
    return None


def _kind_of(grid, vocabularies: tuple, *, found_only: bool = False):
    """The vocabulary whose columns the header row names most (the first on a tie, or when no header row is
    found, unless `found_only`)."""
    best, most = (None if found_only else vocabularies[0]), 0
    for vocabulary in vocabularies:
        found = _find_header(grid, vocabulary)
        if found is not None and found[1] > most:
            best, most = vocabulary, found[1]
    return best


def _table(path: Path, shown: str, vocabulary: Vocabulary, grid, sheet: str | None, encoding: str | None,
           notes: list, beyond: dict) -> Ledger:
    lookup = _header_lookup(vocabulary)
    found = _find_header(grid, vocabulary)
    header_index = found[0] if found else 0
    problems: list[LedgerError] = []
    draft = Ledger(path, shown, (), (), sheet=sheet, encoding=encoding)
    for number, cells in grid[:header_index]:
        words = " ".join(str(v) for v in cells.values())
        notes.append(f"row {number}: skipped what stands above the header row ({_shorten(words)})")
    header_row, header_cells = grid[header_index]
    columns: dict[int, str] = {}
    headers, letters = {}, {}
    unknown: list[str] = []
    for index, title in sorted(header_cells.items()):
        if not isinstance(title, str):
            problems.append(draft.problem(header_row, None, "a header cell holds a formula or an error value",
                                          "type the header as text", letter=_letter(index)))
            continue
        key = _header_key(title)
        column = _column_of(key, lookup)
        if column is None and key in RUNNING_NUMBER:
            continue
        if column is None:
            unknown.append(title.strip())
            problems.append(draft.problem(header_row, None, f"unknown column {title.strip()!r}",
                                          _unknown_header_hint(key, lookup, encoding, first=len(unknown) == 1,
                                                               table=vocabulary.table),
                                          letter=_letter(index)))
            continue
        if column.name in headers:
            problems.append(draft.problem(header_row, None, f"column {title.strip()!r} appears twice "
                                          f"(also as {headers[column.name]!r} in column {letters[column.name]})",
                                          "keep one column per field: delete or merge the other", letter=_letter(index)))
            continue
        if index > limits.MAX_COLUMNS:
            problems.append(draft.problem(header_row, None, f"the header row is wider than {limits.MAX_COLUMNS} columns",
                                          "keep the ledger's columns together at the left of the sheet", letter=_letter(index)))
            continue
        columns[index] = column.name
        headers[column.name] = title.strip()
        letters[column.name] = _letter(index)
    draft = Ledger(path, shown, (), (), headers, letters, sheet, encoding)
    width = max(header_cells) if header_cells else 0
    rows = []
    for number, cells in grid[header_index + 1:]:
        texts = [v for v in cells.values() if isinstance(v, str)]
        if _is_total(cells):
            notes.append(f"row {number}: skipped the total row ({_shorten(' '.join(texts))})")
            continue
        if len(cells) == 1 and texts and _is_note(texts[0]):
            notes.append(f"row {number}: skipped a note below the table ({_shorten(texts[0])})")
            continue
        extra = sorted(i for i in cells if i > width) + ([limits.MAX_COLUMNS + 1] * beyond.get(number, 0))
        if extra:
            problems.append(_extra_cells(draft, number, extra, width, header_cells, sheet))
        row_cells = {}
        for index, value in cells.items():
            name = columns.get(index)
            if name is None:
                continue
            text = _one_cell(draft, number, name, value, problems)
            if text:
                row_cells[name] = text
        if row_cells:
            rows.append(LedgerRow(number, row_cells))
    return Ledger(path, shown, tuple(columns.values()), tuple(rows), headers, letters, sheet, encoding,
                  tuple(notes), tuple(problems), tuple(unknown), header_row, vocabulary.table)


def _one_cell(ledger: Ledger, number: int, name: str, value, problems: list) -> str | None:
    if isinstance(value, Formula):
        problems.append(ledger.problem(number, name, f"the formula ={value.text} has no stored value",
                                       "open the workbook in Excel, WPS or LibreOffice and save it, so that the value is "
                                       "stored with the formula, or type the value instead of the formula"))
        return None
    if isinstance(value, ErrorValue):
        problems.append(ledger.problem(number, name, f"the cell shows the error {value.code}",
                                       "correct the formula, or type the value"))
        return None
    if len(value) > limits.MAX_CELL_CHARS:
        problems.append(ledger.problem(number, name, f"the cell holds {len(value):,} characters, more than a spreadsheet "
                                       f"cell may ({limits.MAX_CELL_CHARS:,})",
                                       "keep long texts in the proof material and write its file name in 佐证材料"))
        return None
    # a line break typed inside a cell (Alt+Enter) may arrive as U+2028/U+2029: keep it a line break
    return value.replace("\u2028", "\n").replace("\u2029", "\n").replace("\r\n", "\n").strip()


def _extra_cells(ledger: Ledger, number: int, extra: list[int], width: int, header_cells: dict, sheet) -> LedgerError:
    first = extra[0]
    last_header = header_cells.get(width, "")
    where = f"right of the last column ({_letter(width)}, {last_header})" if last_header else "right of the last column"
    if sheet is None:
        hint = ("a number with thousands separators, such as 1,500,000, is split into cells at its commas unless it is "
                "in quotes: write 1500000 without commas (or \"1,500,000\" in quotes); a comma inside a text cell needs "
                "quotes around the cell too (Excel adds them when it saves CSV)")
    else:
        hint = "delete the cells right of the table, or give their column a header"
    count = len(extra)
    return ledger.problem(number, None, f"{count} cell(s) {where} hold something; the row has more cells than the header",
                          hint, letter=_letter(first) if first <= limits.MAX_COLUMNS else None)


def _is_total(cells: dict) -> bool:
    first = next((v for _i, v in sorted(cells.items()) if isinstance(v, str) and v.strip()), "")
    key = re.sub(r"[\s:：]+", "", first).lower()
    return key in TOTAL_WORDS


_NOTE = re.compile(r"^(注\d*|说明|备注|填表说明|填报说明|notes?)\s*[:：.、]", re.IGNORECASE)


def _is_note(text: str) -> bool:
    return bool(_NOTE.match(text.strip()))


def _unknown_header_hint(key: str, lookup: dict[str, Column], encoding: str | None, *, first: bool,
                         table: str = "ledger") -> str:
    """Did you mean …: the known headers most like it (类别 → 类型), then, once per ledger, where the columns are listed."""
    scored = []
    name, unit = split_unit(key)
    for known, column in lookup.items():
        # a measure's header with a unit (税费（万元）) is compared by its name with the measures' names
        ratio = difflib.SequenceMatcher(None, name if unit and column.unit else key, known).ratio()
        if ratio >= 0.5:
            scored.append((ratio, len(_common_prefix(key, known)), known, column))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    seen, close = set(), []
    for _ratio, _prefix, known, column in scored:
        if column.name not in seen:
            seen.add(column.name)
            close.append(f"{known} ({column.name})")
        if len(close) == 2:
            break
    hint = f"did you mean {' or '.join(close)}?" if close else "no known column is like it."
    if first:
        hint += _COLUMNS_LISTED[table]
        if encoding == "big5":
            hint += ("; the file was read as Big5 (traditional Chinese), but headers and names are written in "
                     "simplified Chinese (开发区, 类型): save the file as CSV UTF-8 with those headers")
    return hint


_COLUMNS_LISTED = {
    "ledger": (" The columns and the headers they accept are listed in kb/ledgers/README.md (开发区, 年度, 类型, 举措, "
               "金额（元）, …); a column kept only for the office's own use must go, or become the one 备注 column"),
    "statistics": (" The columns of a statistics table and the headers they accept are listed in kb/ledgers/README.md "
                   "(地区, 年度, 税收（万元）, 用地面积（亩）, …); a column kept only for the office's own use must go, or "
                   "become the one 备注 column"),
}


def _common_prefix(a: str, b: str) -> str:
    out = []
    for x, y in zip(a, b):
        if x != y:
            break
        out.append(x)
    return "".join(out)


def _shorten(text: str, width: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
