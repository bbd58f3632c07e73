"""The size limits of a ledger, in one place: kb/ledgers/README.md states them to office staff.

Each limit sits well above what a real ledger needs (a zone keeps about 100 rows a year; a province of
100 zones about 11,000) and well below what would exhaust the memory or the patience of the machine,
so that a broken or hostile file is refused with a message instead of a traceback or an hour's wait.
"""

from __future__ import annotations

MAX_FILE_BYTES = 20 * 1024 * 1024  # a CSV or XLSX file on disk
MAX_ROWS = 20_000  # rows below the header (a 20,000-row import takes some 40 s and 0.8 GB)
MAX_COLUMNS = 200  # columns of the header row
MAX_CELL_CHARS = 32_767  # characters in one cell: the most an Excel cell holds
MAX_NUMBER_DIGITS = 15  # significant digits of a number: the most Excel keeps
MAX_PART_BYTES = 100 * 1024 * 1024  # one part of an XLSX (a sheet, the shared strings), unpacked
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # all the parts of an XLSX that are read, unpacked
MAX_ERRORS = 100  # problems listed in one run; the rest are counted
HEADER_SEARCH_ROWS = 10  # rows searched for the header row (title rows above it are skipped)


def size(count: int) -> str:
    """A byte count as people read it: 20 MB, 1,023 MB."""
    return f"{count / (1024 * 1024):,.0f} MB"
