"""Cells of CSV and TSV output made safe to open in a spreadsheet (CSV injection, OWASP).

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula, and one that starts with a
tab or carriage return may be read as one once the spreadsheet trims it. A ledger cell such as
`=cmd|' /C calc'!A0` comes back in query results, so every CSV/TSV writer passes its cells through
`defuse`, which puts an apostrophe before such a cell: the spreadsheet then shows the text as typed,
apostrophe hidden.

A plain number (`-5`, `+3`, `-0.25`, `1e6`) is left alone: it cannot call anything, and a spreadsheet
must still read it as a number. JSON and XML output carry every value exactly as stored.
"""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def defuse(text: str) -> str:
    """The cell as a spreadsheet shows it without running it: `'=…` for a formula-looking cell."""
    if text.startswith(TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text
