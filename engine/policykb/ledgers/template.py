"""A blank ledger template: the header row, and a sheet of the codes each column accepts."""

from __future__ import annotations

import csv
from pathlib import Path

from .vocabulary import Vocabulary


def write_template(target: Path, vocabulary: Vocabulary) -> None:
    """A blank ledger: the header row in Chinese and English, and a sheet of the allowed codes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    order = ["zone", "year", "kind", "measure", "field", "document", "unit", "content", "item", "level", "scope", "count", "amount", "date", "source",
             "rank", "previous_rank", "status", "reason", "detail", "partner", "quarter", "indicator", "self_score", "note"]
    columns = [vocabulary.columns[n] for n in order if n in vocabulary.columns]
    if target.suffix.lower() == ".csv":
        with open(target, "w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerow([c.name for c in columns])
        return
    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append([c.name for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    codes = book.create_sheet("codes")
    codes.append(["column", "accepted headers", "values"])
    for column in columns:
        if column.datatype == "kind":
            values = ", ".join(vocabulary.kind_codes())
        elif column.datatype == "concept":
            values = ", ".join(vocabulary.concept_codes(column.scheme))
        else:
            values = column.datatype
        codes.append([column.name, ", ".join(column.aliases), values])
    book.save(target)
