"""Print rows as a table, CSV, TSV, Markdown or JSON: the output formats every listing command offers.

A table fits the terminal: when stdout is a terminal (or the COLUMNS environment variable gives a
width), long cells wrap inside their column, CJK characters counting two columns; `--wide` prints every
cell on one line however wide the table gets. Output that is not a terminal is never wrapped, so
`> file` keeps whole rows. TSV and Markdown are for pasting into spreadsheets and papers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

FORMATS = ("table", "csv", "tsv", "md", "json")
FOR_PEOPLE = ("table", "md")  # formats people read as they are: prefixed names, percentages, notes

_WIDE: ContextVar[bool] = ContextVar("wide", default=False)
_GAP = 2  # spaces between columns
_NARROWEST = 4  # a wrapped column keeps at least this many terminal columns (two CJK characters)
# a line may break after these characters (and between any two CJK characters)
_BREAK_AFTER = frozenset(" /-_.,;:、，；：。→）)]")


@contextmanager
def full_width(wide: bool) -> Iterator[None]:
    """While inside, tables are printed at full width (`--wide`) or fitted to the terminal."""
    token = _WIDE.set(bool(wide))
    try:
        yield
    finally:
        _WIDE.reset(token)


def output_width(stream) -> int | None:
    """The width a table must fit on `stream`: COLUMNS when set, else the terminal's; None for full width."""
    if _WIDE.get():
        return None
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return shutil.get_terminal_size().columns
    return None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(_cell(v) for v in value)
    return str(value)


def format_decimal(value: Decimal) -> str:
    """A decimal as people write points: 12, 0.5, 3.25 (no exponent, no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def table(rows: Sequence[dict], columns: Sequence[str], *, headers: Sequence[str] | None = None,
          width: int | None = None) -> str:
    """Rows as an aligned text table; with `width`, long cells wrap so that the table fits in it."""
    headers = list(headers or columns)
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    numeric = [bool(rows) and all(_is_number(r.get(c)) for r in rows if r.get(c) is not None) for c in columns]
    natural = [max([_width(h)] + [_width(line) for row in cells for line in row[i].split("\n")])
               for i, h in enumerate(headers)]
    widths = fit(natural, width, [_width(h) for h in headers]) if width else natural
    lines = _lines([_wrap(h, widths[i]) for i, h in enumerate(headers)], widths, [False] * len(widths))
    lines.append((" " * _GAP).join("-" * w for w in widths))
    for row in cells:
        lines.extend(_lines([_wrap(v, widths[i]) for i, v in enumerate(row)], widths, numeric))
    return "\n".join(lines)


def _lines(wrapped: list[list[str]], widths: list[int], right: list[bool]) -> list[str]:
    """One table row, whose cells were wrapped into several lines, as printed lines."""
    height = max((len(w) for w in wrapped), default=1)
    return [(" " * _GAP).join(_pad(cell[k] if k < len(cell) else "", widths[i], right[i])
                              for i, cell in enumerate(wrapped)).rstrip()
            for k in range(height)]


def fit(natural: Sequence[int], width: int, floor: Sequence[int] = ()) -> list[int]:
    """Column widths whose sum (with the gaps) fits `width`: narrow columns keep their natural width and
    the wide ones share what is left equally, none narrower than its `floor` (its header: column names
    are not broken) or _NARROWEST — so only a table of very many columns is still wider than `width`."""
    room = width - _GAP * (len(natural) - 1)
    if sum(natural) <= room:
        return list(natural)
    widths = list(natural)
    least = [min(n, max(_NARROWEST, floor[i] if i < len(floor) else 0)) for i, n in enumerate(natural)]
    left = sorted(range(len(natural)), key=lambda i: natural[i])
    while left:
        share = room // len(left)
        if natural[left[0]] <= share:  # the narrowest column left fits whole
            room -= natural[left[0]]
            left.pop(0)
            continue
        floored = [i for i in left if least[i] > share]
        if floored:  # columns that may not be cut to the share take their least width
            for i in floored:
                widths[i] = least[i]
                room -= least[i]
                left.remove(i)
            continue
        extra = room - share * len(left)
        for n, i in enumerate(sorted(left)):
            widths[i] = share + (1 if n < extra else 0)
        break
    return widths


def _wrap(text: str, width: int) -> list[str]:
    """Text broken into lines of at most `width` terminal columns: after a space or punctuation where
    possible, between CJK characters, and inside a word only when nothing else fits."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used, cut = "", 0, 0  # cut: where the line may break (0: nowhere yet)
        wrapped = False  # a continuation line does not start with the space it broke at
        for char in paragraph:
            size = _char_width(char)
            while line and used + size > width:
                head, line = (line[:cut], line[cut:]) if cut else (line, "")
                lines.append(head.rstrip())
                line, wrapped = line.lstrip(" "), True
                used, cut = _width(line), 0
            if wrapped and not line and char == " ":
                continue
            line += char
            used += size
            if char in _BREAK_AFTER or size == 2:
                cut = len(line)
        lines.append(line.rstrip())
    return lines or [""]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def dumps(value: Any, indent: int = 2) -> str:
    """JSON text in which Decimals keep their exact digits (3 × 0.2 prints as 0.6, never 0.6000000000000001)."""
    return _json(value, indent, 0)


def _json(value: Any, indent: int, depth: int) -> str:
    pad, inner = " " * (indent * depth), " " * (indent * (depth + 1))
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a JSON number")
        return repr(value)
    if value is None or isinstance(value, (bool, int, str)):
        return json.dumps(value, ensure_ascii=False)
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict
        value = asdict(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {_json(v, indent, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [f"{inner}{_json(v, indent, depth + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(str(value), ensure_ascii=False)


def to_csv(rows: Iterable[dict], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_cell(r.get(c)) for c in columns])
    return buffer.getvalue()


def to_tsv(rows: Iterable[dict], columns: Sequence[str]) -> str:
    """Tab-separated values with a header line, for pasting into a spreadsheet: a tab or line break
    inside a cell becomes a space, since TSV has no quoting."""
    def clean(text: str) -> str:
        return text.replace("\r\n", " ").replace("\t", " ").replace("\n", " ").replace("\r", " ")

    lines = ["\t".join(clean(c) for c in columns)]
    lines += ["\t".join(clean(_cell(r.get(c))) for c in columns) for r in rows]
    return "\n".join(lines) + "\n"


def to_markdown(rows: Sequence[dict], columns: Sequence[str], *, headers: Sequence[str] | None = None) -> str:
    """A Markdown (GitHub) pipe table: numeric columns aligned right, `|` escaped, line breaks as <br>."""
    def clean(text: str) -> str:
        text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
        return text.replace("\r\n", "<br>").replace("\n", "<br>").strip()

    numeric = [bool(rows) and all(_is_number(r.get(c)) for r in rows if r.get(c) is not None) for c in columns]
    lines = ["| " + " | ".join(clean(h) for h in (headers or columns)) + " |",
             "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"]
    lines += ["| " + " | ".join(clean(_cell(r.get(c))) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def emit(rows: Sequence[dict], columns: Sequence[str], fmt: str, *, headers: Sequence[str] | None = None,
         stream=None, json_value: Any = None) -> None:
    """Write rows in the chosen format to stdout (a table fitted to the terminal, see output_width)."""
    stream = stream or sys.stdout
    if fmt == "json":
        stream.write(dumps(json_value if json_value is not None else list(rows)) + "\n")
    elif fmt == "csv":
        stream.write(to_csv(rows, columns))
    elif fmt == "tsv":
        stream.write(to_tsv(rows, columns))
    elif fmt == "md":
        stream.write(to_markdown(rows, columns, headers=headers))
    else:
        stream.write(table(rows, columns, headers=headers, width=output_width(stream)) + "\n")
