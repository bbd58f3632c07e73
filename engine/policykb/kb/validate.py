"""Check the knowledge base against its SHACL shapes and its integrity checks.

pySHACL checks the shapes (ontology/shapes.ttl); the integrity checks that span resources
(catalogue totals, rubric points, sample marking) are SPARQL queries in queries/checks/, each run
once. Both become Violations that name the file and line of the resource, the property, and what to
write instead.
"""

from __future__ import annotations

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from ..errors import ValidationError, Violation
from ..namespace import curie
from .load import KnowledgeBase, load_shapes
from .queries import library

_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


def validate(kb: KnowledgeBase, *, data: Graph | None = None, shapes: Graph | None = None) -> list[Violation]:
    """All violations of the shapes in `data` (default: the whole knowledge base), sorted by file and line."""
    import pyshacl  # imported here: it is slow to import and only validation needs it

    whole = data is None
    data = kb.store.union() if whole else data
    shapes = shapes if shapes is not None else load_shapes(kb.layout)
    _conforms, results, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        ont_graph=kb.ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    violations = [_violation(kb, results, node) for node in results.subjects(RDF.type, SH.ValidationResult)]
    violations += integrity(kb, None if whole else data)
    return sorted(violations, key=lambda v: (v.file or "~", v.line or 0, v.focus or "", v.path or "", v.message))


def check(kb: KnowledgeBase, *, data: Graph | None = None, context: str = "the knowledge base") -> None:
    """Raise ValidationError when the knowledge base (or `data`) has any violation."""
    violations = validate(kb, data=data)
    if any(v.severity == "Violation" for v in violations):
        raise ValidationError(violations, context=context)


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


def integrity(kb: KnowledgeBase, data: Graph | None = None) -> list[Violation]:
    """Run every check in queries/checks/ over the knowledge base (or over `data`, a graph of what it would
    be); each result row is one violation."""
    found = []
    store = kb.store
    if data is not None:
        from .store import OxigraphStore

        store = OxigraphStore()
        store.put("data", data)
    for check_query in library(kb.layout.queries / "checks").values():
        for row in store.query(check_query.text):
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
