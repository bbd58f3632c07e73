"""From a statistics table (统计表) to Data Cube observations: one per area and year, every figure converted exactly.

A statistics table has one row per area — a zone, or 全省 for the province its zones lie in — and year,
and one column per measure of the zone economy cube, headed with the unit the office keeps the figure
in (税收（亿元）). Each figure is converted to the unit its measure is recorded in (pkb:unitMeasure) by the
exact factor of the two units; between US dollars and yuan only with the exchange rate the row states
(汇率（元/美元）), never a guessed one. What was written, the unit, the factor and the rate are recorded
on the figure (pkb:FigureSource), so that `policykb explain` can name the table, row and column of every
figure a formula used.

As with evidence ledgers, every problem of the table is reported at once, in the table's own header
words, and a row with a problem becomes no observation. A figure left blank is left off the
observation: it was not reported, which is not 0.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from ..errors import LedgerError, Location
from ..kb.names import norm
from ..namespace import BASE, PKB, QB, bind_prefixes, curie
from .convert import BadCell, Converted, decimal_cell, ledger_id, number_text
from .read import Ledger
from .units import Conversion, Inexact, decimal_literal, exact, split_unit
from .units import convert as convert_unit
from .vocabulary import FIRST_YEAR, Column, StatisticsVocabulary

PROVINCE = object()  # an area cell naming the province of the table's zones (全省), resolved once they are known


@dataclass(frozen=True)
class _Figure:
    """One measure cell of a row: the number as written and as recorded, and the rate applied (if any)."""

    column: Column
    written: Decimal
    value: Decimal
    rate: Decimal | None


@dataclass
class _Row:
    number: int
    area: object  # a zone or province IRI, or PROVINCE
    year: int
    figures: list
    note: str | None


def convert(ledger: Ledger, vocabulary: StatisticsVocabulary, *, ledger_name: str, defaults: dict | None = None,
            this_year: int | None = None, sha256: str | None = None) -> Converted:
    """Observations for every good row of a statistics table, and a LedgerError for every bad header and cell."""
    defaults = {k: v for k, v in (defaults or {}).items() if v is not None and k == "year"}
    graph = Graph()
    bind_prefixes(graph)
    missing = [c for c in ("area", "year") if c not in ledger.columns and c not in defaults]
    if missing:
        said = () if ledger.unknown_headers else tuple(_missing_column(ledger, vocabulary, name) for name in missing)
        return Converted(graph, said, {})
    errors: list[LedgerError] = []
    conversions = _conversions(ledger, vocabulary, errors)
    if not any(vocabulary.columns[c].datatype == "measure" for c in ledger.columns) and not ledger.unknown_headers:
        errors.append(ledger.problem(ledger.header_row, None, "the table has no column of figures",
                                     f"add a column for each figure the table gives, headed with its unit: {_examples(vocabulary)}"))
    unreadable = {p.location.line for p in ledger.problems if p.location}  # reported by the reader already
    rows: list[_Row] = []
    for row in ledger.rows:
        if row.number not in unreadable:
            parsed = _row(ledger, vocabulary, row.number, {**defaults, **row.cells}, conversions,
                          this_year or date.today().year, errors)
            if parsed is not None:
                rows.append(parsed)
    rows = _provinces(ledger, vocabulary, rows, errors)
    rows = _one_per_area_and_year(ledger, vocabulary, rows, errors)
    return _graph(graph, ledger, vocabulary, rows, conversions, ledger_name, sha256, tuple(errors))


# ---------------------------------------------------------------------------------------------
# The header: every measure names a unit it can be converted from
# ---------------------------------------------------------------------------------------------

def _conversions(ledger: Ledger, vocabulary: StatisticsVocabulary, errors: list) -> dict[str, Conversion]:
    """Per measure column, the conversion from the unit its header names; a header without a unit, with an
    unknown one, or in another currency with no rate column is reported once (its cells are then not read)."""
    units = vocabulary.units
    found = {}
    for name in ledger.columns:
        column = vocabulary.columns[name]
        recorded = vocabulary.unit(column)
        if column.datatype != "measure" or recorded is None:
            continue
        header = ledger.headers[name]
        label, written_text = split_unit(header)
        same, by_rate = units.accepted(recorded)
        accepted = "、".join(u.label for u in same)
        if by_rate:
            accepted += f"; or {'、'.join(u.label for u in by_rate)} with the rate of each row in a {_rate_header(vocabulary)} column"
        hint_tail = f"units accepted for {label}: {accepted}"
        if written_text is None:
            errors.append(_at_header(ledger, name, f"the header {header!r} names no unit: {label} is recorded in {recorded.label}",
                                     f"write the unit the figures are in, in brackets after the name, e.g. {label}（{recorded.label}）; "
                                     + hint_tail))
            continue
        written = units.find(written_text)
        if written is None:
            errors.append(_at_header(ledger, name, f"unknown unit {written_text!r} in the header {header!r}",
                                     _close_unit(written_text, same + by_rate) + hint_tail))
            continue
        conversion = units.conversion(written, recorded)
        if conversion is None:
            errors.append(_at_header(ledger, name, f"{written.label} is not a unit of {label}, which is "
                                     f"{units.kind_name(recorded.kind)} recorded in {recorded.label}", hint_tail))
            continue
        try:
            exact(conversion.factor)
        except Inexact:
            errors.append(_at_header(ledger, name, f"figures in {written.label} do not convert exactly into "
                                     f"{recorded.label}, the unit {label} is recorded in", hint_tail))
            continue
        if conversion.rate and "rate" not in ledger.columns:
            errors.append(_at_header(
                ledger, name, f"{header} is in {units.kind_name(written.kind)}, but {label} is recorded in "
                f"{recorded.label} ({units.kind_name(recorded.kind)}), and the table states no exchange rate: a currency "
                "is never converted at a guessed rate",
                f"add a column {_rate_header(vocabulary)} giving each row's rate (yuan per US dollar in that year, e.g. "
                f"6.7261), or give the figures in {recorded.label}"))
            continue
        found[name] = conversion
    return found


def _rate_header(vocabulary: StatisticsVocabulary) -> str:
    return next((c.header for c in vocabulary.columns.values() if c.datatype == "rate"), "rate")


def _at_header(ledger: Ledger, column: str, message: str, hint: str) -> LedgerError:
    return ledger.problem(ledger.header_row, column, message, hint)


def _close_unit(text: str, units) -> str:
    close = difflib.get_close_matches(text, [u.label for u in units], n=2, cutoff=0.4)
    return f"did you mean {' or '.join(close)}? " if close else ""


def _examples(vocabulary: StatisticsVocabulary) -> str:
    shown = [f"{c.header}（{vocabulary.unit(c).label}）" for c in vocabulary.columns.values()
             if c.datatype == "measure" and vocabulary.unit(c) is not None][:3]
    return ", ".join(shown) + ", …"


def _missing_column(ledger: Ledger, vocabulary: StatisticsVocabulary, name: str) -> LedgerError:
    header = vocabulary.columns[name].header
    hint = (f"a statistics table needs a column {vocabulary.columns['area'].header} (the zone, or 全省 for the province) "
            f"and a column {vocabulary.columns['year'].header}: add a column headed {header}")
    if name == "year":
        hint += ", or give --year for a table of one year without a year column"
    return LedgerError(f"the table has no {header} ({name}) column", location=Location(ledger.name, ledger.header_row),
                       hint=hint)


# ---------------------------------------------------------------------------------------------
# The rows
# ---------------------------------------------------------------------------------------------

def _row(ledger: Ledger, vocabulary: StatisticsVocabulary, number: int, cells: dict, conversions: dict,
         this_year: int, errors: list) -> _Row | None:
    """One row's area, year and figures; None (its problems added to `errors`) when any cell is bad."""
    found: list[LedgerError] = []

    def bad(column: str, problem: BadCell) -> None:
        found.append(ledger.problem(number, column, problem.message, problem.hint))

    area = year = rate = None
    for required in ("area", "year"):
        if required not in cells:
            hint = ("write the zone's code or full name as in kb/zones/ and kb/sample/, or 全省 for the province's total"
                    if required == "area" else "write the year the figures are for, e.g. 2022")
            found.append(ledger.problem(number, required, "the cell is empty", hint))
    if "area" in cells:
        try:
            area = _area(cells["area"], vocabulary)
        except BadCell as problem:
            bad("area", problem)
    if "year" in cells:
        try:
            year = _year(cells["year"], this_year)
        except BadCell as problem:
            bad("year", problem)
    if "rate" in cells:
        try:
            rate = _rate(cells["rate"])
        except BadCell as problem:
            bad("rate", problem)
    figures = []
    for name, text in cells.items():
        column = vocabulary.columns[name]
        if column.datatype != "measure" or name not in conversions:
            continue
        if conversions[name].rate and "rate" in cells and rate is None:
            continue  # the rate cell is bad: its own message says so, and the row is refused
        try:
            figures.append(_figure(text, column, conversions[name], rate, vocabulary))
        except BadCell as problem:
            bad(name, problem)
    if found:
        errors.extend(found)
        return None
    return _Row(number, area, year, figures, cells.get("note"))


def _area(text: str, vocabulary: StatisticsVocabulary):
    zone, suggestions = vocabulary.zones().find(text)
    if zone is not None:
        return zone
    if norm(text) in vocabulary.province_words:
        return PROVINCE
    province = vocabulary.provinces.get(norm(text))
    if province is not None:
        return province
    if suggestions and any(":" in s for s in suggestions):
        raise BadCell(f"{text!r} names more than one zone: {', '.join(suggestions)}", "write the id of the zone you mean")
    close = f"did you mean {', '.join(repr(s) for s in suggestions)}? " if suggestions else ""
    words = "、".join(sorted(vocabulary.province_words))
    raise BadCell(f"unknown zone or province {text!r}",
                  f"{close}write the zone's code or full Chinese name as in kb/zones/ and kb/sample/, {words} for the "
                  "province the table's zones lie in, or the province's name (浙江省)")


def _year(text: str, this_year: int) -> int:
    cleaned = number_text(text, "the year", "2022")
    if not cleaned.isdigit():
        raise BadCell(f"{text!r} is not a year", "write the year in digits, e.g. 2022")
    year = int(cleaned)
    if not FIRST_YEAR <= year <= this_year:
        raise BadCell(f"year {year} is out of range", f"write a year from {FIRST_YEAR} to {this_year}, e.g. 2022")
    return year


def _number(text: str, what: str, example: str) -> Decimal:
    return decimal_cell(text, what, example, f"write {what} in digits, e.g. {example}", f"write {what}, not below 0")


def _rate(text: str) -> Decimal:
    rate = _number(text, "the rate in yuan per US dollar", "6.7261")
    # a yuan has never been worth a dollar or more: a rate below 1 is US dollars per yuan, written the other way round
    if rate < 1:
        raise BadCell(f"{text} yuan per US dollar: this looks like US dollars per yuan, the rate the other way round",
                      "write how many yuan one US dollar is worth, e.g. 6.7261, not how many US dollars one yuan is")
    return rate


def _figure(text: str, column: Column, conversion: Conversion, rate: Decimal | None,
            vocabulary: StatisticsVocabulary) -> _Figure:
    written = _number(text, f"the figure in {conversion.written.label}", "60000")
    if conversion.rate is None:
        return _Figure(column, written, convert_unit(written, conversion), None)
    if rate is None:
        raise BadCell(f"{text} {conversion.written.label} needs the row's exchange rate, and its "
                      f"{_rate_header(vocabulary)} is empty: a currency is never converted at a guessed rate",
                      f"write the rate of the row's year in {_rate_header(vocabulary)} (yuan per US dollar, e.g. 6.7261), "
                      f"or give the figure in {conversion.recorded.label}")
    try:
        value = convert_unit(written, conversion, rate)
    except Inexact:
        about = float(Fraction(written) * conversion.factor / Fraction(rate))
        raise BadCell(f"{text} {conversion.written.label} ÷ {rate} does not come out as an exact number of "
                      f"{conversion.recorded.label} (about {about:.4f}), and a figure is never rounded",
                      f"give the figure in {conversion.recorded.label} as reported, or check the rate") from None
    return _Figure(column, written, value, rate)


def _provinces(ledger: Ledger, vocabulary: StatisticsVocabulary, rows: list, errors: list) -> list:
    """Rows naming 全省 take the province the table's zones lie in; with no zone, or zones of several provinces,
    the row must name its province."""
    provinces = {vocabulary.province_of.get(r.area) for r in rows if r.area is not PROVINCE
                 and r.area not in vocabulary.provinces.values()}
    kept = []
    for row in rows:
        if row.area is PROVINCE:
            if len(provinces) != 1 or None in provinces:
                names = "、".join(sorted(vocabulary.kb.label(p) or curie(p) for p in provinces if p is not None))
                why = f"the table's zones lie in {names}" if names else "the table names no zone whose province is known"
                errors.append(ledger.problem(row.number, "area", f"{_cell(ledger, row.number, 'area')!r} stands for "
                                             f"the province of the table's zones, but {why}",
                                             "write the province's name instead, e.g. 浙江省"))
                continue
            row.area = next(iter(provinces))
        kept.append(row)
    return kept


def _cell(ledger: Ledger, number: int, column: str) -> str:
    return next((r.cells.get(column, "") for r in ledger.rows if r.number == number), "")


def _one_per_area_and_year(ledger: Ledger, vocabulary: StatisticsVocabulary, rows: list, errors: list) -> list:
    first: dict[tuple, int] = {}
    kept = []
    for row in rows:
        key = (row.area, row.year)
        if key in first:
            errors.append(ledger.problem(row.number, "area", f"{vocabulary.kb.label(row.area) or curie(row.area)} "
                                         f"{row.year} is on row {first[key]} too: a statistics table has one row per area "
                                         "and year", "keep one row for the area and year, with all its figures"))
            continue
        first[key] = row.number
        kept.append(row)
    return kept


# ---------------------------------------------------------------------------------------------
# The graph: the table as a data set, one observation per row, one source per figure
# ---------------------------------------------------------------------------------------------

def _graph(graph: Graph, ledger: Ledger, vocabulary: StatisticsVocabulary, rows: list, conversions: dict,
           ledger_name: str, sha256: str | None, errors: tuple) -> Converted:
    lid = ledger_id(Path(ledger_name))
    # a table with sample zones is sample data, its province rows included: their totals stand beside invented zones
    sample_table = any(r.area in vocabulary.sample_zones for r in rows)
    provinces = set(vocabulary.provinces.values())
    samples = [r.area in vocabulary.sample_zones or (sample_table and r.area in provinces) for r in rows]
    all_sample = bool(rows) and all(samples)
    table = URIRef(f"{BASE}{'sample/' if all_sample else ''}ledger/{quote(lid)}")
    graph.add((table, RDF.type, PKB.Ledger))
    graph.add((table, RDF.type, QB.DataSet))
    if vocabulary.structure is not None:
        graph.add((table, QB.structure, vocabulary.structure))
    graph.add((table, PKB.ledgerFile, Literal(ledger_name)))
    if sha256 is not None:
        graph.add((table, PKB.sha256, Literal(sha256)))
    if all_sample:
        graph.add((table, PKB.sampleData, Literal(True)))
    items: dict[URIRef, int] = {}
    for row, sample in zip(rows, samples):
        obs = URIRef(f"{BASE}{'sample/' if sample else ''}observation/{quote(lid)}/r{row.number}")
        graph.add((obs, RDF.type, QB.Observation))
        graph.add((obs, QB.dataSet, table))
        graph.add((obs, PKB.refArea, row.area))
        graph.add((obs, PKB.refYear, Literal(row.year, datatype=XSD.integer)))
        graph.add((obs, PKB.ledgerFile, Literal(ledger_name)))
        graph.add((obs, PKB.ledgerRow, Literal(row.number)))
        graph.add((obs, PKB.fromLedger, table))
        if row.note:
            graph.add((obs, RDFS.comment, Literal(row.note)))
        for figure in row.figures:
            _add_figure(graph, obs, figure, ledger, conversions[figure.column.name], sample)
        if sample:
            graph.add((obs, PKB.sampleData, Literal(True)))
        items[obs] = row.number
    return Converted(graph, errors, items, table)


def _add_figure(graph: Graph, obs: URIRef, figure: _Figure, ledger: Ledger, conversion: Conversion, sample: bool) -> None:
    prop = figure.column.prop
    graph.add((obs, prop, decimal_literal(figure.value)))
    source = URIRef(f"{obs}/{curie(prop).split(':', 1)[1]}")
    graph.add((obs, PKB.figureSource, source))
    graph.add((source, RDF.type, PKB.FigureSource))
    graph.add((source, PKB.figureOf, prop))
    graph.add((source, PKB.columnHeader, Literal(ledger.headers[figure.column.name])))
    if figure.column.name in ledger.letters:
        graph.add((source, PKB.columnLetter, Literal(ledger.letters[figure.column.name])))
    graph.add((source, PKB.valueAsWritten, decimal_literal(figure.written)))
    graph.add((source, PKB.unitAsWritten, conversion.written.iri))
    graph.add((source, PKB.conversionFactor, decimal_literal(exact(conversion.factor))))
    if figure.rate is not None:
        graph.add((source, PKB.exchangeRate, decimal_literal(figure.rate)))
    if sample:
        graph.add((source, PKB.sampleData, Literal(True)))
