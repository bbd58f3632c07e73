"""From ledger rows to RDF evidence: every cell converted to a term of its column's type.

Every bad cell of the ledger is reported, not only the first, each naming the row and the header as the
office typed it; a row with a bad cell becomes no evidence. Numbers are read strictly (a comma only
separates thousands, and a number has at most the 15 digits Excel keeps), so that nothing is stored as
a different value than the office wrote.

A column whose property has a pkb:measureProperty repeats a fact of the row's measure (the Zhejiang
table's 领域, 发布文件, 责任单位, 主要内容, and a replication row's 范围): it is checked against what the
knowledge base says of the measure, and recorded on the evidence only where the knowledge base says
nothing — as the ledger's claim, which `policykb validate` lists.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ..errors import LedgerError, LedgerErrors, Location
from ..kb.names import norm
from ..namespace import BASE, PKB, bind_prefixes, curie
from . import limits
from .read import Ledger
from .vocabulary import FIRST_YEAR, REQUIRED, Column, Vocabulary

_NUMBER = """
PREFIX eli: <http://data.europa.eu/eli/ontology#>
SELECT ?number WHERE { ?thing eli:id_local ?number }"""


@dataclass(frozen=True)
class Converted:
    """A ledger's evidence graph and every problem met on the way; rows with a problem are left out."""

    graph: Graph
    errors: tuple[LedgerError, ...]
    rows: dict  # evidence item IRI → ledger row number
    ledger: URIRef | None = None  # the pkb:Ledger resource, when a digest was given


def ledger_id(path: Path) -> str:
    """The id of a ledger: its file name without extension, safe for IRIs and file names."""
    stem = re.sub(r"[^\w\-]+", "-", path.stem, flags=re.UNICODE).strip("-")
    return stem or "ledger"


def to_graph(ledger: Ledger, vocabulary: Vocabulary, *, ledger_name: str, defaults: dict | None = None,
             this_year: int | None = None, sha256: str | None = None) -> Graph:
    """Evidence triples for every row; raises LedgerErrors listing every bad cell."""
    converted = convert(ledger, vocabulary, ledger_name=ledger_name, defaults=defaults, this_year=this_year,
                        sha256=sha256)
    errors = list(ledger.problems) + list(converted.errors)
    if errors:
        raise LedgerErrors(errors)
    return converted.graph


def convert(ledger: Ledger, vocabulary: Vocabulary, *, ledger_name: str, defaults: dict | None = None,
            this_year: int | None = None, sha256: str | None = None) -> Converted:
    """Evidence for every good row of `ledger`, and a LedgerError for every bad cell.

    With `sha256` (the digest of the ledger file's bytes), the graph also holds the pkb:Ledger resource
    (its file and digest) that every item points to with pkb:fromLedger.
    """
    defaults = {k: v for k, v in (defaults or {}).items() if v is not None}
    graph = Graph()
    bind_prefixes(graph)
    missing = [c for c in REQUIRED if c not in ledger.columns and c not in defaults]
    if missing:
        # an unknown header is most likely the missing column misspelt: its message says so already
        said = () if ledger.unknown_headers else tuple(_missing_column(ledger, vocabulary, name) for name in missing)
        return Converted(graph, said, {})
    unreadable = {p.location.line for p in ledger.problems if p.location}  # reported by the reader already
    this_year = this_year or date.today().year
    lid = ledger_id(Path(ledger_name))
    errors: list[LedgerError] = []
    rows: dict[URIRef, int] = {}
    sample = []
    for row in ledger.rows:
        if row.number in unreadable:
            continue
        cells = {**defaults, **row.cells}
        row_errors: list[LedgerError] = []
        for required in REQUIRED:
            if required not in cells:
                row_errors.append(ledger.problem(row.number, required, "the cell is empty", _EMPTY_HINTS[required](vocabulary)))
        values = {}
        for name, text in cells.items():
            column = vocabulary.columns[name]
            try:
                values[name] = _convert(text, column, vocabulary, ledger, this_year)
            except BadCell as bad:
                row_errors.append(ledger.problem(row.number, name, bad.message, bad.hint))
        if not row_errors:
            values = _agreeing_with_measure(values, cells, vocabulary, ledger, row.number, row_errors)
        if row_errors:
            errors.extend(row_errors)
            continue
        zone = values["zone"]
        is_sample = zone in vocabulary.sample_zones
        sample.append(is_sample)
        base = BASE + ("sample/" if is_sample else "")
        item = URIRef(f"{base}evidence/{quote(lid)}/r{row.number}")
        for name, value in values.items():
            for one in value if isinstance(value, tuple) else (value,):
                graph.add((item, vocabulary.columns[name].prop, one))
        graph.add((item, PKB.ledgerFile, Literal(ledger_name)))
        graph.add((item, PKB.ledgerRow, Literal(row.number)))
        if is_sample:
            graph.add((item, PKB.sampleData, Literal(True)))
        rows[item] = row.number
    resource = None
    if sha256 is not None:
        all_sample = bool(sample) and all(sample)
        resource = URIRef(f"{BASE}{'sample/' if all_sample else ''}ledger/{quote(lid)}")
        graph.add((resource, RDF.type, PKB.Ledger))
        graph.add((resource, PKB.ledgerFile, Literal(ledger_name)))
        graph.add((resource, PKB.sha256, Literal(sha256)))
        if all_sample:
            graph.add((resource, PKB.sampleData, Literal(True)))
        for item in rows:
            graph.add((item, PKB.fromLedger, resource))
    return Converted(graph, tuple(errors), rows, resource)


def _missing_column(ledger: Ledger, vocabulary: Vocabulary, name: str) -> LedgerError:
    header = vocabulary.columns[name].header
    hint = f"every ledger needs the columns 开发区, 年度 and 类型 (zone, year, kind): add a column headed {header}"
    if name == "year":
        hint += ", or give --year for a table without a year column (the Zhejiang table)"
    if name == "kind":
        hint += ", or give --kind for a table whose rows are all of one kind (the Zhejiang table: --kind replication)"
    return LedgerError(f"the ledger has no {header} ({name}) column", location=Location(ledger.name, 1), hint=hint)


_EMPTY_HINTS = {
    "zone": lambda v: ("write the zone's code or its full name as in kb/zones/ and kb/sample/ on every row (a zone cell "
                       "merged over several rows is only read that way from an .xlsx workbook, not from CSV)"),
    "year": lambda v: "write the year the item belongs to, e.g. 2021",
    "kind": lambda v: "write the kind of the row, e.g. 复制推广 or 体制机制 (every kind is listed in kb/ledgers/README.md)",
}


class BadCell(Exception):
    """One cell that cannot be converted: what is wrong and what to write instead."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")
_PLAIN = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def number_text(text: str, what: str, example: str) -> str:
    """A number cell as digits: full-width forms made half-width, thousands separators removed.

    A comma is taken as a thousands separator only where it separates groups of three digits
    (1,500,000); anything else (1,5 — a decimal comma, or a typo) is refused rather than read as 15.
    """
    cleaned = unicodedata.normalize("NFKC", text).replace(" ", "")
    if "," in cleaned:
        if not _THOUSANDS.fullmatch(cleaned):
            raise BadCell(f"{text!r} is not a number: a comma may only separate thousands, as in 1,500,000",
                       f"write {what} with a decimal point, e.g. {example}; or, if the comma separates thousands, "
                       "put it between every three digits")
        cleaned = cleaned.replace(",", "")
    if not _PLAIN.fullmatch(cleaned):
        return ""
    digits = cleaned.lstrip("+-").replace(".", "").lstrip("0")
    if len(digits) > limits.MAX_NUMBER_DIGITS:
        raise BadCell(f"{_cut(text)} has {len(digits):,} digits, more than a number may ({limits.MAX_NUMBER_DIGITS}, as in Excel)",
                   f"write {what} as the spreadsheet shows it, e.g. {example}")
    return cleaned


def decimal_cell(text: str, what: str, example: str, hint: str, negative_hint: str) -> Decimal:
    """A cell that holds a number not below 0, read strictly (see number_text); BadCell otherwise."""
    cleaned = number_text(text, what, example)
    try:
        number = Decimal(cleaned) if cleaned else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise BadCell(f"{_cut(text)!r} is not a number", hint)
    if number < 0:
        raise BadCell(f"{text} is negative", negative_hint)
    return number


def _convert(text: str, column: Column, vocabulary: Vocabulary, ledger: Ledger, this_year: int):
    kind = column.datatype
    if kind == "kind":
        cls = vocabulary.kinds.get(norm(text))
        if cls is None:
            close = difflib.get_close_matches(norm(text), list(vocabulary.kinds), n=1, cutoff=0.5)
            names = "、".join(f"{name} ({code})" for code, name in vocabulary.kind_choices())
            raise BadCell(f"unknown kind {text!r}",
                       (f"did you mean {close[0]}? " if close else "") + f"write one of the kinds, by its Chinese name "
                       f"or code: {names} (other accepted names are in kb/ledgers/README.md)")
        return cls
    if kind in _DESCRIBED_IN:
        # a unit cell may name several units: 省商务厅、杭州海关
        names = [n.strip() for n in re.split(r"[、,，;；]", text) if n.strip()] if kind == "unit" else [text]
        found = []
        for name in names:
            hit, suggestions = vocabulary.index(kind).find(name)
            if hit is None:
                if suggestions and any(":" in s for s in suggestions):
                    raise BadCell(f"{name!r} names more than one {kind}: {', '.join(suggestions)}", f"write the id of the {kind} you mean")
                close = f"did you mean {', '.join(repr(s) for s in suggestions)}? " if suggestions else ""
                hint = f"{close}write the {kind}'s id or its full Chinese name as in {_DESCRIBED_IN[kind]}"
                if ledger.encoding == "big5":
                    hint += "; the file was read as Big5 (traditional Chinese): write the names in simplified Chinese"
                raise BadCell(f"unknown {kind} {_cut(name)!r}", hint)
            found.append(hit)
        return tuple(found) if kind == "unit" else found[0]
    if kind == "concept":
        concept = vocabulary.schemes.get(column.scheme, {}).get(norm(text))
        if concept is None:
            choices = ", ".join(f"{name} ({code})" for code, name in vocabulary.concept_choices(column.scheme))
            raise BadCell(f"unknown value {_cut(text)!r}", f"write one of: {choices}")
        return concept
    if kind == "integer":
        what = "the year" if column.name == "year" else "a whole number"
        example = "2021" if column.name == "year" else "3"
        cleaned = number_text(text, what, example)
        if not re.fullmatch(r"[+-]?\d+", cleaned):
            raise BadCell(f"{_cut(text)!r} is not a whole number", f"write {what} in digits, e.g. {example}")
        number = int(cleaned)
        if column.name == "year" and not FIRST_YEAR <= number <= this_year:
            raise BadCell(f"year {number} is out of range", f"write a year from {FIRST_YEAR} to {this_year}, e.g. 2021")
        if column.name != "year" and number < 1:
            raise BadCell(f"{number} must be at least 1", "write a whole number from 1, e.g. 2")
        return Literal(number, datatype=XSD.integer)
    if kind == "decimal":
        amount = column.name == "amount"
        what, example = ("the amount in yuan", "1500000") if amount else ("the number", "2.5")
        hint = "write the amount in yuan as digits, e.g. 1500000 (not 150万)" if amount else "write a number, e.g. 2.5"
        return Literal(decimal_cell(text, what, example, hint, "write a number not below 0"), datatype=XSD.decimal)
    if kind == "date":
        return Literal(parse_date(text), datatype=XSD.date)
    return Literal(text)


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")


def parse_date(text: str) -> date:
    """A date as offices write it: 2021-06-01, 2021/6/1, 2021.6.1, 2021年6月1日; a time after it is dropped
    (a date-time cell from Excel, 2021-06-01T09:30:00: the day decides, not the hour)."""
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            pass
    elif re.fullmatch(r"\d{4,5}(\.\d+)?", text.strip()):
        raise BadCell(f"{text!r} is not a date: it looks like the serial number Excel keeps for a date",
                   "format the cell as a date (Format Cells → Date), or type the date as YYYY-MM-DD, e.g. 2021-06-30")
    raise BadCell(f"{_cut(text)!r} is not a date", "write the date as YYYY-MM-DD, e.g. 2021-06-30 (2021/6/30 also works)")


def _cut(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width] + f"… ({len(text):,} characters)"


_DESCRIBED_IN = {"zone": "kb/zones/ and kb/sample/", "measure": "kb/measures/ and kb/sample/",
                 "document": "kb/documents/, kb/catalogue/ and kb/sample/ (or its number, e.g. 闽政〔2015〕25号)",
                 "unit": "kb/units/units.ttl (or its short name, e.g. 省商务厅)"}


def _agreeing_with_measure(values: dict, cells: dict, vocabulary: Vocabulary, ledger: Ledger, row: int,
                           errors: list) -> dict:
    """The values to record for a row. A cell that repeats a fact of the row's measure (pkb:measureProperty)
    must agree with what the knowledge base says of the measure, and is then not recorded again; where
    the knowledge base says nothing of it, the cell is recorded (the ledger's claim)."""
    measure = values.get("measure")
    kept = {}
    for name, value in values.items():
        column = vocabulary.columns[name]
        known = vocabulary.measure_facts.get((measure, column.checks), set()) if column.checks and measure else set()
        if not known:
            kept[name] = value
            continue
        given = set(value) if isinstance(value, tuple) else {value}
        if column.datatype == "string":
            agrees = {_plain_text(v) for v in given} <= {_plain_text(k) for k in known}
        else:
            agrees = given <= known
        if not agrees:
            said = "；".join(sorted(_shown(vocabulary, k) for k in known))
            errors.append(ledger.problem(
                row, name,
                f"{_cut(cells[name])!r} does not agree with the knowledge base, which gives {said} for "
                f"{_shown(vocabulary, measure)}",
                f"write {said} as the knowledge base has it, or leave the cell empty; if the knowledge base is "
                f"wrong, correct the measure in kb/ first"))
    return kept


def _plain_text(text) -> str:
    """Text compared as people read it: full-width and half-width forms alike, white space ignored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))


def _shown(vocabulary: Vocabulary, term) -> str:
    """A resource as a message names it: its document number or label, and its id."""
    if not isinstance(term, URIRef):
        return str(term)
    numbers = [str(r.number) for r in vocabulary.kb.query(_NUMBER, {"thing": term})]
    label = numbers[0] if numbers else vocabulary.kb.label(term)
    return f"{label} ({curie(term)})" if label else curie(term)
