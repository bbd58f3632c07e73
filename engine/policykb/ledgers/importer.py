"""Import ledgers into the knowledge base as one transaction: all of them or nothing, one at a time.

An import holds the knowledge base's exclusive lock from start to end, so that two imports queue
instead of overwriting each other (the second waits, then sees what the first wrote, or gives up with
BusyError). It first finishes or discards a change that a killed command left (kb.files.recover), then
reads and checks every ledger — every cell, the SHACL shapes of the knowledge base as it would be, one
ledger per zone and year — and reports every problem at once. Only when there is none does it write
every evidence file of the run, and remove what they replace, in one journaled change (kb.files.commit):
even `kill -9` leaves either the old files or the new ones, never half of each.

A statistics table (统计表: one row per area and year, ledgers.statistics) is imported the same way, with
the same guarantees; its observations go to kb/evidence/<table-id>.ttl too, and "one ledger per zone and
year" is "one table per area and year" for it (a second table for an area and year needs --replace;
--add, which would give an area two figures for one year, is refused). Its rows are of their own kind
(qb:Observation), so a table and a zone's ledgers of the same zone and year never stand in each other's way.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from ..errors import LedgerError, LedgerErrors, Location
from ..kb import files, sync
from ..kb.layout import Layout
from ..kb.load import KnowledgeBase, load, parse_turtle
from ..kb.lock import KBLock
from ..namespace import PKB, curie
from . import limits
from .convert import Converted, ledger_id
from .read import Ledger
from .tables import DIMENSIONS, convert_table, read_table, words_of
from .vocabulary import Vocabulary


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote (or, in a dry run, would write) for one ledger."""

    ledger_id: str
    source: str  # the ledger as messages show it
    target: Path  # kb/evidence/<ledger-id>.ttl
    graph_name: str
    items: int
    zones: tuple[str, ...]
    years: tuple[int, ...]
    stored: str = ""  # the ledger file as the evidence records it (pkb:ledgerFile)
    sha256: str = ""
    notes: tuple[str, ...] = ()  # what the reader skipped or assumed, what the import replaced
    table: str = "ledger"  # "ledger" (evidence items) or "statistics" (observations)


@dataclass(frozen=True)
class Prepared:
    """A ledger read and converted, not yet written: its evidence graph, and its zones and years."""

    result: ImportResult
    graph: Graph
    ledger: Ledger
    converted: Converted
    zone_years: dict = field(default_factory=dict)  # (zone IRI, year) → items
    kinds: dict = field(default_factory=dict)  # (zone IRI, year) → the evidence classes of its rows

    @property
    def errors(self) -> list[LedgerError]:
        return list(self.ledger.problems) + list(self.converted.errors)


def stored_name(layout: Layout, path: Path) -> str:
    """How the evidence records a ledger file: relative to the knowledge base's top folder when it lies
    inside it, else by its file name alone (the clerk's own folders are not the knowledge base's business)."""
    try:
        return Path(path).resolve().relative_to(layout.root).as_posix()
    except ValueError:
        return Path(path).name


def prepare(kb: KnowledgeBase, path: Path, vocabulary: Vocabulary, *, year: int | None = None,
            kind: str | None = None) -> Prepared:
    """Read and convert one ledger; its problems are in `errors`; raises LedgerError when the file cannot be read."""
    path = Path(path)
    shown = kb.layout.relative(path)
    if not path.is_file():
        raise LedgerError(f"no such ledger file: {path}", location=Location(shown),
                          hint="give the path of a .csv or .xlsx ledger")
    ledger = read_table(path, vocabulary, shown)  # refuses a file over the size limit before reading it
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise LedgerError(f"cannot read the ledger: {exc.strerror or exc}", location=Location(shown),
                          hint="give the path of a .csv or .xlsx ledger that you may read") from None
    stored = stored_name(kb.layout, path)
    defaults = {"year": str(year) if year else None, "kind": kind}
    converted = convert_table(ledger, vocabulary, ledger_name=stored, defaults=defaults, sha256=digest)
    graph = converted.graph
    notes = ledger.notes
    if ledger.table == "statistics" and kind:
        notes += (f"--kind {kind} does not apply to a statistics table (its rows are figures, not evidence items): ignored",)
    zone_property, year_property = words_of(ledger, vocabulary).dimensions
    zone_years: dict = {}
    kinds: dict = {}
    for item in converted.rows:
        key = (graph.value(item, zone_property), int(graph.value(item, year_property)))
        zone_years[key] = zone_years.get(key, 0) + 1
        kinds.setdefault(key, set()).update(graph.objects(item, RDF.type))
    lid = ledger_id(path)
    target = kb.layout.kb / "evidence" / f"{lid}.ttl"
    result = ImportResult(
        ledger_id=lid, source=shown, target=target, graph_name=kb.layout.relative(target),
        items=len(converted.rows), zones=tuple(sorted({curie(z) for z, _y in zone_years})),
        years=tuple(sorted({y for _z, y in zone_years})), stored=stored, sha256=digest, notes=notes, table=ledger.table)
    return Prepared(result, graph, ledger, converted, zone_years, kinds)


def import_ledgers(kb: KnowledgeBase, paths, *, year: int | None = None, kind: str | None = None,
                   write: bool = True, replace: bool = False, add: bool = False) -> list[ImportResult]:
    """Import several ledgers as one change; raises LedgerErrors listing every problem, writing nothing.

    Each ledger becomes kb/evidence/<ledger-id>.ttl. Importing a ledger again (the same file, or a file
    of the same name for the same zones and years) replaces its earlier import. A ledger for a zone and
    year that another ledger already holds needs `replace` (the new one takes its place for that zone
    and year) or `add` (both are kept, and both count).
    """
    names = ", ".join(Path(p).name for p in paths)
    with _holding(kb, exclusive=write, doing=f"import {names}") as kb:
        vocabulary = Vocabulary(kb)
        prepared: list[Prepared] = []
        problems: list[LedgerError] = []
        for path in paths:
            try:
                item = prepare(kb, Path(path), vocabulary, year=year, kind=kind)
            except LedgerError as error:
                problems.append(error)
                continue
            prepared.append(item)
            problems.extend(item.errors)
        problems.extend(_same_name_twice(prepared))
        if prepared:
            problems.extend(_check(kb, prepared, vocabulary))
        if problems:
            raise LedgerErrors(_in_order(problems, [str(p) for p in paths], prepared), limit=limits.MAX_ERRORS)
        changes, notes = _plan(kb, prepared, replace=replace, add=add)
        if write:
            files.commit(kb.layout.kb, changes)
    if write and changes:
        _bring_store_in_step(kb, f"import {names}")
    return [_with_notes(p.result, notes.get(p.result.ledger_id, [])) for p in prepared]


def _bring_store_in_step(kb: KnowledgeBase, doing: str) -> None:
    """Load the new evidence into the store now, indexing it (the facts compiled once, at import), so that the
    next command finds the store ready; the files are written, so a failure here only costs that command."""
    if getattr(kb.store, "path", None) is not None:  # the on-disk store: a new generation
        load(kb.layout, doing=doing).close()
    else:  # a memory or remote store, in place
        load(kb.layout, store=kb.store, doing=doing)


def import_ledger(kb: KnowledgeBase, path: Path, **options) -> ImportResult:
    """Import one ledger (see import_ledgers)."""
    return import_ledgers(kb, [path], **options)[0]


# ---------------------------------------------------------------------------------------------
# The lock, and the knowledge base as it is on disk once we hold it
# ---------------------------------------------------------------------------------------------

@contextmanager
def _holding(kb: KnowledgeBase, *, exclusive: bool, doing: str):
    """The knowledge base's lock for the whole import (exclusive to write, shared for a dry run), and the
    knowledge base as its files are once the lock is held: if another command changed them while this one
    waited (or a killed one left a change to finish), the knowledge base is opened again.

    This is the one place the importer locks; it is meant to move into the opening of the knowledge base.
    """
    lock = KBLock(kb.layout.state_dir)
    opened = None  # a knowledge base opened here, whose store is closed here too
    try:
        current = kb
        for _attempt in range(5):
            lock.acquire(exclusive=exclusive, doing=doing)
            if not _stale(current):
                break
            lock.release()  # opening brings the store in step (and finishes a change) under the same lock
            if opened is not None:
                opened.close()
                opened = None
            if getattr(kb.store, "path", None) is not None:  # the on-disk store: open its newest generation
                opened = current = load(kb.layout, doing=doing)
            else:  # a memory or remote store: brought in step in place
                current = load(kb.layout, store=kb.store, doing=doing)
        yield current
    finally:
        lock.release()
        if opened is not None:
            opened.close()


def _stale(kb: KnowledgeBase) -> bool:
    """Whether the files differ from those `kb` was opened from, or a killed command left a change behind."""
    if files.needs_recovery(kb.layout.kb, [kb.layout.kb]):
        return True
    on_disk = {source.name: source.digest for source in sync.scan(kb.layout).sources}
    return on_disk != {name: source.digest for name, source in kb.files.items()}


# ---------------------------------------------------------------------------------------------
# Checks: SHACL by row, the same name twice
# ---------------------------------------------------------------------------------------------

def _check(kb: KnowledgeBase, prepared: list[Prepared], vocabulary: Vocabulary) -> list[LedgerError]:
    """Check the new evidence as the knowledge base would hold it (kb.validate.validate_change: its shapes,
    and the integrity checks over it and the other evidence of its zones); every violation of it by row."""
    from ..kb.validate import validate_change

    where: dict[str, tuple[Prepared, int]] = {}
    for item in prepared:
        for subject, row in item.converted.rows.items():
            where[str(subject)] = (item, row)
        for subject, _p, thing in item.graph:
            if isinstance(thing, URIRef) and str(subject) in where:
                where.setdefault(str(thing), where[str(subject)])  # a resource a row names: blame the row
    problems, seen = [], set()
    for violation in validate_change(kb, {item.result.graph_name: item.graph for item in prepared}):
        if violation.severity != "Violation" or not violation.focus:
            continue
        found = where.get(_expand(violation.focus))
        if found is None:
            continue
        item, row = found
        words = words_of(item.ledger, vocabulary)
        column = _column_for(violation.path, words)
        key = (item.result.source, row, column, violation.message)
        if key in seen:
            continue
        seen.add(key)
        problems.append(item.ledger.problem(row, column, violation.message, "correct the row and import again",
                                            header=item.ledger.header(column, words) if column else None))
    return problems


def _expand(focus: str) -> str:
    from ..kb.queries import expand_iri
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


def _same_name_twice(prepared: list[Prepared]) -> list[LedgerError]:
    problems, first = [], {}
    for item in prepared:
        earlier = first.setdefault(item.result.ledger_id, item)
        if earlier is not item:
            problems.append(LedgerError(
                f"this ledger and {earlier.result.source} have the same file name, which is a ledger's id",
                location=Location(item.result.source),
                hint="give each ledger a name of its own, with its zone and year in it (e.g. 台账-2022-福州乙.csv)"))
    return problems


def _in_order(problems: list[LedgerError], paths: list[str], prepared: list[Prepared]) -> list[LedgerError]:
    """Problems by ledger in the order given, then by row."""
    order = {p.result.source: i for i, p in enumerate(prepared)}

    def key(error: LedgerError):
        loc = error.location or Location()
        return (order.get(loc.file, len(order)), loc.line or 0)

    return sorted(problems, key=key)


# ---------------------------------------------------------------------------------------------
# One ledger per zone and year: what the import replaces, keeps or refuses
# ---------------------------------------------------------------------------------------------

@dataclass
class _Held:
    """A ledger whose evidence the knowledge base holds: its evidence file, its file, its zones and years."""

    ledger_id: str
    evidence: Path
    file: str | None = None
    zone_years: dict = field(default_factory=dict)  # (zone, year) → items
    kinds: dict = field(default_factory=dict)  # (zone, year) → the evidence classes of its rows
    items: dict = field(default_factory=dict, repr=False)  # (zone, year) → item IRIs
    table: str = "ledger"  # or "statistics": its items are observations (of area and year)


# the items ledgers hold for one zone (bound): an import reads the ledgers of its own zones and of its own
# name (_rows_in), never every ledger of the country
_HELD = """
PREFIX pkb: <https://w3id.org/policykb/def#>
SELECT ?item ?file ?zone ?year ?kind WHERE {
  { ?item pkb:zone ?zone ; pkb:ledgerRow ?row ; pkb:year ?year ; a ?kind }
  UNION { ?item pkb:refArea ?zone ; pkb:ledgerRow ?row ; pkb:refYear ?year ; a ?kind }
  OPTIONAL { ?item pkb:ledgerFile ?file }
}"""
# the items of an import: …/evidence/<ledger-id>/r<row> of a ledger, …/observation/<table-id>/r<row> of a table
_ITEM_FOLDERS = {"/evidence/": "ledger", "/observation/": "statistics"}


def _shared(one, other) -> set:
    """The zones and years two ledgers both hold rows of the same kind for: a second ledger of the same
    zone and year. (The Zhejiang office's ledger of reports received and a zone's replication table hold
    the same zone and year, but different kinds of evidence: two ledgers, not a second copy of one.)"""
    return {zy for zy in one.zone_years if zy in other.zone_years and one.kinds.get(zy, set()) & other.kinds.get(zy, set())}


def _held_ledgers(kb: KnowledgeBase, zones, graphs) -> dict[str, _Held]:
    """The imported ledgers and statistics tables that hold rows of `zones` or stand in `graphs` (the evidence
    files the import would write), by id, read from their items."""
    held: dict[str, _Held] = {}
    rows = [(str(r.item), r.file, str(r.zone), r.year, str(r.kind))
            for zone in sorted(zones) for r in kb.query(_HELD, {"zone": URIRef(str(zone))})]
    rows += [row for name in sorted(graphs) if name in kb.store.manifest() for row in _rows_in(kb, name)]
    for iri, file, zone, year, kind in dict.fromkeys(rows):
        folder = next((f for f in _ITEM_FOLDERS if f in iri), None)
        if folder is None:
            continue
        lid = unquote(iri.rsplit(folder, 1)[1].rsplit("/", 1)[0])
        entry = held.setdefault(lid, _Held(lid, kb.layout.kb / "evidence" / f"{lid}.ttl", table=_ITEM_FOLDERS[folder]))
        entry.file = entry.file or (str(file) if file is not None else None)
        key = (URIRef(zone), int(str(year)))
        entry.kinds.setdefault(key, set()).add(URIRef(kind))
        entry.items.setdefault(key, set()).add(iri)
        entry.zone_years[key] = len(entry.items[key])
    return held


_ZONE_OF = {str(PKB.zone): "zone", str(PKB.refArea): "zone", str(PKB.year): "year", str(PKB.refYear): "year",
            str(PKB.ledgerFile): "file", str(PKB.ledgerRow): "row", str(RDF.type): "kind"}


def _rows_in(kb: KnowledgeBase, name: str) -> list[tuple]:
    """The ledger rows one evidence file holds, as (item, file, zone, year, kind), from its graph's statements
    (a query over every graph for one file's rows is slow in the embedded store)."""
    found: dict[str, dict] = {}
    for quad in kb.store.quads(name):
        role = _ZONE_OF.get(quad.predicate.value)
        if role is not None:
            values = found.setdefault(quad.subject.value, {})
            values.setdefault(role, set()).add(quad.object.value)
    return [(item, next(iter(v.get("file", ())), None), zone, year, kind)
            for item, v in found.items() if "row" in v
            for zone in v.get("zone", ()) for year in v.get("year", ()) for kind in v.get("kind", ())]


def _plan(kb: KnowledgeBase, prepared: list[Prepared], *, replace: bool, add: bool):
    """The files to write and delete, and a note per ledger of what it replaced; raises LedgerErrors for a
    ledger that would wipe evidence, take another ledger's name, or join another ledger's zone and year
    without --replace or --add."""
    held = _held_ledgers(kb, {zone for p in prepared for zone, _ in p.zone_years},
                         {p.result.graph_name for p in prepared})
    problems: list[LedgerError] = []
    notes: dict[str, list[str]] = {}
    removals: dict[str, set] = {}
    running = {p.result.ledger_id for p in prepared}
    for index, item in enumerate(prepared):
        lid, where = item.result.ledger_id, Location(item.result.source)
        same = held.get(lid)
        if not item.zone_years:
            problems.append(_empty(kb, item, same))
            continue
        if same is not None:
            same_file = same.file == item.result.stored and "/" in item.result.stored
            if not same_file and set(same.zone_years) != set(item.zone_years) and not replace:
                problems.append(LedgerError(
                    f"{kb.layout.relative(same.evidence)} already holds the evidence of another ledger of the same name, "
                    f"{same.file or lid} ({_zone_years(kb, same.zone_years)})", location=where,
                    hint="a ledger's file name is its id: give this ledger a name of its own, with its zone and year "
                         "in it (e.g. 台账-2022-福州乙.csv), or give --replace to replace that ledger's evidence with "
                         "this one"))
                continue
            if not same_file and set(same.zone_years) != set(item.zone_years):
                notes.setdefault(lid, []).append(
                    f"replaces the ledger of the same name {same.file or lid} ({_zone_years(kb, same.zone_years)})")
        # zones and years that another ledger already shared with this one's earlier import were kept on purpose
        kept_before = set()
        if same is not None:
            for other in held.values():
                if other.ledger_id != lid:
                    kept_before |= {(other.ledger_id, zy) for zy in _shared(same, other)}
        statistics = item.result.table == "statistics"
        for other in prepared[:index]:
            overlap = _shared(other, item)
            if overlap and statistics:
                problems.append(LedgerError(
                    f"this table and {other.result.source} both give the figures of {_zone_years(kb, overlap)}; a "
                    "statistics table has one row per area and year, and so does the knowledge base", location=where,
                    hint="import the one whose figures are right (or merge them into one table)"))
            elif overlap and not add:
                problems.append(LedgerError(
                    f"this ledger and {other.result.source} both hold {_zone_years(kb, overlap)}; an office keeps one "
                    "ledger per zone and year", location=where,
                    hint="merge them into one ledger, or give --add to import both (the rows of both then count)"))
        for other in held.values():
            if other.ledger_id == lid or other.ledger_id in running:
                continue
            overlap = {zy for zy in _shared(item, other) if (other.ledger_id, zy) not in kept_before}
            if not overlap:
                continue
            shown = f"{other.file or other.ledger_id} ({kb.layout.relative(other.evidence)})"
            if statistics and not replace:
                problems.append(LedgerError(
                    f"the figures of {_zone_years(kb, overlap)} already come from another statistics table: {shown}; "
                    "the knowledge base keeps one observation per area and year", location=where,
                    hint="give --replace if this table's figures take the place of that table's for these areas and "
                         "years (they are removed from it)" + ("; --add cannot keep two sets of figures for one area "
                                                               "and year" if add else "")))
            elif add:
                notes.setdefault(lid, []).append(f"added beside {shown} for {_zone_years(kb, overlap)}")
            elif replace:
                for zy in overlap:  # the rows of the kinds this ledger now holds for that zone and year
                    removals.setdefault(other.ledger_id, {}).setdefault(zy, set()).update(item.kinds[zy])
                replaced = overlap if statistics else {z: other.zone_years[z] for z in overlap}  # a table: one row each
                notes.setdefault(lid, []).append(f"replaces {shown} for {_zone_years(kb, replaced)}")
            else:
                counted = {z: other.zone_years[z] for z in overlap}
                problems.append(LedgerError(
                    f"{_zone_years(kb, counted)} already {'has' if len(counted) == 1 else 'have'} a ledger: {shown}; "
                    "an office keeps one ledger per zone and year", location=where,
                    hint="give --replace if this ledger takes the place of that one for this zone and year (its "
                         "evidence there is removed), or --add if it is a second ledger kept on purpose (the rows of "
                         "both then count)"))
    if problems:
        raise LedgerErrors(problems, limit=limits.MAX_ERRORS)
    changes = [files.FileChange(p.result.target, _turtle(p.graph, p.result.stored, p.result.table)) for p in prepared]
    for lid, zone_years in sorted(removals.items()):
        changes.append(_without(held[lid], zone_years))
    return changes, notes


# how the messages about an empty file name each kind of table, what it holds and what a row is
_EMPTY_WORDS = {"ledger": ("ledger", "the evidence", "that evidence", "one row per evidence item", "template.xlsx"),
                "statistics": ("table", "the figures", "those figures", "one row per area and year",
                               "statistics-template.xlsx")}


def _empty(kb: KnowledgeBase, item: Prepared, same: _Held | None) -> LedgerError:
    where = Location(item.result.source)
    table, held, those, rows, template = _EMPTY_WORDS[item.result.table]
    if same is not None and same.zone_years:
        # a statistics table has one row per area and year: no counts
        zone_years = set(same.zone_years) if item.result.table == "statistics" else same.zone_years
        return LedgerError(
            f"the {table} has no rows, and importing it would delete {held} its earlier import holds: "
            f"{_zone_years(kb, zone_years)} in {kb.layout.relative(same.evidence)}", location=where,
            hint="check that you picked the right file and that its rows are on the sheet that is read; to remove "
                 f"{those} on purpose, delete {kb.layout.relative(same.evidence)}")
    return LedgerError(f"the {table} has no rows below its header: nothing to import", location=where,
                       hint=f"fill in {rows} below the header row (see kb/ledgers/{template})")


def _without(held: _Held, removed: dict) -> files.FileChange:
    """The change that removes a ledger's rows of some kinds for some zones and years ((zone, year) → kinds):
    its file rewritten, or deleted when no row is left."""
    graph = parse_turtle(held.evidence, held.evidence.name)
    zone_property, year_property = DIMENSIONS[held.table]
    for item in list(graph.subjects(PKB.ledgerRow)):
        zone, year = graph.value(item, zone_property), graph.value(item, year_property)
        kinds = removed.get((URIRef(str(zone)), int(year.toPython())), set())
        if kinds & set(graph.objects(item, RDF.type)):
            for source in list(graph.objects(item, PKB.figureSource)):  # where an observation's figures came from
                graph.remove((source, None, None))
            graph.remove((item, None, None))
    if not any(True for _ in graph.subjects(PKB.ledgerRow)):
        return files.FileChange(held.evidence, None)
    return files.FileChange(held.evidence, _turtle(graph, held.file or held.ledger_id, held.table))


def _zone_years(kb: KnowledgeBase, zone_years) -> str:
    """样例·福州乙开发区 2021 (61 items), … as a message shows zones and years."""
    parts = []
    for (zone, year) in sorted(zone_years, key=lambda zy: (str(zy[0]), zy[1])):
        count = zone_years[(zone, year)] if isinstance(zone_years, dict) else None
        label = kb.label(zone) or curie(zone)
        parts.append(f"{label} {year}" + (f" ({count} item{'s' if count != 1 else ''})" if count is not None else ""))
    return ", ".join(parts)


def evidence_text(item: Prepared) -> str:
    """The Turtle an import writes for a ledger: a header naming the ledger, then its evidence.
    `policykb generate` writes its evidence files with this too, so they are what an import would write."""
    return _turtle_text(item.graph, item.result.stored, item.result.table)


def _turtle(graph: Graph, stored: str, table: str = "ledger") -> bytes:
    return _turtle_text(graph, stored, table).encode("utf-8")


def _turtle_text(graph: Graph, stored: str, table: str = "ledger") -> str:
    what, source = ("Observations", "statistics table") if table == "statistics" else ("Evidence", "ledger")
    return (f"# {what} imported by `policykb import` from the {source} {stored}.\n"
            f"# Do not edit: change the {source} and import it again (the import replaces this file).\n\n"
            + graph.serialize(format="turtle"))


def _with_notes(result: ImportResult, notes: list[str]) -> ImportResult:
    from dataclasses import replace as replaced

    return replaced(result, notes=tuple(result.notes) + tuple(notes))
