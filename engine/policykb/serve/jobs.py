"""The work one request asks of a worker process: run a query on the worker's store and write the answer.

Each job is a small frozen dataclass that travels to a worker (pickled) and comes back as a Reply: a
SPARQL Protocol answer in the negotiated format, the query page with its results table, a resource page,
a library query's download, or an extra page. Everything that reads the store or costs time — parsing
the query, evaluating it, looking up labels, writing the answer — happens here, inside the worker, so
that the time limit covers all of it and the web process only passes bytes along.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from typing import Callable, Iterable, Mapping, Sequence

from rdflib import Graph, URIRef
from rdflib.term import Identifier

from ..errors import QueryError
from ..kb.load import KnowledgeBase
from ..kb.queries import NamedQuery, Prepared, bind, execute, expand_iri, form, library, prepare
from ..kb.sparql import term_text
from ..kb.store import graph_name
from ..kb.terms import to_rdflib
from ..namespace import ELI, RDFS, SKOS, bind_prefixes
from . import page
from .formats import (
    GRAPH_FORMATS,
    TABLE_FORMATS,
    Format,
    content_type,
    negotiate,
    write_boolean,
    write_graph,
    write_table,
)
from .replies import HTML, Reply, failure

GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")
LABEL_BATCH = 500  # IRIs per label lookup
MAX_LABELLED = 5_000  # IRIs of one page that get a label; the rest are shown by their prefixed names


@dataclass(frozen=True)
class Limits:
    """What one answer may hold, and whether queries may call other endpoints."""

    max_rows: int = 10_000
    allow_service: bool = False


@dataclass
class Context:
    """A worker's knowledge base and limits, shared by the jobs it runs."""

    kb: KnowledgeBase
    limits: Limits

    @cached_property
    def library(self) -> dict[str, NamedQuery]:
        return library(self.kb.layout.queries)


@dataclass(frozen=True)
class Answer:
    """A query's answer, capped at the row limit: a table, a boolean or a graph."""

    form: str
    variables: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = ()
    boolean: bool | None = None
    graph: Graph | None = None
    truncated: bool = False
    seconds: float = 0.0

    def terms(self) -> Iterable:
        if self.graph is not None:
            return (term for triple in self.graph for term in triple)
        return (term for row in self.rows for term in row)


def evaluate(ctx: Context, prepared: Prepared, bindings: Mapping[str, object] | None = None, *,
             default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = ()) -> Answer:
    """Run a prepared query on the worker's store, keeping at most max_rows rows (or triples)."""
    started = time.monotonic()
    result = execute(ctx.kb.store, prepared, bindings, name="query", allow_service=ctx.limits.allow_service,
                     default_graphs=default_graphs, named_graphs=named_graphs)
    kind, cap = form(prepared), ctx.limits.max_rows
    if kind == "ASK":
        return Answer(kind, boolean=bool(result.askAnswer), seconds=time.monotonic() - started)
    if kind in GRAPH_FORMS:
        graph, truncated = Graph(), False
        bind_prefixes(graph)
        for triple in _rdflib_triples(result.raw_triples()):
            if len(graph) >= cap and triple not in graph:
                truncated = True
                break
            graph.add(triple)
        return Answer(kind, graph=graph, truncated=truncated, seconds=time.monotonic() - started)
    variables = tuple(str(v) for v in result.vars)
    rows = [tuple(row) for row in islice(result, cap + 1)]
    return Answer(kind, variables, tuple(rows[:cap]), truncated=len(rows) > cap, seconds=time.monotonic() - started)


def _rdflib_triples(triples):
    """A store's triples as rdflib triples, one at a time (the result streams; the cap stops it early)."""
    def term(value):
        return value if isinstance(value, Identifier) else to_rdflib(value)
    return ((term(s), term(p), term(o)) for s, p, o in triples)


def write(fmt: Format, answer: Answer) -> bytes:
    if answer.graph is not None:
        return write_graph(fmt, answer.graph)
    if answer.boolean is not None:
        return write_boolean(fmt, answer.boolean)
    return write_table(fmt, list(answer.variables), list(answer.rows))


def answer_headers(answer: Answer, limits: Limits) -> dict:
    headers = {"Vary": "Accept", "X-PolicyKB-Seconds": f"{answer.seconds:.3f}"}
    if answer.truncated:
        headers["X-PolicyKB-Truncated"] = f"true; the first {limits.max_rows} are sent"
    return headers


# ---- labels ---------------------------------------------------------------------------------------

# a tiny private query: the labels of a batch of IRIs, given as a VALUES block of RDF terms
_LABELS = ("SELECT ?s ?l WHERE {{ VALUES ?s {{ {values} }} ?s <" + str(SKOS.prefLabel) + ">|<" + str(RDFS.label)
           + ">|<" + str(ELI.title) + "> ?l }}")


def labels(kb: KnowledgeBase, terms: Iterable) -> dict[str, str]:
    """IRI → its Chinese label (else English, else any), for the IRIs among `terms` that have one."""
    iris = sorted({str(t) for t in terms if isinstance(t, URIRef)})[:MAX_LABELLED]
    found: dict[str, tuple[int, str]] = {}
    rank = {"zh": 0, "en": 1}
    for start in range(0, len(iris), LABEL_BATCH):
        values = " ".join(term_text(URIRef(iri)) for iri in iris[start:start + LABEL_BATCH])
        for row in kb.store.query(_LABELS.format(values=values)):
            choice = (rank.get(getattr(row.l, "language", None) or "", 2), str(row.l))
            if str(row.s) not in found or choice < found[str(row.s)]:
                found[str(row.s)] = choice
    return {iri: text for iri, (_, text) in found.items()}


# ---- jobs -----------------------------------------------------------------------------------------

class Job:
    """A request for a worker; run() never raises: a failure becomes its Reply."""

    def run(self, ctx: Context) -> Reply:
        try:
            return self.answer(ctx)
        except Exception as exc:  # noqa: BLE001 — every failure becomes the protocol's answer
            return failure(exc)

    def answer(self, ctx: Context) -> Reply:  # pragma: no cover — every job defines it
        raise NotImplementedError


@dataclass(frozen=True)
class SparqlJob(Job):
    """A SPARQL 1.1 Protocol query: the answer in the format the client negotiated."""

    query: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    accept: str | None = None
    requested: tuple[str, ...] = ()

    def answer(self, ctx: Context) -> Reply:
        prepared = prepare(self.query, "query")
        fmt = negotiate(form(prepared) in GRAPH_FORMS, self.accept, list(self.requested))
        answer = evaluate(ctx, prepared, default_graphs=self.default_graphs, named_graphs=self.named_graphs)
        return Reply(200, write(fmt, answer), content_type(fmt), answer_headers(answer, ctx.limits))


@dataclass(frozen=True)
class PageJob(Job):
    """The query page with a query run (a typed one, or a library query with its parameters)."""

    query: str
    name: str | None = None
    params: tuple[tuple[str, str], ...] = ()

    def answer(self, ctx: Context) -> Reply:
        chosen = ctx.library.get(self.name) if self.name else None
        given = {k: v for k, v in self.params if v.strip()}
        query = self.query or (chosen.text if chosen else "")
        status, answer, found, problem = 200, None, {}, None
        try:
            bindings = bind(chosen, given) if chosen else None
            answer = evaluate(ctx, prepare(query, "query"), bindings)
            found = labels(ctx.kb, answer.terms())
        except Exception as exc:  # noqa: BLE001 — shown on the page with the protocol's status
            reply = failure(exc)
            status, problem = reply.status, reply.body.decode("utf-8")
        html = page.query_page(ctx.library, query=query, chosen=chosen, params=given, answer=answer, labels=found,
                               error=problem, max_rows=ctx.limits.max_rows)
        return Reply(status, html, HTML)


@dataclass(frozen=True)
class LibraryJob(Job):
    """A library query run with its parameters (`/query/NAME?zone=…&format=csv`): a download, or the page."""

    name: str
    params: tuple[tuple[str, str], ...] = ()
    requested: tuple[str, ...] = ()
    accept: str | None = None

    def answer(self, ctx: Context) -> Reply:
        chosen = ctx.library.get(self.name)
        if chosen is None:
            return failure(_unknown_query(self.name, ctx.library))
        if not self.requested or self.requested[-1] == "html":
            return PageJob(chosen.text, chosen.name, self.params).answer(ctx)
        given = {k: v for k, v in self.params if v.strip()}
        bindings = bind(chosen, given)
        prepared = prepare(chosen.text, f"queries/{chosen.name}.rq")
        fmt = negotiate(form(prepared) in GRAPH_FORMS, self.accept, list(self.requested[-1:]))
        answer = evaluate(ctx, prepared, bindings)
        headers = answer_headers(answer, ctx.limits)
        headers["Content-Disposition"] = f'attachment; filename="{chosen.name}.{extension(fmt)}"'
        return Reply(200, write(fmt, answer), content_type(fmt), headers)


def extension(fmt: Format) -> str:
    return {"turtle": "ttl", "json-ld": "jsonld", "rdf+xml": "rdf"}.get(fmt.name, fmt.name)


def _unknown_query(name: str, known: Mapping[str, NamedQuery]) -> QueryError:
    return QueryError(f"the library has no query {name!r}", hint=f"its queries: {', '.join(known)}")


# a resource's statements, outgoing and incoming, each with the graph (source file) that holds it
_OUTGOING = "SELECT ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?p ?o ?g LIMIT {limit}"
_INCOMING = "SELECT ?s ?p ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?p ?s ?g LIMIT {limit}"


@dataclass(frozen=True)
class ResourceJob(Job):
    """A resource's page: every statement about it and every statement pointing at it, with labels."""

    iri: str

    def answer(self, ctx: Context) -> Reply:
        resource = expand_iri(self.iri, "iri")
        cap = ctx.limits.max_rows
        outgoing = [(row.p, row.o, graph_name(str(row.g))) for row in
                    ctx.kb.store.query(_OUTGOING.replace("{limit}", str(cap + 1)), {"s": resource})]
        incoming = [(row.s, row.p, graph_name(str(row.g))) for row in
                    ctx.kb.store.query(_INCOMING.replace("{limit}", str(cap + 1)), {"o": resource})]
        terms = [resource, *(t for row in outgoing + incoming for t in row[:2])]
        html = page.resource_page(resource, outgoing[:cap], incoming[:cap], labels(ctx.kb, terms),
                                  truncated=len(outgoing) > cap or len(incoming) > cap, max_rows=cap)
        return Reply(200, html, HTML)


@dataclass(frozen=True)
class ExtraPageJob(Job):
    """A page mounted beside the endpoint (report pages): `render(kb, params)` returns the HTML document."""

    render: Callable[[KnowledgeBase, Mapping[str, str]], str]
    params: tuple[tuple[str, str], ...] = ()

    def answer(self, ctx: Context) -> Reply:
        return Reply(200, self.render(ctx.kb, dict(self.params)).encode("utf-8"), HTML)


__all__ = ["Answer", "Context", "ExtraPageJob", "GRAPH_FORMATS", "Job", "LibraryJob", "Limits", "PageJob",
           "ResourceJob", "SparqlJob", "TABLE_FORMATS", "evaluate", "labels"]
