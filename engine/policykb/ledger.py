"""Evidence ledgers (台账): read a CSV or XLSX ledger and turn its rows into RDF evidence.

Which columns exist, which Chinese headers they accept, which `kind` codes name which evidence class
and which codes name which concept all come from the ontology (pkb:ledgerColumn, pkb:ledgerAlias,
pkb:ledgerCode, pkb:conceptScheme), so office staff and the ontology speak the same words. A column
whose property has a pkb:measureProperty repeats a fact of the row's measure (the Zhejiang table's
领域, 发布文件, 责任单位, 主要内容): it is checked against what the knowledge base says of the measure,
and recorded on the evidence only where the knowledge base says nothing.
A bad cell stops the import with the file, row and column and what to write instead; the knowledge
base is written only when every row is good and the new evidence passes the SHACL shapes.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD

from .errors import LedgerError, Location
from .load import KnowledgeBase
from .namespace import BASE, ORG, PKB, bind_prefixes, curie

FIRST_YEAR = 2013  # the first pilot free trade zone (Shanghai) opened in 2013
REQUIRED = ("zone", "year", "kind")


@dataclass(frozen=True)
class Column:
    """A ledger column and the RDF property its cells fill."""

    name: str
    prop: URIRef
    datatype: str  # kind | zone | measure | document | unit | concept | integer | decimal | date | string
    scheme: URIRef | None
    aliases: tuple[str, ...]
    checks: URIRef | None = None  # the measure's property that the cells must agree with


@dataclass(frozen=True)
class LedgerRow:
    """One spreadsheet row: its number (header = 1) and its cells by canonical column name."""

    number: int
    cells: dict


@dataclass(frozen=True)
class Ledger:
    """A ledger as read from its file, before any meaning is given to the cells."""

    path: Path
    name: str
    columns: tuple[str, ...]
    rows: tuple[LedgerRow, ...]


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: the ledger's id, the Turtle file and how many evidence items."""

    ledger_id: str
    source: str
    target: Path
    graph_name: str
    items: int
    zones: tuple[str, ...]
    years: tuple[int, ...]


class Vocabulary:
    """The words a ledger may use, read from the ontology and the knowledge base."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.columns = self._columns(kb.ontology)
        self.by_header = {}
        for column in self.columns.values():
            for header in (column.name, *column.aliases):
                self.by_header[_norm(header)] = column
        self.kinds = self._kinds(kb.ontology)
        self.schemes, self.codes = self._schemes(kb)
        self._indexes: dict[str, NameIndex] = {}
        self.sample_zones = {URIRef(str(r.z)) for r in kb.query(_SAMPLE_ZONES)}

    def index(self, kind: str) -> NameIndex:
        """Names of the zones, measures, documents or units (built when a ledger first needs them)."""
        if kind not in self._indexes:
            self._indexes[kind] = NameIndex(self.kb, kind)
        return self._indexes[kind]

    @cached_property
    def measure_facts(self) -> dict[tuple[URIRef, URIRef], set]:
        """What the knowledge base says of each measure, for the columns that repeat it: (measure, property) → values."""
        facts: dict[tuple[URIRef, URIRef], set] = {}
        for row in self.kb.query(_MEASURE_FACTS):
            facts.setdefault((URIRef(str(row.measure)), URIRef(str(row.property))), set()).add(row.value)
        return facts

    @staticmethod
    def _columns(ontology: Graph) -> dict[str, Column]:
        columns = {}
        for prop, name in ontology.subject_objects(PKB.ledgerColumn):
            aliases = tuple(sorted(str(a) for a in ontology.objects(prop, PKB.ledgerAlias)))
            scheme = ontology.value(prop, PKB.conceptScheme)
            rng = ontology.value(prop, RDFS.range)
            if prop == RDF.type:
                datatype = "kind"
            elif rng in _NAMED:
                datatype = _NAMED[rng]
            elif scheme is not None:
                datatype = "concept"
            elif rng in (XSD.integer, XSD.decimal, XSD.date):
                datatype = str(rng).rsplit("#", 1)[1]
            elif prop == DCTERMS.date:
                datatype = "date"
            else:
                datatype = "string"
            columns[str(name)] = Column(str(name), prop, datatype, scheme, aliases,
                                        ontology.value(prop, PKB.measureProperty))
        return columns

    @staticmethod
    def _kinds(ontology: Graph) -> dict[str, URIRef]:
        kinds = {}
        for cls in ontology.subjects(RDFS.subClassOf, PKB.Evidence):
            for code in ontology.objects(cls, PKB.ledgerCode):
                kinds[_norm(str(code))] = cls
            for alias in ontology.objects(cls, PKB.ledgerAlias):
                kinds[_norm(str(alias))] = cls
            for label in ontology.objects(cls, RDFS.label):
                kinds.setdefault(_norm(str(label)), cls)
        return kinds

    @staticmethod
    def _schemes(kb: KnowledgeBase) -> tuple[dict[URIRef, dict[str, URIRef]], dict[URIRef, list[str]]]:
        schemes: dict[URIRef, dict[str, URIRef]] = {}
        codes: dict[URIRef, set[str]] = {}
        for row in kb.query(_CONCEPTS):
            scheme = URIRef(str(row.scheme))
            schemes.setdefault(scheme, {})[_norm(str(row.word))] = URIRef(str(row.concept))
            codes.setdefault(scheme, set()).add(str(row.code))
        return schemes, {k: sorted(v) for k, v in codes.items()}

    def kind_codes(self) -> list[str]:
        return sorted(kind_classes(self.kb.ontology))

    def concept_codes(self, scheme: URIRef) -> list[str]:
        return self.codes.get(scheme, [])


def kind_classes(ontology: Graph) -> dict[str, URIRef]:
    """The evidence classes by the ledger code office staff write for them (replication → pkb:Replication)."""
    return {str(code): cls for cls in ontology.subjects(RDFS.subClassOf, PKB.Evidence)
            for code in ontology.objects(cls, PKB.ledgerCode)}


# a property whose range is one of these classes takes cells that name a resource of the class
_NAMED = {PKB.Zone: "zone", PKB.Measure: "measure", PKB.PolicyDocument: "document", ORG.Organization: "unit"}

_NAMES = """
PREFIX pkb:  <https://w3id.org/policykb/def#>
PREFIX eli:  <http://data.europa.eu/eli/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT DISTINCT ?thing ?word WHERE {
  ?thing a/rdfs:subClassOf* ?class .
  { ?thing skos:prefLabel|skos:altLabel|skos:notation|pkb:shortName|eli:id_local|eli:title ?word }
  UNION { BIND(STR(?thing) AS ?word) }
}"""
_MEASURE_FACTS = """
PREFIX pkb: <https://w3id.org/policykb/def#>
SELECT ?measure ?property ?value WHERE {
  ?column pkb:measureProperty ?property .
  ?measure a pkb:Measure ; ?property ?value .
}"""
_CONCEPTS = """
PREFIX pkb:  <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?scheme ?concept ?code ?word WHERE {
  ?concept skos:inScheme ?scheme ; skos:notation ?notation .
  OPTIONAL { ?concept pkb:ledgerCode ?ledgerCode }
  BIND (COALESCE(?ledgerCode, ?notation) AS ?code)
  { ?concept pkb:ledgerCode|pkb:ledgerAlias|skos:notation|skos:prefLabel ?word } UNION { BIND(STR(?concept) AS ?word) }
}"""
_SAMPLE_ZONES = """
PREFIX pkb: <https://w3id.org/policykb/def#>
SELECT ?z WHERE { ?z pkb:sampleData true }"""
_NUMBER = """
PREFIX eli: <http://data.europa.eu/eli/ontology#>
SELECT ?number WHERE { ?thing eli:id_local ?number }"""


def zone_index(kb: KnowledgeBase) -> NameIndex:
    """The zones of a knowledge base by IRI, prefixed name, local name, code or label."""
    return NameIndex(kb, "zone")


class NameIndex:
    """Finds a zone, measure, document or unit by IRI, prefixed name, local name, code, number or label."""

    def __init__(self, kb: KnowledgeBase, what: str):
        self.what = what
        self.words: dict[str, set[URIRef]] = {}
        cls = next(c for c, kind in _NAMED.items() if kind == what)
        for row in kb.query(_NAMES, {"class": cls}):
            thing = URIRef(str(row.thing))
            keys = {str(row.word), curie(thing), str(thing).rstrip("/").rsplit("/", 1)[-1]}
            for key in keys:
                self.words.setdefault(_norm(key), set()).add(thing)

    def find(self, text: str) -> tuple[URIRef | None, list[str]]:
        """The resource named by `text`, or None with the closest names as suggestions."""
        hits = self.words.get(_norm(text), set())
        if len(hits) == 1:
            return next(iter(hits)), []
        if len(hits) > 1:
            return None, sorted(curie(h) for h in hits)
        return None, difflib.get_close_matches(_norm(text), list(self.words), n=3, cutoff=0.6)


def _norm(text: str) -> str:
    """Compare words ignoring case, surrounding space and full-width/half-width brackets."""
    text = str(text).strip().lower()
    return text.replace("（", "(").replace("）", ")").replace("　", " ")


# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------

def read(path: Path, vocabulary: Vocabulary, shown: str | None = None) -> Ledger:
    """Read a CSV or XLSX ledger; headers may be English or Chinese (pkb:ledgerAlias)."""
    shown = shown or str(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, raw_rows = _read_csv(path, shown)
    elif suffix in (".xlsx", ".xlsm"):
        header, raw_rows = _read_xlsx(path, shown)
    else:
        raise LedgerError(f"cannot read a ledger of type {suffix or '(none)'}", location=Location(shown),
                          hint="save the ledger as .csv (UTF-8) or .xlsx")
    columns: list[str | None] = []
    for index, title in enumerate(header, 1):
        if not title.strip():
            columns.append(None)
            continue
        column = vocabulary.by_header.get(_norm(title))
        if column is None and _norm(title) in ("序号", "no", "no.", "#", "seq"):
            columns.append(None)  # a running number, as forms have; nothing to import
            continue
        if column is None:
            known = sorted({c.name for c in vocabulary.columns.values()})
            close = difflib.get_close_matches(_norm(title), list(vocabulary.by_header), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise LedgerError(
                f"unknown column {title!r}",
                location=Location(shown, 1, _column_letter(index)),
                hint=f"{hint}columns are: {', '.join(known)} (Chinese headers such as 开发区, 年度, 类型, 举措, 金额 also work; see kb/ledgers/README.md)",
            )
        if column.name in columns:
            raise LedgerError(f"column {column.name!r} appears twice", location=Location(shown, 1, _column_letter(index)),
                              hint="keep one column per field")
        columns.append(column.name)
    rows = []
    for number, values in raw_rows:
        cells = {name: value.strip() for name, value in zip(columns, values) if name and value and value.strip()}
        if cells:
            rows.append(LedgerRow(number, cells))
    return Ledger(path, shown, tuple(c for c in columns if c), tuple(rows))


def _column_letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_csv(path: Path, shown: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China often saves CSV as GB18030
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LedgerError("the file is neither UTF-8 nor GB18030 text", location=Location(shown),
                          hint="save the ledger as CSV UTF-8")
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise LedgerError("the ledger is empty", location=Location(shown), hint="start with a header row; see kb/ledgers/template.csv") from None
    return header, [(number, row) for number, row in enumerate(reader, 2)]


def _read_xlsx(path: Path, shown: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise LedgerError(f"cannot open the workbook: {exc}", location=Location(shown), hint="save it again from Excel or LibreOffice as .xlsx") from None
    sheet = next((book[n] for n in book.sheetnames if n.strip() in ("台账", "ledger", "Ledger")), book.worksheets[0])
    rows = list(sheet.iter_rows(values_only=True))
    book.close()
    if not rows:
        raise LedgerError("the ledger sheet is empty", location=Location(shown), hint="start with a header row; see kb/ledgers/template.xlsx")
    header = [_xlsx_text(v) for v in rows[0]]
    return header, [(number, [_xlsx_text(v) for v in row]) for number, row in enumerate(rows[1:], 2)]


def _xlsx_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# From rows to RDF
# ---------------------------------------------------------------------------------------------

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
        cls = vocabulary.kinds.get(_norm(text))
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
        concept = vocabulary.schemes.get(column.scheme, {}).get(_norm(text))
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


# ---------------------------------------------------------------------------------------------
# Importing into the knowledge base
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prepared:
    """A ledger converted to evidence but not yet written: the graph and where it will go."""

    result: ImportResult
    graph: Graph


def prepare(kb: KnowledgeBase, path: Path, vocabulary: Vocabulary, *, year: int | None = None,
            kind: str | None = None) -> Prepared:
    """Read and convert one ledger; raises LedgerError at the first bad cell."""
    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"no such ledger file: {path}", hint="give the path of a .csv or .xlsx ledger")
    shown = kb.layout.relative(path)
    ledger = read(path, vocabulary, shown)
    defaults = {"year": str(year) if year else None, "kind": kind}
    graph = to_graph(ledger, vocabulary, ledger_name=shown, defaults=defaults)
    lid = ledger_id(path)
    target = kb.layout.kb / "evidence" / f"{lid}.ttl"
    result = ImportResult(
        ledger_id=lid, source=shown, target=target, graph_name=kb.layout.relative(target),
        items=len(set(graph.subjects(PKB.ledgerRow))),
        zones=tuple(sorted({curie(z) for z in graph.objects(None, PKB.zone)})),
        years=tuple(sorted({int(y) for y in graph.objects(None, PKB.year)})),
    )
    return Prepared(result, graph)


def import_ledgers(kb: KnowledgeBase, paths, *, year: int | None = None, kind: str | None = None,
                   write: bool = True, replace: bool = False) -> list[ImportResult]:
    """Import several ledgers all or nothing: every one is converted and checked before any is written.

    Each ledger becomes kb/evidence/<ledger-id>.ttl; importing the same ledger file again replaces what
    its earlier import wrote. Another file of the same name (from another folder) would silently take
    its place, so that is refused unless `replace` is given.
    """
    vocabulary = Vocabulary(kb)
    prepared = [prepare(kb, Path(p), vocabulary, year=year, kind=kind) for p in paths]
    ids = [p.result.ledger_id for p in prepared]
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise LedgerError(f"two ledgers have the same file name {twice!r}", hint="rename one: a ledger's file name is its id")
    if not replace:
        for item in prepared:
            if item.result.graph_name not in kb.store.graph_names():
                continue
            earlier = {str(f) for f in kb.store.get(item.result.graph_name).objects(None, PKB.ledgerFile)}
            if earlier and item.result.source not in earlier:
                raise LedgerError(
                    f"{item.result.graph_name} already holds the evidence of another ledger of the same name "
                    f"({', '.join(sorted(earlier))})", location=Location(item.result.source),
                    hint="a ledger's file name is its id: rename this file, or give --replace to replace that evidence")
    _check(kb, prepared, vocabulary)
    if write:
        with kb.store.transaction():
            for item in prepared:
                kb.store.put(item.result.graph_name, item.graph)
        for item in prepared:
            _write_atomically(item.graph, item.result.target, header=_header(item.result.source))
    return [p.result for p in prepared]


def import_ledger(kb: KnowledgeBase, path: Path, **options) -> ImportResult:
    """Import one ledger (see import_ledgers)."""
    return import_ledgers(kb, [path], **options)[0]


def _check(kb: KnowledgeBase, prepared: list[Prepared], vocabulary: Vocabulary) -> None:
    """Run the SHACL shapes on the knowledge base as it would be; report the new evidence's violations by row."""
    from .validate import validate as run_shapes

    data = kb.store.union()
    for item in prepared:
        if item.result.graph_name in kb.store.graph_names():
            data -= kb.store.get(item.result.graph_name)
        data += item.graph
    rows: dict[str, tuple[str, int]] = {}
    for item in prepared:
        for subject, row in item.graph.subject_objects(PKB.ledgerRow):
            rows[str(subject)] = (item.result.source, int(row))
    mine = set(rows)
    for item in prepared:
        mine |= {str(o) for o in item.graph.objects() if isinstance(o, URIRef)}
    problems = [v for v in run_shapes(kb, data=data) if v.severity == "Violation" and v.focus
                and _expand(v.focus) in mine]
    if problems:
        first = problems[0]
        source, row = rows.get(_expand(first.focus), (prepared[0].result.source, None))
        more = f" ({len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise LedgerError(
            f"{_column_for(first.path, vocabulary) or first.path or 'row'}: {first.message}{more}",
            location=Location(source, row, _column_for(first.path, vocabulary)),
            hint="correct the row and import again; nothing was written",
        )


def _expand(focus: str) -> str:
    from .queries import expand_iri
    try:
        return str(expand_iri(focus))
    except Exception:
        return focus


def _column_for(path: str | None, vocabulary: Vocabulary) -> str | None:
    if not path:
        return None
    for column in vocabulary.columns.values():
        if curie(column.prop) == path:
            return column.name
    return None


def _header(source: str) -> str:
    return (f"# Evidence imported by `policykb import` from the ledger {source}.\n"
            f"# Do not edit: change the ledger and import it again (the import replaces this file).\n\n")


def _write_atomically(graph: Graph, target: Path, header: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    text = header + graph.serialize(format="turtle")
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


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
