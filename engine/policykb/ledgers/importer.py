"""Import ledgers into the knowledge base, all or nothing.

A bad cell stops the import with the file, row and column and what to write instead; the knowledge
base is written only when every row is good and the new evidence passes the SHACL shapes.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef

from ..errors import LedgerError, Location
from ..kb.load import KnowledgeBase
from ..namespace import PKB, curie
from .convert import ledger_id, to_graph
from .read import read
from .vocabulary import Vocabulary


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
            earlier = {str(f) for f in kb.store.graph(item.result.graph_name).objects(None, PKB.ledgerFile)}
            if earlier and item.result.source not in earlier:
                raise LedgerError(
                    f"{item.result.graph_name} already holds the evidence of another ledger of the same name "
                    f"({', '.join(sorted(earlier))})", location=Location(item.result.source),
                    hint="a ledger's file name is its id: rename this file, or give --replace to replace that evidence")
    _check(kb, prepared, vocabulary)
    if write:  # the store catches up with the files when the knowledge base is next opened
        for item in prepared:
            _write_atomically(evidence_text(item), item.result.target)
    return [p.result for p in prepared]


def import_ledger(kb: KnowledgeBase, path: Path, **options) -> ImportResult:
    """Import one ledger (see import_ledgers)."""
    return import_ledgers(kb, [path], **options)[0]


def _check(kb: KnowledgeBase, prepared: list[Prepared], vocabulary: Vocabulary) -> None:
    """Check the new evidence as the knowledge base would hold it (kb.validate.validate_change: its shapes,
    and the integrity checks over it and the other evidence of its zones); report its violations by row."""
    from ..kb.validate import validate_change

    rows: dict[str, tuple[str, int]] = {}
    for item in prepared:
        for subject, row in item.graph.subject_objects(PKB.ledgerRow):
            rows[str(subject)] = (item.result.source, int(row))
    mine = set(rows)
    for item in prepared:
        mine |= {str(o) for o in item.graph.objects() if isinstance(o, URIRef)}
    problems = [v for v in validate_change(kb, {item.result.graph_name: item.graph for item in prepared})
                if v.severity == "Violation" and v.focus and _expand(v.focus) in mine]
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


def evidence_text(item: Prepared) -> str:
    """The Turtle an import writes for a ledger: a header naming the ledger, then its evidence.
    `policykb generate` writes its evidence files with this too, so they are what an import would write."""
    return (f"# Evidence imported by `policykb import` from the ledger {item.result.source}.\n"
            f"# Do not edit: change the ledger and import it again (the import replaces this file).\n\n"
            + item.graph.serialize(format="turtle"))


def _write_atomically(text: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
