"""Check the knowledge base against its SHACL shapes and its integrity checks, in time linear in its size.

pySHACL checks the shapes (ontology/shapes.ttl); the integrity checks that span resources (catalogue
totals, rubric points, sample marking, rows repeated across ledgers) are SPARQL queries in
queries/checks/, run by the store. Both become Violations that name the file and line of the resource,
the property, and what to write instead.

The whole knowledge base is never copied into one rdflib graph. Its reference data (every graph that
holds no evidence: the ontology, documents, catalogue, measures, units, places, zones) is validated once;
the evidence graphs are validated a chunk at a time, each chunk beside the resources its items point to
(the statements about them: their types, schemes, labels), with pySHACL looking only at the chunk's own
resources. A change — an import — is validated the same way on its own graphs, and its integrity checks run
on a scratch store holding the new graphs, the other evidence of the same zones and the ontology: the cost
follows the size of the change, not of the knowledge base.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from ..errors import ValidationError, Violation
from ..namespace import bind_prefixes, curie
from .load import KnowledgeBase, load_shapes
from .queries import library
from .store import OxigraphStore

_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
CHUNK_TRIPLES = 40_000
CHUNK_SUBJECTS = 100  # new resources validated by one pySHACL call (validate_change)
_ABOUT = """SELECT ?s ?p ?o WHERE { ?s ?p ?o }"""


def validate(kb: KnowledgeBase, *, progress: Callable[[Iterable], Iterable] | None = None,
             chunk_triples: int = CHUNK_TRIPLES) -> list[Violation]:
    """Every violation in the knowledge base, sorted by file and line."""
    shapes = load_shapes(kb.layout)
    held = kb.evidence.zones(kb.store, kb.store.manifest())
    reference = [name for name in kb.store.graph_names() if not held.get(name)]
    evidence = [name for name in kb.store.graph_names() if held.get(name)]
    base = Graph()
    bind_prefixes(base)
    for name in reference:
        base += kb.store.graph(name)
    found = _shacl(kb, base, shapes, focus=None)
    chunks = list(_chunks(kb, evidence, chunk_triples))
    for names in progress(chunks) if progress else chunks:
        data = Graph()
        bind_prefixes(data)
        for name in names:
            data += kb.store.graph(name)
        focus = sorted({s for s in data.subjects() if isinstance(s, URIRef)})
        found += _shacl(kb, data + _context(kb, data, base), shapes, focus=focus)
    found += integrity(kb)
    return _sorted(found)


def validate_change(kb: KnowledgeBase, new: Mapping[str, Graph], replaced: Iterable[str] = ()) -> list[Violation]:
    """The violations the knowledge base would have in and around `new` (graph name → its triples, which
    replace those graphs and the graphs `replaced`): the shapes of the new resources, and the integrity
    checks over the new graphs with the other evidence of their zones."""
    shapes = load_shapes(kb.layout)
    data = Graph()
    bind_prefixes(data)
    for graph in new.values():
        data += graph
    focus = sorted({s for s in data.subjects() if isinstance(s, URIRef)})
    found = []
    # pySHACL looks every target up in the list of focus nodes, so one call costs (targets × focus nodes):
    # a ledger of 20,000 rows took minutes. In groups of CHUNK_SUBJECTS the cost follows the rows.
    for start in range(0, len(focus), CHUNK_SUBJECTS):
        chosen = focus[start:start + CHUNK_SUBJECTS]
        part = Graph()
        bind_prefixes(part)
        for subject in chosen:
            for triple in data.triples((subject, None, None)):
                part.add(triple)
        beside = Graph()  # what the group points to among the other new resources (e.g. its ledger)
        own = set(chosen)
        for thing in {o for o in part.objects() if isinstance(o, URIRef) and o not in own}:
            for triple in data.triples((thing, None, None)):
                beside.add(triple)
        found += _shacl(kb, part + beside + _context(kb, part + beside, None), shapes, focus=chosen)
    gone = set(new) | set(replaced)
    manifest = kb.store.manifest()
    held = kb.evidence.zones(kb.store, manifest)
    zones = {str(z) for z in data.objects(None, URIRef("https://w3id.org/policykb/def#zone"))}
    scratch = OxigraphStore()
    for name, source in kb.files.items():
        ontology = source.path.parent == kb.layout.ontology
        if name not in gone and (ontology or zones & set(held.get(name, ()))):
            scratch.put(name, kb.store.graph(name), manifest[name].digest if name in manifest else "")
    for name, graph in new.items():
        scratch.put(name, graph)
    found += integrity(kb, scratch)
    return _sorted(found)


def check(kb: KnowledgeBase, *, context: str = "the knowledge base") -> None:
    """Raise ValidationError when the knowledge base has any violation."""
    violations = validate(kb)
    if any(v.severity == "Violation" for v in violations):
        raise ValidationError(violations, context=context)


def _sorted(found: list[Violation]) -> list[Violation]:
    return sorted(found, key=lambda v: (v.file or "~", v.line or 0, v.focus or "", v.path or "", v.message))


def _chunks(kb: KnowledgeBase, names: list[str], size: int) -> Iterable[list[str]]:
    """The evidence graphs in groups of about `size` triples."""
    manifest = kb.store.manifest()
    group, count = [], 0
    for name in names:
        group.append(name)
        count += manifest[name].triples if name in manifest else 0
        if count >= size:
            yield group
            group, count = [], 0
    if group:
        yield group


def _context(kb: KnowledgeBase, data: Graph, reference: Graph | None) -> Graph:
    """The statements about every resource `data` points to that `data` does not itself describe: what the
    shapes read of them (their types, schemes, labels)."""
    own = {s for s in data.subjects() if isinstance(s, URIRef)}
    pointed = sorted({o for o in data.objects() if isinstance(o, URIRef) and o not in own})
    context = Graph()
    for iri in pointed:
        if reference is not None:
            for triple in reference.triples((iri, None, None)):
                context.add(triple)
            continue
        for s, p, o in kb.store.query(_ABOUT, {"s": iri}):
            context.add((s, p, o))
    return context


def _shacl(kb: KnowledgeBase, data: Graph, shapes: Graph, focus: list | None) -> list[Violation]:
    import pyshacl  # imported here: it is slow to import and only validation needs it

    _conforms, results, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        ont_graph=kb.ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
        focus_nodes=focus,
    )
    return [_violation(kb, results, node) for node in results.subjects(RDF.type, SH.ValidationResult)]


def _violation(kb: KnowledgeBase, results: Graph, node) -> Violation:
    focus = results.value(node, SH.focusNode)
    path = results.value(node, SH.resultPath)
    value = results.value(node, SH.value)
    message = results.value(node, SH.resultMessage)
    severity = _SEVERITY.get(results.value(node, SH.resultSeverity), "Violation")
    shape = results.value(node, SH.sourceShape)
    file, line = kb.locate(focus) if isinstance(focus, URIRef) else (None, None)
    if file is None and isinstance(focus, URIRef):
        # a resource that is only referenced (e.g. a misspelt zone): point at where it is used
        file, line = _where_used(kb, focus)
    return Violation(
        message=str(message) if message else "does not conform to its shape",
        focus=curie(focus) if isinstance(focus, URIRef) else (str(focus) if focus is not None else None),
        focus_label=kb.label(focus) if isinstance(focus, URIRef) else None,
        path=curie(path) if isinstance(path, URIRef) else None,
        value=_show(value),
        severity=severity,
        file=file,
        line=line,
        shape=curie(shape) if isinstance(shape, URIRef) else None,
    )


def integrity(kb: KnowledgeBase, store=None) -> list[Violation]:
    """Run every check in queries/checks/ over the knowledge base's store (or over `store`, a scratch store of
    what it would be); each result row is one violation."""
    found = []
    store = store if store is not None else kb.store
    for check_query in library(kb.layout.queries / "checks").values():
        for row in store.query(check_query.text, name=f"queries/checks/{check_query.name}.rq"):
            values = {str(var): row[var] for var in row.labels if row[var] is not None}
            focus = values.get("focus")
            message = check_query.message.format_map(_Shown(values)) if check_query.message else check_query.title
            file, line = kb.locate(focus) if isinstance(focus, URIRef) else (None, None)
            found.append(Violation(
                message=message,
                focus=_show(focus),
                focus_label=kb.label(focus) if isinstance(focus, URIRef) else None,
                path=check_query.about or None,
                severity=check_query.severity,
                file=file,
                line=line,
                shape=f"queries/checks/{check_query.name}.rq",
                check="integrity",
            ))
    return found


class _Shown(dict):
    """Message placeholders: {sum} shows the value of ?sum; unknown names stay visible."""

    def __init__(self, values):
        super().__init__({k: _show(v) for k, v in values.items()})

    def __missing__(self, key):
        return "{" + key + "}"


def _show(value) -> str | None:
    if value is None:
        return None
    return curie(value) if isinstance(value, URIRef) else str(value)


def _where_used(kb: KnowledgeBase, term: URIRef) -> tuple[str | None, int | None]:
    for row in kb.store.query("SELECT ?s WHERE { ?s ?p ?o FILTER (isIRI(?s)) } LIMIT 1", {"o": term}):
        return kb.locate(row.s)
    return None, None
