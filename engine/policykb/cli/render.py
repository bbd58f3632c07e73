"""Print rows as a table, CSV or JSON: the three output formats every listing command offers."""

from __future__ import annotations

import csv
import io
import json
import sys
import unicodedata
from decimal import Decimal
from typing import Any, Iterable, Sequence

from ..spreadsheet import defuse

FORMATS = ("table", "csv", "json")


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
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def table(rows: Sequence[dict], columns: Sequence[str], *, headers: Sequence[str] | None = None) -> str:
    headers = list(headers or columns)
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    numeric = [all(_is_number(r.get(c)) for r in rows if r.get(c) is not None) and rows for c in columns]
    widths = [max([_width(h)] + [_width(row[i]) for row in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(_pad(h, widths[i], False) for i, h in enumerate(headers)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in cells:
        lines.append("  ".join(_pad(v, widths[i], bool(numeric[i])) for i, v in enumerate(row)).rstrip())
    return "\n".join(lines)


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
    """CSV with a header line; a cell a spreadsheet would run as a formula gets a leading apostrophe
    (spreadsheet.defuse: `=cmd|…` is written `'=cmd|…`, a number such as -5 stays a number)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([defuse(c) for c in columns])
    for r in rows:
        writer.writerow([defuse(_cell(r.get(c))) for c in columns])
    return buffer.getvalue()


def emit(rows: Sequence[dict], columns: Sequence[str], fmt: str, *, headers: Sequence[str] | None = None,
         stream=None, json_value: Any = None) -> None:
    """Write rows in the chosen format to stdout."""
    stream = stream or sys.stdout
    if fmt == "json":
        stream.write(dumps(json_value if json_value is not None else list(rows)) + "\n")
    elif fmt == "csv":
        stream.write(to_csv(rows, columns))
    else:
        stream.write(table(rows, columns, headers=headers) + "\n")
