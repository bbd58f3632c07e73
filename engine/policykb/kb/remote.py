"""A SPARQL 1.1 server as the store: Oxigraph server, Apache Jena Fuseki, QLever or any other that speaks
the SPARQL 1.1 Query, Update and Graph Store protocols.

`--store URL` (or POLICYKB_STORE) names the server:

    http://127.0.0.1:7878                 an Oxigraph server (`oxigraph serve`): /query, /update, /store
    oxigraph:http://host:7878             the same, said explicitly
    fuseki:http://host:3030/ds            a Fuseki dataset: /ds/query, /ds/update, /ds/data
    qlever:http://host:7001               QLever: queries and updates at the root (no Graph Store protocol:
                                          graphs are written with INSERT DATA); QLEVER_ACCESS_TOKEN is sent
    sparql:QUERY,UPDATE[,GRAPHS]          any other server: its three endpoints, comma-separated

Queries see the union of the knowledge base's graphs (Oxigraph's `union-default-graph`, Fuseki's
`urn:x-arq:UnionGraph`, QLever's default graph; a generic server must be set up so). The knowledge base's
files stay on this machine and are the source of truth; the server is kept in step with them by digest
like the embedded store, its manifest in the graph <urn:policykb:manifest>. Results come back as
SPARQL JSON and N-Triples and are read by pyoxigraph.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef

from ..errors import Location, QueryError, StorageError, UsageError
from ..namespace import bind_prefixes
from . import sparql
from ..namespace import PKB
from .store import (GRAPH_BASE, MANIFEST_GRAPH, PREFIX_MAP, QUERY_BASE, GraphInfo, Result, check_query, graph_name,
                    syntax_error, wrap)
from .terms import plain, to_ox, to_rdflib

TIMEOUT = float(os.environ.get("POLICYKB_STORE_TIMEOUT", "300"))
MAX_RESPONSE = int(os.environ.get("POLICYKB_STORE_MAX_RESPONSE", str(2 * 2**30)))
_JSON = "application/sparql-results+json"
_NT = "application/n-triples"
_MANIFEST = "SELECT ?g ?p ?o WHERE { GRAPH <urn:policykb:manifest> { ?g ?p ?o } }"
_GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
_GRAPH_TRIPLES = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"


@dataclass(frozen=True)
class Endpoints:
    """Where a server answers queries, updates and graph reads and writes, and how it is asked for the union
    of all graphs."""

    kind: str
    query: str
    update: str
    graphs: str | None  # the Graph Store protocol endpoint; None: graphs are written with SPARQL Update
    union: tuple[tuple[str, str], ...]  # request parameters that make the default graph the union

    @classmethod
    def parse(cls, spec: str) -> "Endpoints":
        kind, _, rest = spec.partition(":")
        if kind in ("http", "https"):
            kind, rest = "oxigraph", spec
        if kind == "oxigraph":
            base = _http(rest).rstrip("/")
            return cls(kind, f"{base}/query", f"{base}/update", f"{base}/store", (("union-default-graph", ""),))
        if kind == "fuseki":
            base = _http(rest).rstrip("/")
            return cls(kind, f"{base}/query", f"{base}/update", f"{base}/data",
                       (("default-graph-uri", "urn:x-arq:UnionGraph"),))
        if kind == "qlever":
            base = _http(rest).rstrip("/") + "/"
            return cls(kind, base, base, None, ())
        if kind == "sparql":
            parts = [p.strip() for p in rest.split(",")]
            if len(parts) not in (2, 3):
                raise UsageError(f"--store {spec!r}: a generic server is sparql:QUERY_URL,UPDATE_URL[,GRAPH_STORE_URL]",
                                 hint="e.g. sparql:http://host/query,http://host/update,http://host/data")
            return cls(kind, _http(parts[0]), _http(parts[1]), _http(parts[2]) if len(parts) == 3 else None, ())
        raise UsageError(f"--store {spec!r} names no store policykb knows",
                         hint="give disk, memory, a URL of an Oxigraph server, or fuseki:URL, qlever:URL, "
                              "sparql:QUERY,UPDATE[,GRAPHS] (see README, Stores)")


def _http(url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url!r} is not an http(s) URL", hint="write e.g. http://127.0.0.1:7878")
    return url.strip()


class RemoteStore:
    """A SPARQL 1.1 server behind the Store interface (see the module docstring)."""

    def __init__(self, endpoints: Endpoints, *, timeout: float = TIMEOUT):
        self.endpoints = endpoints
        self.timeout = timeout
        self.location = endpoints.query
        self._names: list[str] | None = None
        self._token = os.environ.get("QLEVER_ACCESS_TOKEN") if endpoints.kind == "qlever" else None

    @classmethod
    def from_url(cls, spec: str) -> "RemoteStore":
        return cls(Endpoints.parse(spec))

    # ---- HTTP ---------------------------------------------------------------------------------

    def _request(self, url: str, *, method: str = "GET", body: bytes | None = None,
                 content_type: str | None = None, accept: str | None = None, params=()) -> bytes:
        if params:
            url = url + ("&" if "?" in url else "?") + urllib.parse.urlencode(list(params))
        request = urllib.request.Request(url, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if accept:
            request.add_header("Accept", accept)
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = response.read(MAX_RESPONSE + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace").strip()
            if exc.code == 400:
                raise QueryError(f"the store refused the request: {detail or exc.reason}",
                                 location=Location(self.location)) from None
            raise StorageError(f"the store at {url.split('?')[0]} answered {exc.code} {exc.reason}: {detail[:300]}",
                               location=Location(self.location),
                               hint="check that the server is running and allows this (updates need a read-write "
                                    "server)") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StorageError(f"cannot reach the store at {url.split('?')[0]}: {reason}",
                               location=Location(self.location),
                               hint="start the server, or check --store / POLICYKB_STORE") from None
        if len(data) > MAX_RESPONSE:
            raise StorageError(f"the store's answer is larger than {MAX_RESPONSE} bytes",
                               location=Location(self.location),
                               hint="narrow the query (LIMIT), or raise POLICYKB_STORE_MAX_RESPONSE")
        return data

    def _update(self, text: str) -> None:
        self._request(self.endpoints.update, method="POST", body=text.encode("utf-8"),
                      content_type="application/sparql-update")

    # ---- reading ------------------------------------------------------------------------------

    def query(self, text: str, bindings: Mapping[str, object] | None = None, *, allow_service: bool = False,
              default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = (), name: str = "query") -> Result:
        shape = check_query(text, allow_service=allow_service, name=name)
        bound = sparql.bind(text, {str(k): v for k, v in (bindings or {}).items()}, PREFIX_MAP)
        declared = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIX_MAP.items()
                           if f"{p}:" in bound and f"PREFIX {p}:" not in bound)
        full = f"BASE <{QUERY_BASE}>\n{declared}{bound}"
        params: list[tuple[str, str]] = []
        if default_graphs or named_graphs:
            params += [("default-graph-uri", g) for g in default_graphs] + [("named-graph-uri", g) for g in named_graphs]
        elif not shape.from_graphs and not shape.from_named:
            params += list(self.endpoints.union)
        graphish = shape.form in ("CONSTRUCT", "DESCRIBE")
        try:  # parsed here first, so that a mistake is named by line and column before anything is sent
            ox.Store().query(bound, base_iri=QUERY_BASE, prefixes=PREFIX_MAP) if not shape.services else None
        except SyntaxError as exc:
            raise syntax_error(exc, name, text) from None
        except (RuntimeError, ValueError):
            pass
        data = self._request(self.endpoints.query, method="POST", body=full.encode("utf-8"),
                             content_type="application/sparql-query", accept=_NT if graphish else _JSON,
                             params=params)
        if graphish:
            return wrap_triples(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
        return wrap(ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON))

    def select(self, text: str, bindings: Mapping[str, object] | None = None) -> Iterator[tuple]:
        result = self.query(text, bindings)
        return (tuple(plain(v) for v in values) for values in result.raw())

    def graph_names(self) -> list[str]:
        if self._names is None:
            names = (graph_name(str(row.g)) for row in self.query(_GRAPHS))
            self._names = sorted(n for n in names if n is not None)
        return list(self._names)

    def manifest(self) -> dict[str, GraphInfo]:
        found: dict[str, dict] = {}
        for g, p, o in self.select(_MANIFEST):
            name = graph_name(str(g))
            if name is not None:
                found.setdefault(name, {})[str(p)] = o
        return {name: GraphInfo(name, str(v.get(str(PKB.sha256), "")), int(v.get(str(PKB.tripleCount), 0) or 0))
                for name, v in found.items() if v.get(str(PKB.sha256)) is not None}

    def quads(self, name: str) -> Iterator:
        graph = ox.NamedNode(str(_graph(name)))
        if self.endpoints.graphs:
            data = self._request(self.endpoints.graphs, accept=_NT, params=[("graph", str(_graph(name)))])
            triples = ox.parse(data, format=ox.RdfFormat.N_TRIPLES)
        else:
            triples = (ox.Triple(*t) for t in self.query(_GRAPH_TRIPLES, {"g": _graph(name)}).raw_triples())
        return (ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)

    def graph(self, name: str) -> Graph:
        graph = Graph()
        bind_prefixes(graph)
        for quad in self.quads(name):
            graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
        return graph

    get = graph

    def triple_count(self) -> int:
        return sum(info.triples for info in self.manifest().values())

    # ---- writing ------------------------------------------------------------------------------

    # Updates name graphs with terms written by sparql.term_text, which escapes whatever could end them.

    def _forget(self, name: str) -> None:
        self._update("DELETE WHERE { GRAPH <" + MANIFEST_GRAPH + "> { " + sparql.term_text(_graph(name))
                     + " ?p ?o } }")

    def _remember(self, name: str, digest: str, triples: int) -> None:
        term = sparql.term_text
        statements = " ".join([term(_graph(name)), "a", term(PKB.SourceGraph), ";", term(PKB.sourceFile),
                               term(Literal(name)), ";", term(PKB.sha256), term(Literal(digest)), ";",
                               term(PKB.tripleCount), term(Literal(int(triples))), "."])
        self._update("INSERT DATA { GRAPH <" + MANIFEST_GRAPH + "> { " + statements + " } }")

    def _write(self, name: str, ntriples: bytes) -> None:
        graph = _graph(name)
        if self.endpoints.graphs:
            self._request(self.endpoints.graphs, method="PUT", body=ntriples, content_type=_NT,
                          params=[("graph", str(graph))])
            return
        self._update("DROP SILENT GRAPH " + sparql.term_text(graph))
        lines = ntriples.decode("utf-8").splitlines()
        for start in range(0, len(lines), 10_000):  # N-Triples lines are valid triples in INSERT DATA
            self._update("INSERT DATA { GRAPH " + sparql.term_text(graph) + " {\n"
                         + "\n".join(lines[start:start + 10_000]) + "\n} }")

    def load_source(self, name: str, data: bytes, digest: str, base: str) -> int:
        """Replace graph `name` with the Turtle `data` (parsed here, sent as N-Triples) and record its digest;
        the manifest entry goes first and comes back last, as in the embedded store."""
        triples = list(ox.parse(data, format=ox.RdfFormat.TURTLE, base_iri=base))
        self._forget(name)
        self._write(name, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
        count = len(set(triples))  # a triple stated twice is one triple
        self._remember(name, digest, count)
        self._names = None
        return count

    def put(self, name: str, graph: Graph, digest: str = "") -> None:
        triples = [ox.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in graph]
        data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        self._forget(name)
        self._write(name, data)
        self._remember(name, digest or _digest(data), len(triples))
        self._names = None

    def remove(self, name: str) -> None:
        self._forget(name)
        self._update("DROP SILENT GRAPH " + sparql.term_text(_graph(name)))
        self._names = None

    def close(self) -> None:
        pass


def wrap_triples(triples) -> Result:
    return Result("CONSTRUCT", triples=((t.subject, t.predicate, t.object) for t in triples))


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(b"\n".join(sorted(data.splitlines()))).hexdigest()


def _graph(name: str) -> URIRef:
    """The graph of a source, refused if its name could not stand in an IRI."""
    if any(c in name for c in '<>"{}|^`\\ \n\t'):
        raise StorageError(f"{name!r} cannot name a graph", location=Location(name),
                           hint="source file names hold no spaces or <>\"{}|^`\\")
    return URIRef(GRAPH_BASE + name)
