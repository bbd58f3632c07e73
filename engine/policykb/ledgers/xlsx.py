"""Read the cells of an XLSX workbook safely: sizes checked before anything is unpacked, rows streamed.

An .xlsx file is a zip of XML parts. Before a part is parsed, the unpacked size its zip directory states
is checked against the limits (a small file whose sheet inflates to a gigabyte is refused at once; the
zip reader never unpacks more than the stated size). Sheets are parsed as a stream of rows, ignoring
the `<dimension>` a sheet claims (A1:XFD1048576 would otherwise mean a billion empty cells), and only
the cells that hold something are kept. A formula cell without a stored value, an error value
(#REF!) and a date are kept as what they are, so that the ledger reader can name them.

openpyxl's helpers decide which number formats are dates and turn Excel's serial numbers into dates;
the parsing itself is done here because openpyxl's read-only mode cannot tell an empty cell from a
formula whose value was never stored.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterator
from xml.etree import ElementTree

from ..errors import LedgerError, Location
from . import limits

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a Compound File: Excel 97–2003, or an encrypted OOXML file
# number formats that are dates by their id alone: the standard ones and the East Asian ones (27–36,
# 50–58: yyyy"年"m"月"d"日" and the like, which Chinese Excel writes)
DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])


@dataclass(frozen=True)
class Formula:
    """A formula cell whose value was never stored (as openpyxl and pandas write formulas)."""

    text: str


@dataclass(frozen=True)
class ErrorValue:
    """A cell showing an Excel error such as #REF! or #VALUE!."""

    code: str


@dataclass(frozen=True)
class SheetInfo:
    name: str
    part: str
    hidden: bool


@dataclass(frozen=True)
class Merge:
    """A merged range, 1-based and inclusive."""

    first_row: int
    first_column: int
    last_row: int
    last_column: int


@dataclass
class SheetRows:
    """The rows of a sheet that hold anything: (row number, {column number: value}), and its merged ranges."""

    rows: list
    merged: list
    beyond: dict  # row number → how many cells hold something past the last column kept


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element, name: str) -> str | None:
    """An attribute by its local name, whatever its namespace (transitional and strict OOXML differ)."""
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _text_of(element) -> str:
    """The text of a string item (<si> or <is>): its <t>, or the <t> of its rich-text runs, without phonetic guides."""
    parts = []
    for child in element:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), "".join(parts))


def _column_number(reference: str) -> int:
    number = 0
    for char in reference:
        if not char.isalpha():
            break
        number = number * 26 + (ord(char.upper()) - 64)
    return number


def _row_number(reference: str) -> int | None:
    digits = "".join(c for c in reference if c.isdigit())
    return int(digits) if digits else None


class Workbook:
    """An XLSX file opened for reading, its sheets listed; raises LedgerError for anything that is not one."""

    def __init__(self, path: Path, shown: str):
        self.path = Path(path)
        self.shown = shown
        self._unpacked = 0
        self._check_kind()
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise self._damaged(exc) from None
        try:
            self._read_structure()
        except LedgerError:
            self.zip.close()
            raise
        except (ElementTree.ParseError, KeyError, ValueError, IndexError, zipfile.BadZipFile, zlib.error,
                EOFError, RuntimeError, NotImplementedError) as exc:
            self.zip.close()
            raise self._damaged(exc) from None

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> "Workbook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what kind of file it is ------------------------------------------------------------------

    def _check_kind(self) -> None:
        with open(self.path, "rb") as handle:
            head = handle.read(8)
            if head == OLE_MAGIC:
                # An encrypted .xlsx is a Compound File holding an "EncryptedPackage" stream; an .xls holds "Workbook"
                data = head + handle.read(limits.MAX_FILE_BYTES)
                if "EncryptedPackage".encode("utf-16-le") in data:
                    raise LedgerError(
                        "the workbook is protected by a password, so it cannot be read",
                        location=Location(self.shown),
                        hint="open it in Excel, remove the password (File → Info → Protect Workbook → Encrypt with "
                             "Password, clear it; in WPS or LibreOffice: Save As without a password) and save it as .xlsx")
                raise LedgerError(
                    "this is an old Excel 97–2003 workbook (.xls), not an .xlsx workbook",
                    location=Location(self.shown),
                    hint="open it in Excel, WPS or LibreOffice and save it as Excel Workbook (.xlsx), or as CSV UTF-8")
            if head[:2] != b"PK":
                looks_like_text = head and all(32 <= b < 127 or b in (9, 10, 13) or b >= 0x80 for b in head)
                raise LedgerError(
                    "this is not an .xlsx workbook" + (" (it looks like text, e.g. CSV)" if looks_like_text else ""),
                    location=Location(self.shown),
                    hint="open it in Excel, WPS or LibreOffice and save it as Excel Workbook (.xlsx)"
                         + ("; or, if it is CSV text, name it .csv" if looks_like_text else ""))

    def _damaged(self, exc: Exception) -> LedgerError:
        why = str(exc) or type(exc).__name__
        return LedgerError(f"the workbook cannot be read: it is damaged or not an Excel workbook ({why})",
                           location=Location(self.shown),
                           hint="open it in Excel, WPS or LibreOffice and save it again as Excel Workbook (.xlsx)")

    # -- parts ------------------------------------------------------------------------------------

    def _open(self, part: str):
        """A part of the zip, after checking the unpacked size its directory states."""
        info = self.zip.getinfo(part)
        if info.file_size > limits.MAX_PART_BYTES or self._unpacked + info.file_size > limits.MAX_UNPACKED_BYTES:
            raise LedgerError(
                f"the workbook is too large to read: its part {part} unpacks to {limits.size(info.file_size)} "
                f"(the limit is {limits.size(limits.MAX_PART_BYTES)} a part, {limits.size(limits.MAX_UNPACKED_BYTES)} in all)",
                location=Location(self.shown),
                hint=f"a ledger keeps one row per evidence item and at most {limits.MAX_ROWS:,} rows: split it into "
                     "several ledgers, or delete what lies outside the table (images, other sheets)")
        self._unpacked += info.file_size
        return self.zip.open(info)

    def _xml(self, part: str):
        with self._open(part) as handle:
            return ElementTree.parse(handle).getroot()

    def _has(self, part: str) -> bool:
        try:
            self.zip.getinfo(part)
            return True
        except KeyError:
            return False

    def _read_structure(self) -> None:
        names = set(self.zip.namelist())
        main = "xl/workbook.xml"
        if "_rels/.rels" in names:
            for rel in self._xml("_rels/.rels"):
                if (_attr(rel, "Type") or "").endswith("/officeDocument"):
                    main = (_attr(rel, "Target") or main).lstrip("/")
        if main not in names:
            raise LedgerError("this file is a zip archive but not an Excel workbook (it has no workbook part)",
                              location=Location(self.shown),
                              hint="open it in Excel, WPS or LibreOffice and save it as Excel Workbook (.xlsx)")
        folder = posixpath.dirname(main)
        rels_part = posixpath.join(folder, "_rels", posixpath.basename(main) + ".rels")
        targets = {}
        if rels_part in names:
            for rel in self._xml(rels_part):
                target = _attr(rel, "Target") or ""
                targets[_attr(rel, "Id")] = (target.lstrip("/") if target.startswith("/")
                                             else posixpath.normpath(posixpath.join(folder, target)))
                if (_attr(rel, "Type") or "").endswith("/sharedStrings"):
                    self._strings_part = targets[_attr(rel, "Id")]
                if (_attr(rel, "Type") or "").endswith("/styles"):
                    self._styles_part = targets[_attr(rel, "Id")]
        workbook = self._xml(main)
        self.date1904 = False
        self.sheets: list[SheetInfo] = []
        for element in workbook.iter():
            tag = _local(element.tag)
            if tag == "workbookPr":
                self.date1904 = (_attr(element, "date1904") or "").lower() in ("1", "true")
            elif tag == "sheet":
                part = targets.get(_attr(element, "id"))
                if part and part in names and "worksheets/" in part:
                    self.sheets.append(SheetInfo(_attr(element, "name") or part, part,
                                                 (_attr(element, "state") or "visible") != "visible"))
        self._strings: list[str] | None = None
        self._dates: frozenset[int] | None = None

    @property
    def shared_strings(self) -> list[str]:
        if self._strings is None:
            self._strings = []
            part = getattr(self, "_strings_part", "xl/sharedStrings.xml")
            if self._has(part):
                with self._open(part) as handle:
                    for _event, element in ElementTree.iterparse(handle):
                        if _local(element.tag) == "si":
                            self._strings.append(_text_of(element))
                            element.clear()
        return self._strings

    @property
    def date_styles(self) -> frozenset[int]:
        """The style numbers (the `s` of a cell) whose number format shows a date or a time."""
        if self._dates is None:
            from openpyxl.styles.numbers import is_date_format

            part = getattr(self, "_styles_part", "xl/styles.xml")
            found = set()
            if self._has(part):
                styles = self._xml(part)
                custom = {}
                for element in styles.iter():
                    if _local(element.tag) == "numFmt":
                        custom[int(_attr(element, "numFmtId") or -1)] = _attr(element, "formatCode") or ""
                for block in styles:
                    if _local(block.tag) != "cellXfs":
                        continue
                    for index, xf in enumerate(x for x in block if _local(x.tag) == "xf"):
                        fmt = int(_attr(xf, "numFmtId") or 0)
                        if fmt in custom:
                            if is_date_format(custom[fmt]):
                                found.add(index)
                        elif fmt in DATE_FORMAT_IDS:
                            found.add(index)
            self._dates = frozenset(found)
        return self._dates

    # -- sheets -----------------------------------------------------------------------------------

    def rows(self, sheet: SheetInfo, *, stop_after: int | None = None, max_columns: int = limits.MAX_COLUMNS) -> SheetRows:
        """The rows of `sheet` that hold anything, up to `stop_after` rows (all, and the merged ranges, when None)."""
        try:
            return self._rows(sheet, stop_after, max_columns)
        except LedgerError:
            raise
        except (ElementTree.ParseError, KeyError, ValueError, IndexError, zipfile.BadZipFile, zlib.error,
                EOFError, RuntimeError, NotImplementedError) as exc:
            raise self._damaged(exc) from None

    def _rows(self, sheet: SheetInfo, stop_after: int | None, max_columns: int) -> SheetRows:
        result = SheetRows([], [], {})
        strings, dates = None, self.date_styles
        row_number = 0
        with self._open(sheet.part) as handle:
            parents = []
            for event, element in ElementTree.iterparse(handle, events=("start", "end")):
                tag = _local(element.tag)
                if event == "start":
                    parents.append(element)
                    continue
                parents.pop()
                if tag == "row":
                    row_number = int(_attr(element, "r") or row_number + 1)
                    cells, beyond, column = {}, 0, 0
                    for cell in element:
                        if _local(cell.tag) != "c":
                            continue
                        reference = _attr(cell, "r")
                        column = _column_number(reference) if reference else column + 1
                        if strings is None and _attr(cell, "t") == "s":
                            strings = self.shared_strings
                        value = self._value(cell, strings, dates)
                        if value is None or value == "":
                            continue
                        if column > max_columns:
                            beyond += 1
                        else:
                            cells[column] = value
                    if cells:
                        result.rows.append((row_number, cells))
                    if beyond:
                        result.beyond[row_number] = beyond
                    if parents:
                        parents[-1].remove(element)  # keep memory flat: the row is done with
                    if len(result.rows) > limits.MAX_ROWS + limits.HEADER_SEARCH_ROWS:
                        raise LedgerError(
                            f"sheet {sheet.name} has more than {limits.MAX_ROWS:,} rows",
                            location=Location(self.shown),
                            hint="split the ledger into several files (one per zone and year is best)")
                    if stop_after is not None and len(result.rows) >= stop_after:
                        return result
                elif tag == "mergeCell":
                    first, _, last = (_attr(element, "ref") or "").partition(":")
                    if first and last:
                        result.merged.append(Merge(_row_number(first) or 0, _column_number(first),
                                                   _row_number(last) or 0, _column_number(last)))
        return result

    def _value(self, cell, strings, dates):
        kind = _attr(cell, "t") or "n"
        raw, formula, inline = None, None, None
        for child in cell:
            tag = _local(child.tag)
            if tag == "v":
                raw = child.text
            elif tag == "f":
                formula = child.text or ""
            elif tag == "is":
                inline = child
        if kind == "inlineStr":
            return _text_of(inline) if inline is not None else None
        if raw is None or raw == "":
            return Formula(formula) if formula is not None else None
        if kind == "s":
            return strings[int(raw)]
        if kind == "str":
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "e":
            return ErrorValue(raw)
        if kind == "d":
            try:
                return datetime.fromisoformat(raw.rstrip("Z"))
            except ValueError:
                return raw
        try:
            number = Decimal(raw)
        except InvalidOperation:
            return raw
        style = int(_attr(cell, "s") or 0)
        if style in dates and number.is_finite() and 0 <= number < 2958466:  # 9999-12-31
            return _excel_date(float(number), self.date1904)
        return number


def _excel_date(serial: float, date1904: bool):
    """An Excel serial number as a date, a date and time, or a time of day (rounded to the second)."""
    from openpyxl.utils.datetime import (
        CALENDAR_MAC_1904,
        CALENDAR_WINDOWS_1900,
        from_excel,
    )

    value = from_excel(serial, CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900)
    if isinstance(value, datetime):
        value = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
        return value.date() if value.time() == time() else value
    if isinstance(value, time):
        return value.replace(microsecond=0)
    return value if isinstance(value, date) else str(value)


def sheets_in_order(book: Workbook, preferred: tuple[str, ...]) -> Iterator[SheetInfo]:
    """The visible sheets, those named like a ledger (台账, ledger) first, then the others in workbook order."""
    visible = [s for s in book.sheets if not s.hidden]
    named = [s for s in visible if s.name.strip().lower() in preferred]
    yield from named
    yield from (s for s in visible if s not in named)
