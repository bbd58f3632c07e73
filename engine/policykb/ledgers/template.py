"""A blank ledger template: the header row in Chinese, drop-down lists, and a sheet explaining every column.

The workbook's 台账 sheet has the header row (each column's pkb:ledgerHeader) and, below it, drop-down
lists (Excel data validation) for the columns whose values come from a list — the kinds of evidence,
the levels, the scopes, the replication status and the fields — so that a clerk picks a value the import
accepts instead of typing one. The lists live on a hidden sheet (a list typed into the validation itself
may hold only 255 characters); the 说明 sheet lists every column, the headers it accepts and its values.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .vocabulary import Vocabulary

ORDER = ["zone", "year", "kind", "measure", "field", "document", "unit", "content", "item", "level", "scope", "count",
         "amount", "date", "source", "rank", "previous_rank", "status", "reason", "detail", "partner", "quarter",
         "indicator", "self_score", "note"]
ROWS = 2000  # rows below the header that carry the drop-down lists


def write_template(target: Path, vocabulary: Vocabulary) -> None:
    """A blank ledger (.xlsx with drop-down lists and a sheet of codes, or .csv with the header row)."""
    columns = [vocabulary.columns[n] for n in ORDER if n in vocabulary.columns]
    if target.suffix.lower() == ".csv":
        with open(target, "w", encoding="utf-8-sig", newline="") as out:  # with BOM: Excel then reads it as UTF-8
            csv.writer(out).writerow([c.header for c in columns])
        return
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append([c.header for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    lists = book.create_sheet("lists")
    lists.sheet_state = "hidden"
    for index, column in enumerate(columns, 1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, 2 * len(column.header) + 2)
        choices = _choices(column, vocabulary)
        if choices:
            list_column = get_column_letter(lists.max_column + 1 if lists["A1"].value is not None else 1)
            for row, (_code, name) in enumerate(choices, 1):
                lists[f"{list_column}{row}"] = name
            validation = DataValidation(
                type="list", formula1=f"lists!${list_column}$1:${list_column}${len(choices)}", allow_blank=True,
                showErrorMessage=True, errorTitle=column.header,
                error=f"请从下拉列表中选择{column.header}（choose a value from the list）")
        elif column.name in ("year", "count", "rank", "previous_rank", "quarter"):
            low, high = {"year": (2013, 2100), "quarter": (1, 4)}.get(column.name, (1, 100000))
            validation = DataValidation(type="whole", operator="between", formula1=str(low), formula2=str(high),
                                        allow_blank=True, showErrorMessage=True, errorTitle=column.header,
                                        error=f"{column.header}: 请填写{low}–{high}的整数（a whole number）")
        elif column.name == "amount":
            validation = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                        showErrorMessage=True, errorTitle=column.header,
                                        error="金额以元为单位，填写数字，例如1500000（yuan, as digits）")
        else:
            continue
        sheet.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}{ROWS + 1}")
    guide = book.create_sheet("说明")
    guide.append(["表头 header", "列 column", "也可写作 also accepted", "取值 values"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for column in columns:
        choices = _choices(column, vocabulary)
        values = "、".join(f"{name} ({code})" for code, name in choices) if choices else _kind_of(column)
        others = ", ".join(a for a in (column.name, *column.aliases) if a != column.header)
        guide.append([column.header, column.name, others, values])
    for letter, width in zip("ABCD", (16, 16, 40, 100)):
        guide.column_dimensions[letter].width = width
    book.save(target)


def _choices(column, vocabulary: Vocabulary) -> list[tuple[str, str]]:
    if column.datatype == "kind":
        return vocabulary.kind_choices()
    if column.datatype == "concept":
        return vocabulary.concept_choices(column.scheme)
    return []


def _kind_of(column) -> str:
    return {"integer": "整数 whole number", "decimal": "数字 number", "date": "日期 YYYY-MM-DD",
            "string": "文字 text", "zone": "开发区代码或全称 zone code or full name",
            "measure": "举措编号或全称 measure code or full name", "document": "文号 document number",
            "unit": "单位全称或简称 unit name"}.get(column.datatype, column.datatype)
