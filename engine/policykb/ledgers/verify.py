"""Does every imported ledger still say what its evidence says? (`policykb validate`)

Each import records the SHA-256 digest of the ledger file (pkb:Ledger, pkb:sha256). A ledger that lies
inside the knowledge base's folder (pkb:ledgerFile is then a path such as kb/ledgers/2022/台账.csv) is
found again and compared: a file edited after its import means the evidence, the scores and the traces
still cite the old rows, so the rows that differ are named; a deleted file leaves evidence whose rows can
no longer be checked. A ledger recorded by file name only lies outside the knowledge base and is not
looked for. Statistics tables are checked alike (their observations point to them the same way).
"""

from __future__ import annotations

import hashlib

from rdflib import Literal, URIRef
from rdflib.namespace import RDF

from ..errors import LedgerError, Violation
from ..kb.load import KnowledgeBase
from ..namespace import PKB, curie
from .tables import DIMENSIONS, convert_table, read_table
from .vocabulary import Vocabulary

_LEDGERS = """
PREFIX pkb: <https://w3id.org/policykb/def#>
SELECT ?ledger ?file ?sha256 ?table WHERE {
  ?ledger a pkb:Ledger ; pkb:ledgerFile ?file ; pkb:sha256 ?sha256 .
  OPTIONAL { ?ledger a ?table FILTER (?table = <http://purl.org/linked-data/cube#DataSet>) }
} ORDER BY ?file"""
_ITEMS = """
PREFIX pkb: <https://w3id.org/policykb/def#>
SELECT ?item ?row ?p ?o WHERE { ?item pkb:fromLedger ?ledger ; pkb:ledgerRow ?row ; ?p ?o }"""
# the sources of an imported observation's figures: what the cell said, its unit and its conversion
_FIGURES = """
PREFIX pkb: <https://w3id.org/policykb/def#>
SELECT ?row ?source ?p ?o WHERE { ?item pkb:fromLedger ?ledger ; pkb:ledgerRow ?row ; pkb:figureSource ?source .
  ?source ?p ?o }"""
# what the import adds to every row, rather than reads from it
_BOOKKEEPING = {PKB.ledgerFile, PKB.ledgerRow, PKB.fromLedger, PKB.sampleData}
_SHOWN_ROWS = 12


def ledger_changes(kb: KnowledgeBase) -> list[Violation]:
    """A violation for each ledger edited since its import, a warning for each deleted one."""
    found = []
    for row in kb.query(_LEDGERS):
        stored, ledger = str(row.file), URIRef(str(row.ledger))
        if "/" not in stored:
            continue  # recorded by name: it lies outside the knowledge base
        path = kb.layout.root / stored
        file, line = kb.locate(ledger)
        common = dict(focus=curie(ledger), path="pkb:sha256", file=file, line=line, shape="ledger digest",
                      check="ledger")
        # a statistics table is a data set of observations: say so, and "figures" for its evidence
        kind, held, stay = ("statistics table", "figures", "stay") if row.table is not None else ("ledger", "evidence", "stays")
        if not path.is_file():
            found.append(Violation(
                message=f"the {kind} {stored} was deleted or moved after it was imported; its {held} {stay} in "
                        f"{file}, but its rows can no longer be checked against it: put the file back, or import it "
                        "again from where it is now", severity="Warning", **common))
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() == str(row.sha256):
            continue
        found.append(Violation(
            message=f"the {kind} {stored} was changed after it was imported ({_what_changed(kb, ledger, stored)}): "
                    f"the {held} in {file}, and the scores and traces drawn from it, still hold the rows as they "
                    f"were; import it again (policykb import --kb DIR {stored}, with the --year or --kind it was "
                    "imported with), or undo the change", severity="Violation", **common))
    return found


def _what_changed(kb: KnowledgeBase, ledger: URIRef, stored: str) -> str:
    """Which rows differ between the file and its evidence, as a message says it."""
    before: dict[int, set] = {}
    for row in kb.query(_ITEMS, {"ledger": ledger}):
        if URIRef(str(row.p)) not in _BOOKKEEPING:
            before.setdefault(int(row.row.toPython()), set()).add((URIRef(str(row.p)), _value(row.o)))
    for row in kb.query(_FIGURES, {"ledger": ledger}):
        if URIRef(str(row.p)) not in _BOOKKEEPING:
            before.setdefault(int(row.row.toPython()), set()).add((str(row.source), URIRef(str(row.p)), _value(row.o)))
    vocabulary = Vocabulary(kb)
    try:
        ledger_now = read_table(kb.layout.root / stored, vocabulary, stored)
    except LedgerError as error:
        return f"it can no longer be read: {error.message}"
    converted = convert_table(ledger_now, vocabulary, ledger_name=stored, defaults=_defaults(kb, ledger))
    after: dict[int, set] = {}
    graph = converted.graph
    for item, number in converted.rows.items():
        after[number] = {(p, _value(o)) for p, o in graph.predicate_objects(item) if p not in _BOOKKEEPING}
        after[number] |= {(str(source), p, _value(o)) for source in graph.objects(item, PKB.figureSource)
                          for p, o in graph.predicate_objects(source) if p not in _BOOKKEEPING}
    broken = {e.location.line for e in (*ledger_now.problems, *converted.errors) if e.location and e.location.line}
    differ = sorted(n for n in set(before) & set(after) if before[n] != after[n])
    parts = []
    for words, rows in (("differ", differ), ("are new", sorted(set(after) - set(before))),
                        ("are gone", sorted(set(before) - set(after) - broken)),
                        ("now have a problem", sorted(broken))):
        if rows:
            shown = ", ".join(map(str, rows[:_SHOWN_ROWS])) + (f" and {len(rows) - _SHOWN_ROWS} more" if len(rows) > _SHOWN_ROWS else "")
            parts.append(f"row{'s' if len(rows) > 1 else ''} {shown} {words if len(rows) > 1 else _singular(words)}")
    return "; ".join(parts) or "the same rows in other bytes: saved again or reformatted"


def _value(term):
    """A term compared by value: the decimal 1500000 read back from Turtle as 1500000.0 is the same amount."""
    return (term.datatype, term.toPython()) if isinstance(term, Literal) else term


def _singular(words: str) -> str:
    return {"differ": "differs", "are new": "is new", "are gone": "is gone", "now have a problem": "now has a problem"}[words]


def _defaults(kb: KnowledgeBase, ledger: URIRef) -> dict:
    """The year and kind a ledger without those columns was imported with (--year, --kind): what all its items share."""
    years, kinds = set(), set()
    year_properties = {year for _zone, year in DIMENSIONS.values()}
    for row in kb.query(_ITEMS, {"ledger": ledger}):
        if URIRef(str(row.p)) in year_properties:
            years.add(str(row.o))
        elif URIRef(str(row.p)) == RDF.type:
            code = kb.ontology.value(URIRef(str(row.o)), PKB.ledgerCode)
            if code is not None:
                kinds.add(str(code))
    return {"year": years.pop() if len(years) == 1 else None, "kind": kinds.pop() if len(kinds) == 1 else None}
