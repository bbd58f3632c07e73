"""From ledger rows to RDF evidence: every cell converted to a term of its column's type.

A column whose property has a pkb:measureProperty repeats a fact of the row's measure (the Zhejiang
table's 领域, 发布文件, 责任单位, 主要内容): it is checked against what the knowledge base says of the
measure, and recorded on the evidence only where the knowledge base says nothing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from ..errors import LedgerError, Location
from ..kb.names import norm
from ..namespace import BASE, PKB, bind_prefixes, curie
from .read import Ledger
from .vocabulary import FIRST_YEAR, REQUIRED, Column, Vocabulary

_NUMBER = """
PREFIX eli: <http://data.europa.eu/eli/ontology#>
SELECT ?number WHERE { ?thing eli:id_local ?number }"""


def ledger_id(path: Path) -> str:
    """The id of a ledger: its file name without extension, safe for IRIs and file names."""
    stem = re.sub(r"[^\w\-]+", "-", path.stem, flags=re.UNICODE).strip("-")
    return stem or "ledger"


def to_graph(ledger: Ledger, vocabulary: Vocabulary, *, ledger_name: str, defaults: dict | None = None,
             this_year: int | None = None) -> Graph:
    """Evidence triples for every row; the first bad cell raises a LedgerError naming row and column."""
    defaults = {k: v for k, v in (defaults or {}).items() if v is not None}
    missing = [c for c in REQUIRED if c not in ledger.columns and c not in defaults]
    if missing:
        raise LedgerError(
            f"the ledger has no {missing[0]!r} column",
            location=Location(ledger.name, 1),
            hint=f"every ledger needs the columns {', '.join(REQUIRED)} (开发区, 年度, 类型)"
                 + ("; or give --year for a table without a year column" if missing[0] == "year" else ""),
        )
    this_year = this_year or date.today().year
    graph = Graph()
    bind_prefixes(graph)
    lid = ledger_id(Path(ledger_name))
    for row in ledger.rows:
        cells = {**defaults, **row.cells}
        for required in REQUIRED:
            if required not in cells:
                raise LedgerError(f"{required}: the cell is empty", location=Location(ledger.name, row.number, required),
                                  hint={"zone": "write the zone's id or full name", "year": "write the year, e.g. 2021",
                                        "kind": f"write one of: {', '.join(vocabulary.kind_codes())}"}[required])
        values = {}
        for name, text in cells.items():
            column = vocabulary.columns[name]
            values[name] = _convert(text, column, vocabulary, ledger.name, row.number, this_year)
        values = _agreeing_with_measure(values, cells, vocabulary, Location(ledger.name, row.number))
        zone = values["zone"]
        base = BASE + ("sample/" if zone in vocabulary.sample_zones else "")
        item = URIRef(f"{base}evidence/{quote(lid)}/r{row.number}")
        for name, value in values.items():
            for one in value if isinstance(value, tuple) else (value,):
                graph.add((item, vocabulary.columns[name].prop, one))
        graph.add((item, PKB.ledgerFile, Literal(ledger_name)))
        graph.add((item, PKB.ledgerRow, Literal(row.number)))
        if zone in vocabulary.sample_zones:
            graph.add((item, PKB.sampleData, Literal(True)))
    return graph


def _convert(text: str, column: Column, vocabulary: Vocabulary, file: str, row: int, this_year: int):
    where = Location(file, row, column.name)

    def fail(message: str, hint: str):
        raise LedgerError(f"{column.name}: {message}", location=where, hint=hint)

    kind = column.datatype
    if kind == "kind":
        cls = vocabulary.kinds.get(norm(text))
        if cls is None:
            fail(f"unknown kind {text!r}", f"write one of: {', '.join(vocabulary.kind_codes())} (or its Chinese name, see kb/ledgers/README.md)")
        return cls
    if kind in _DESCRIBED_IN:
        # a unit cell may name several units: 省商务厅、杭州海关
        names = [n.strip() for n in re.split(r"[、,，;；]", text) if n.strip()] if kind == "unit" else [text]
        found = []
        for name in names:
            hit, suggestions = vocabulary.index(kind).find(name)
            if hit is None:
                if suggestions and any(":" in s for s in suggestions):
                    fail(f"{name!r} names more than one {kind}: {', '.join(suggestions)}", f"write the id of the {kind} you mean")
                close = f"did you mean {', '.join(repr(s) for s in suggestions)}? " if suggestions else ""
                fail(f"unknown {kind} {name!r}",
                     f"{close}write the {kind}'s id or its full Chinese name as in {_DESCRIBED_IN[kind]}")
            found.append(hit)
        return tuple(found) if kind == "unit" else found[0]
    if kind == "concept":
        concept = vocabulary.schemes.get(column.scheme, {}).get(norm(text))
        if concept is None:
            fail(f"unknown value {text!r}", f"write one of: {', '.join(vocabulary.concept_codes(column.scheme))}")
        return concept
    if kind == "integer":
        cleaned = text.replace(",", "")
        if not re.fullmatch(r"[+-]?\d+", cleaned):
            fail(f"{text!r} is not a whole number", "write digits only, e.g. 3")
        number = int(cleaned)
        if column.name == "year" and not FIRST_YEAR <= number <= this_year:
            fail(f"year {number} is out of range", f"write a year from {FIRST_YEAR} to {this_year}, e.g. 2021")
        if column.name != "year" and number < 1:
            fail(f"{number} must be at least 1", "write a whole number from 1, e.g. 2")
        return Literal(number, datatype=XSD.integer)
    if kind == "decimal":
        cleaned = text.replace(",", "").replace("，", "")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            hint = "write the amount in yuan as digits, e.g. 1500000 (not 150万)" if column.name == "amount" else "write a number, e.g. 2.5"
            fail(f"{text!r} is not a number", hint)
        if number < 0:
            fail(f"{text} is negative", "write a number not below 0")
        return Literal(number, datatype=XSD.decimal)
    if kind == "date":
        try:
            return Literal(date.fromisoformat(text.replace("/", "-")), datatype=XSD.date)
        except ValueError:
            fail(f"{text!r} is not a date", "write the date as YYYY-MM-DD, e.g. 2021-06-30")
    return Literal(text)


_DESCRIBED_IN = {"zone": "kb/zones/ and kb/sample/", "measure": "kb/measures/ and kb/sample/",
                 "document": "kb/documents/, kb/catalogue/ and kb/sample/ (or its number, e.g. 闽政〔2015〕25号)",
                 "unit": "kb/units/units.ttl (or its short name, e.g. 省商务厅)"}


def _agreeing_with_measure(values: dict, cells: dict, vocabulary: Vocabulary, row: Location) -> dict:
    """The values to record for a row. A cell that repeats a fact of the row's measure (pkb:measureProperty)
    must agree with what the knowledge base says of the measure, and is then not recorded again; where
    the knowledge base says nothing of it, the cell is recorded."""
    measure = values.get("measure")
    kept = {}
    for name, value in values.items():
        column = vocabulary.columns[name]
        known = vocabulary.measure_facts.get((measure, column.checks), set()) if column.checks else set()
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
            raise LedgerError(
                f"{name}: {cells[name]!r} does not agree with the knowledge base, which gives {said} for "
                f"{_shown(vocabulary, measure)}",
                location=Location(row.file, row.line, name),
                hint=f"write {said} as the knowledge base has it, or leave the cell empty; if the knowledge base is "
                     f"wrong, correct the measure in kb/ first")
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
