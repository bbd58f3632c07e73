"""Blank templates: an evidence ledger (台账) and a statistics table (统计表), with Chinese headers, drop-down
lists and a sheet explaining every column.

A template's first sheet has the header row and, below it, drop-down lists (Excel data validation) for
the columns whose values come from a list — the kinds of evidence, the levels, the scopes, the
replication status and the fields of a ledger; the zones (and 全省) of a statistics table — so that a
clerk picks a value the import accepts instead of typing one. The lists live on a hidden sheet (a list
typed into the validation itself may hold only 255 characters); the 说明 sheet lists every column, the
headers it accepts and its values. A statistics table's measure headers carry the unit each measure is
recorded in (税收（万元）), which an office may change to the unit it keeps the figure in.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .vocabulary import StatisticsVocabulary, Vocabulary

ORDER = ["zone", "year", "kind", "measure", "field", "document", "unit", "content", "item", "level", "scope", "count",
         "amount", "date", "source", "rank", "previous_rank", "status", "reason", "detail", "partner", "quarter",
         "indicator", "self_score", "note"]
ROWS = 2000  # rows below the header that carry the drop-down lists


@dataclass(frozen=True)
class _Spec:
    """One column of a template: its header, its drop-down list or the numbers it takes, and its 说明 row."""

    header: str
    guide: tuple[str, str, str, str]  # 表头, 列, 也可写作, 取值
    choices: tuple[str, ...] = ()
    whole: tuple[int, int] | None = None  # whole numbers from … to …
    at_least: str | None = None  # decimals not below this
    error: str = ""  # what the validation says to a wrong entry


def write_template(target: Path, vocabulary: Vocabulary) -> None:
    """A blank ledger (.xlsx with drop-down lists and a sheet of codes, or .csv with the header row)."""
    specs = []
    for column in (vocabulary.columns[n] for n in ORDER if n in vocabulary.columns):
        choices = _choices(column, vocabulary)
        values = "、".join(f"{name} ({code})" for code, name in choices) if choices else _kind_of(column)
        others = ", ".join(a for a in (column.name, *column.aliases) if a != column.header)
        guide = (column.header, column.name, others, values)
        if choices:
            specs.append(_Spec(column.header, guide, tuple(name for _code, name in choices),
                               error=f"请从下拉列表中选择{column.header}（choose a value from the list）"))
        elif column.name in ("year", "count", "rank", "previous_rank", "quarter"):
            low, high = {"year": (2013, 2100), "quarter": (1, 4)}.get(column.name, (1, 100000))
            specs.append(_Spec(column.header, guide, whole=(low, high),
                               error=f"{column.header}: 请填写{low}–{high}的整数（a whole number）"))
        elif column.name == "amount":
            specs.append(_Spec(column.header, guide, at_least="0", error="金额以元为单位，填写数字，例如1500000（yuan, as digits）"))
        else:
            specs.append(_Spec(column.header, guide))
    _write(target, "台账", specs)


def write_statistics_template(target: Path, vocabulary: StatisticsVocabulary) -> None:
    """A blank statistics table: one row per area and year, each measure headed with the unit it is recorded in."""
    specs = []
    for column in vocabulary.ordered:
        others = ", ".join(a for a in (column.name, *column.aliases) if a != column.header)
        if column.datatype == "area":
            guide = (column.header, column.name, others, "联动创新区全称或代码 zone name or code; 全省 for the province's total")
            specs.append(_Spec(column.header, guide, tuple(vocabulary.area_choices()),
                               error=f"请从下拉列表中选择{column.header}（choose a zone, or 全省）"))
        elif column.datatype == "year":
            guide = (column.header, column.name, others, "整数 the year of the figures, e.g. 2022")
            specs.append(_Spec(column.header, guide, whole=(2013, 2100), error=f"{column.header}: 请填写年份（a year）"))
        elif column.datatype == "measure":
            unit = vocabulary.unit(column)
            same, by_rate = vocabulary.units.accepted(unit)
            units = "、".join(u.label for u in same) + (f"; {'、'.join(u.label for u in by_rate)} 须填汇率 (with a rate)"
                                                      if by_rate else "")
            header = f"{column.header}（{unit.label}）"
            guide = (header, column.name, others, f"数字 number, in the unit of the header; units 单位: {units}")
            specs.append(_Spec(header, guide, at_least="0", error=f"{header}: 请填写数字（a number in {unit.label}）"))
        elif column.datatype == "rate":
            guide = (column.header, column.name, others,
                     "元/美元 yuan per US dollar in the row's year, only where a column is in the other currency")
            specs.append(_Spec(column.header, guide, at_least="1", error=f"{column.header}: 每美元折合人民币元数（yuan per dollar）"))
        else:
            specs.append(_Spec(column.header, (column.header, column.name, others, "文字 text")))
    _write(target, "统计表", specs)


def _write(target: Path, title: str, specs: list[_Spec]) -> None:
    if target.suffix.lower() == ".csv":
        with open(target, "w", encoding="utf-8-sig", newline="") as out:  # with BOM: Excel then reads it as UTF-8
            csv.writer(out).writerow([s.header for s in specs])
        return
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append([s.header for s in specs])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    lists = book.create_sheet("lists")
    lists.sheet_state = "hidden"
    for index, spec in enumerate(specs, 1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, 2 * len(spec.header) + 2)
        common = dict(allow_blank=True, showErrorMessage=True, errorTitle=spec.header, error=spec.error)
        if spec.choices:
            list_column = get_column_letter(lists.max_column + 1 if lists["A1"].value is not None else 1)
            for row, name in enumerate(spec.choices, 1):
                lists[f"{list_column}{row}"] = name
            validation = DataValidation(type="list", formula1=f"lists!${list_column}$1:${list_column}${len(spec.choices)}",
                                        **common)
        elif spec.whole is not None:
            validation = DataValidation(type="whole", operator="between", formula1=str(spec.whole[0]),
                                        formula2=str(spec.whole[1]), **common)
        elif spec.at_least is not None:
            validation = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1=spec.at_least, **common)
        else:
            continue
        sheet.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}{ROWS + 1}")
    guide = book.create_sheet("说明")
    guide.append(["表头 header", "列 column", "也可写作 also accepted", "取值 values"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for spec in specs:
        guide.append(list(spec.guide))
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
