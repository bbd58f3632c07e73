"""The triple store behind one small interface: named graphs kept in step with source files, and queries.

The Turtle files under kb/ are the source of truth; a store holds one named graph per file
(`urn:policykb:graph:kb/zones/ftz.ttl`) and, in the graph `urn:policykb:manifest`, the digest and size
of the file each graph was loaded from, so that only changed files are loaded again (kb.sync). Queries
see the union of all graphs. Stages above this module never touch a store's classes directly.

`OxigraphStore` is pyoxigraph, on disk (RocksDB) or in memory; `kb.remote.RemoteStore` is any SPARQL
1.1 server. Query texts are read by `kb.sparql` first: updates are refused, SERVICE is refused unless
allowed (Oxigraph would connect out), and parameters are bound as a VALUES block of RDF terms.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Protocol, Sequence

import pyoxigraph as ox
from rdflib import Graph, URIRef, Variable

from ..errors import Location, QueryError, ServiceRefused, StorageError, UpdateRefused
from ..namespace import BASE, PKB, PREFIXES, bind_prefixes
from . import sparql
from .terms import _ox_named, plain, to_ox, to_rdflib

GRAPH_BASE = "urn:policykb:graph:"
MANIFEST_GRAPH = "urn:policykb:manifest"
MANIFEST_FILE = "manifest.json"  # the manifest of a published generation, beside its files
QUERY_BASE = BASE  # relative IRIs in a query resolve against https://w3id.org/policykb/
PREFIX_MAP = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
_SOURCE_FILE, _SHA256, _TRIPLES = str(PKB.sourceFile), str(PKB.sha256), str(PKB.tripleCount)
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def graph_id(name: str) -> URIRef:
    """The named-graph IRI of a source, e.g. kb/zones/ftz.ttl -> urn:policykb:graph:kb/zones/ftz.ttl."""
    return URIRef(GRAPH_BASE + name)


def graph_name(iri: str) -> str | None:
    """The source name of a named-graph IRI, or None for a graph policykb did not make."""
    return iri[len(GRAPH_BASE):] if iri.startswith(GRAPH_BASE) else None


@dataclass(frozen=True)
class GraphInfo:
    """What the manifest says of one graph: the source it was loaded from, its digest and size."""

    name: str
    digest: str
    triples: int


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

class Row:
    """One solution: values by variable name (`row.zone`, `row["zone"]`), position or Variable, as rdflib
    terms (None where unbound)."""

    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence, index: Mapping[str, int]):
        self._values = values
        self._index = index

    def __getitem__(self, key):
        if isinstance(key, int):
            return to_rdflib(self._values[key])
        position = self._index.get(str(key))
        if position is None:
            raise KeyError(key)
        return to_rdflib(self._values[position])

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        position = self._index.get(name)
        if position is None:
            raise AttributeError(name)
        return to_rdflib(self._values[position])

    def get(self, key, default=None):
        value = self[key] if str(key) in self._index else None
        return default if value is None else value

    @property
    def labels(self) -> dict[str, int]:
        return dict(self._index)

    def asdict(self) -> dict:
        return {name: self[name] for name in self._index if self._values[self._index[name]] is not None}

    def __iter__(self):
        return (to_rdflib(v) for v in self._values)

    def __len__(self) -> int:
        return len(self._values)


class Result:
    """A query's answer: rows (SELECT), a boolean (ASK) or triples (CONSTRUCT, DESCRIBE)."""

    def __init__(self, kind: str, *, variables: Sequence[str] = (), rows: Iterable[Sequence] = (),
                 boolean: bool | None = None, triples: Iterable | None = None):
        self.type = kind
        self.vars = [Variable(v) for v in variables]
        self._index = {v: i for i, v in enumerate(variables)}
        self._rows = rows
        self.askAnswer = boolean
        self._triples = triples
        self._graph: Graph | None = None

    def __iter__(self) -> Iterator[Row]:
        if self.type == "ASK":
            return iter(())
        if self._triples is not None:
            return iter(self.graph)
        index = self._index
        return (Row(values, index) for values in self._rows)

    def __bool__(self) -> bool:
        return bool(self.askAnswer) if self.type == "ASK" else True

    def raw(self) -> Iterator[Sequence]:
        """The rows as tuples of store terms, unconverted (for code that reads many)."""
        return iter(self._rows)

    def raw_triples(self) -> Iterator:
        return iter(self._triples or ())

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            graph = Graph()
            bind_prefixes(graph)
            for triple in self._triples or ():
                graph.add(tuple(to_rdflib(t) for t in triple))
            self._graph = graph
        return self._graph


class Store(Protocol):
    """What the stages above need from a triple store."""

    location: str

    def graph_names(self) -> list[str]: ...
    def manifest(self) -> dict[str, GraphInfo]: ...
    def query(self, text: str, bindings: Mapping[str, object] | None = None, *, allow_service: bool = False,
              default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = ()) -> Result: ...
    def select(self, text: str, bindings: Mapping[str, object] | None = None) -> Iterator[tuple]: ...
    def graph(self, name: str) -> Graph: ...
    def triple_count(self) -> int: ...
    def load_source(self, name: str, data: bytes, digest: str, base: str) -> int: ...
    def put(self, name: str, graph: Graph, digest: str = "") -> None: ...
    def remove(self, name: str) -> None: ...
    def close(self) -> None: ...


def check_query(text: str, *, allow_service: bool = False, name: str = "query") -> sparql.Shape:
    """Refuse what no store may run for policykb: updates, and SERVICE unless allowed."""
    shape = sparql.shape(text, PREFIX_MAP)
    if shape.update:
        raise UpdateRefused("this is a SPARQL Update; policykb runs queries only and never changes the knowledge "
                            "base through SPARQL", location=Location(name),
                            hint="write a SELECT, CONSTRUCT, ASK or DESCRIBE query; change the knowledge base by "
                                 "editing its Turtle files or importing ledgers")
    services = shape.services or _escaped_services(text)
    if services and not allow_service:
        raise ServiceRefused(f"SERVICE <{services[0]}> is refused: it would make policykb connect to another "
                             "address", location=Location(name),
                             hint="query the knowledge base itself; an administrator can start `policykb serve "
                                  "--allow-service` to allow it")
    return shape


def _escaped_services(text: str) -> tuple[str, ...]:
    """SERVICE written with \\u escapes, which some engines expand before parsing (SPARQL 1.1, 19.2)."""
    if "\\u" not in text and "\\U" not in text:
        return ()
    try:
        expanded = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return ("(a query with malformed escapes)",)
    return sparql.shape(expanded, PREFIX_MAP).services


def syntax_error(exc: Exception, name: str, text: str) -> QueryError:
    """An engine's syntax error as a QueryError naming the line and column where the mistake is."""
    hint = ("check brackets, dots between triple patterns and PREFIX declarations near this position; "
            f"predeclared prefixes: {', '.join(sorted(PREFIX_MAP))}")
    unknown = sparql.undeclared_prefix(text, PREFIX_MAP)
    if unknown:
        prefix, line, column = unknown
        return QueryError(f"unknown prefix {prefix}:", location=Location(name, line, column),
                          hint=f"declare it, e.g. PREFIX {prefix}: <http://…#>; predeclared: {', '.join(sorted(PREFIX_MAP))}")
    brackets = sparql.bracket_problem(text)
    if brackets:
        message, line, column = brackets
        return QueryError(f"SPARQL syntax error: {message}", location=Location(name, line, column), hint=hint)
    message = str(exc)
    line, column = sparql.error_position(message)
    detail = message.split(": ", 1)[1] if message.startswith("error at") and ": " in message else message
    expected = detail.split("expected one of ", 1)
    if len(expected) == 2:
        options = [o.strip() for o in expected[1].split(",")]
        detail = expected[0] + "expected one of " + ", ".join(options[:6]) + (f", … ({len(options) - 6} more)"
                                                                               if len(options) > 6 else "")
    near = ""
    if line and column:
        lines = text.splitlines()
        if line <= len(lines):
            rest = lines[line - 1][column - 1:].strip()
            near = (rest[:40] + "…") if len(rest) > 40 else (rest or "end of line")
        else:
            near = "end of query"
    return QueryError(f"SPARQL syntax error: {detail}" + (f", near «{near}»" if near else ""),
                      location=Location(name, line, column), hint=hint)


# ---------------------------------------------------------------------------------------------
# Oxigraph
# ---------------------------------------------------------------------------------------------

class OxigraphStore:
    """pyoxigraph's store: on disk at `path` (read-write, or read-only), or in memory when path is None."""

    def __init__(self, path: Path | None = None, *, read_only: bool = False):
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        self.location = str(self.path) if self.path else "memory"
        try:
            if self.path is None:
                self._store = ox.Store()
            elif read_only:
                self._store = ox.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as exc:
            raise StorageError(f"cannot open the store at {self.path}: {exc}", location=Location(str(self.path)),
                               hint="delete the folder (it is derived from the Turtle files and is rebuilt by the "
                                    "next command) and run the command again") from None
        self._names: list[str] | None = None
        self._manifest: dict[str, GraphInfo] | None = None

    # ---- reading ---------------------------------------------------------------------------

    def graph_names(self) -> list[str]:
        if self._names is None:
            names = (graph_name(g.value) for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))
            self._names = sorted(n for n in names if n is not None)
        return list(self._names)

    def manifest(self) -> dict[str, GraphInfo]:
        """Graph name → what its source was (kept: the store changes only through this object, or not at all
        when it is a published generation opened read-only)."""
        if self._manifest is None:
            self._manifest = self._read_manifest()
        return dict(self._manifest)

    def _read_manifest(self) -> dict[str, GraphInfo]:
        if self.read_only and self.path is not None:
            kept = read_manifest_file(self.path / MANIFEST_FILE)
            if kept is not None:
                return kept
        found: dict[str, dict] = {}
        for quad in self._store.quads_for_pattern(None, None, None, _ox_named(MANIFEST_GRAPH)):
            name = graph_name(quad.subject.value)
            if name is not None:
                found.setdefault(name, {})[quad.predicate.value] = quad.object.value
        return {name: GraphInfo(name, values.get(_SHA256, ""), int(values.get(_TRIPLES, 0) or 0))
                for name, values in found.items() if values.get(_SHA256) is not None}

    def query(self, text: str, bindings: Mapping[str, object] | None = None, *, allow_service: bool = False,
              default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = (), name: str = "query") -> Result:
        """Run a query with `bindings` (variable name → rdflib term) bound; see module docstring."""
        shape = check_query(text, allow_service=allow_service, name=name)
        bound = sparql.bind(text, {str(k): v for k, v in (bindings or {}).items()}, PREFIX_MAP)
        options: dict = {"base_iri": QUERY_BASE, "prefixes": PREFIX_MAP}
        if default_graphs or named_graphs:
            options["default_graph"] = [_ox_named(g) for g in default_graphs] or None
            options["named_graphs"] = [_ox_named(g) for g in named_graphs] or None
        elif not shape.from_graphs and not shape.from_named:
            options["use_default_graph_as_union"] = True
        try:
            answer = self._store.query(bound, **options)
        except SyntaxError as exc:
            raise syntax_error(exc, name, text) from None
        except (RuntimeError, ValueError) as exc:
            raise QueryError(f"the query cannot be evaluated: {exc}", location=Location(name),
                             hint="check the query against SPARQL 1.1") from None
        except OSError as exc:
            raise StorageError(f"the store could not be read: {exc}", location=Location(self.location),
                               hint="delete the store folder; the next command rebuilds it") from None
        return wrap(answer)

    def select(self, text: str, bindings: Mapping[str, object] | None = None) -> Iterator[tuple]:
        """The rows of a SELECT as tuples of plain values (IRIs as text, numbers, booleans), for code that
        reads many rows (facts, graphs)."""
        result = self.query(text, bindings)
        return (tuple(plain(v) for v in values) for values in result.raw())

    def quads(self, name: str) -> Iterator:
        return iter(self._store.quads_for_pattern(None, None, None, _ox_named(GRAPH_BASE + name)))

    def graph(self, name: str) -> Graph:
        """One source's triples as an rdflib Graph (for SHACL and serialisation)."""
        return rdflib_graph(self.quads(name))

    def triple_count(self) -> int:
        counted = self.manifest()
        if counted and set(counted) >= set(self.graph_names()):
            return sum(info.triples for info in counted.values())
        return sum(1 for name in self.graph_names() for _ in self.quads(name))

    def dump(self, name: str) -> bytes:
        """One graph as N-Triples."""
        return self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=_ox_named(GRAPH_BASE + name))

    # ---- writing ---------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.read_only:
            raise StorageError("the store is open for reading only", location=Location(self.location),
                               hint="this is a bug in policykb: report it with the command you ran")

    def _forget(self, name: str) -> None:
        entry = self._store.quads_for_pattern(_ox_named(GRAPH_BASE + name), None, None, _ox_named(MANIFEST_GRAPH))
        for quad in list(entry):
            self._store.remove(quad)

    def _remember(self, name: str, digest: str, triples: int) -> None:
        subject = _ox_named(GRAPH_BASE + name)
        manifest = _ox_named(MANIFEST_GRAPH)
        self._store.extend([
            ox.Quad(subject, _ox_named(_RDF_TYPE), _ox_named(str(PKB.SourceGraph)), manifest),
            ox.Quad(subject, _ox_named(_SOURCE_FILE), ox.Literal(name), manifest),
            ox.Quad(subject, _ox_named(_SHA256), ox.Literal(digest), manifest),
            ox.Quad(subject, _ox_named(_TRIPLES), ox.Literal(str(triples), datatype=_ox_named(
                "http://www.w3.org/2001/XMLSchema#integer")), manifest),
        ])

    def load_source(self, name: str, data: bytes, digest: str, base: str) -> int:
        """Replace graph `name` with the Turtle `data` and record its digest; returns its triple count.

        The manifest entry goes first and comes back last, so a process that dies in between leaves a graph
        the next sync loads again rather than a stale graph that looks current. Raises SyntaxError from the
        parser (the caller names the file)."""
        self._writable()
        graph = _ox_named(GRAPH_BASE + name)
        self._forget(name)
        self._store.clear_graph(graph)
        self._store.load(data, format=ox.RdfFormat.TURTLE, base_iri=base, to_graph=graph)
        triples = sum(1 for _ in self._store.quads_for_pattern(None, None, None, graph))
        self._remember(name, digest, triples)
        self._names = self._manifest = None
        return triples

    def bulk_load_sources(self, sources: Iterable, *, chunk_bytes: int = 32 * 2**20,
                          on_loaded: Callable | None = None, on_error: Callable | None = None) -> None:
        """Load many files into an empty store, fast: each file is parsed and written as N-Quads into a
        buffer that is bulk-loaded (without transactions) a chunk at a time, by a second thread while this one
        parses the next chunk (pyoxigraph lets go of the interpreter while it loads); a file's manifest entry
        is written only once its chunk is in. `sources` yield (name, path, digest, base); on_loaded(name,
        triples) gets each file's parsed triples, on_error(name, data, SyntaxError) each file that does not
        parse."""
        self._writable()
        chunks: queue.Queue = queue.Queue(maxsize=1)
        failure: list[BaseException] = []

        def loader() -> None:
            while True:
                chunk = chunks.get()
                if chunk is None:
                    return
                data, entries = chunk
                try:
                    if not failure:
                        if data:
                            self._store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
                        for name, digest, triples in entries:
                            self._remember(name, digest, triples)
                except BaseException as exc:  # handed back to the caller's thread
                    failure.append(exc)

        worker = threading.Thread(target=loader, name="policykb-bulk-load", daemon=True)
        worker.start()
        buffer = io.BytesIO()
        pending: list[tuple[str, str, int]] = []
        try:
            for name, path, digest, base in sources:
                if failure:
                    break
                data = Path(path).read_bytes()
                try:
                    triples = list(ox.parse(data, format=ox.RdfFormat.TURTLE, base_iri=base))
                except (SyntaxError, UnicodeDecodeError) as exc:
                    if on_error is None:
                        raise
                    on_error(name, data, exc)
                    continue
                # N-Triples ends every statement, and only statements, with " .\n" (a newline inside a literal
                # is written \n), so naming the graph on each line turns them into N-Quads
                lines = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
                buffer.write(lines.replace(b" .\n", f" <{GRAPH_BASE}{name}> .\n".encode("utf-8")))
                pending.append((name, digest, len(set(triples))))  # a triple stated twice is one triple
                if on_loaded is not None:
                    on_loaded(name, triples)
                if buffer.tell() >= chunk_bytes:
                    chunks.put((buffer.getvalue(), pending))
                    buffer, pending = io.BytesIO(), []
            chunks.put((buffer.getvalue(), pending))
        finally:
            chunks.put(None)
            worker.join()
        self._names = self._manifest = None
        if failure:
            raise failure[0]

    def put(self, name: str, graph: Graph, digest: str = "") -> None:
        """Replace graph `name` with the triples of an rdflib Graph (scratch stores, rule tests)."""
        self._writable()
        target = _ox_named(GRAPH_BASE + name)
        self._forget(name)
        self._store.clear_graph(target)
        quads = [ox.Quad(to_ox(s), to_ox(p), to_ox(o), target) for s, p, o in graph]
        self._store.extend(quads)
        if not digest:  # a graph made in memory: its content is its identity
            digest = hashlib.sha256("\n".join(sorted(str(q) for q in quads)).encode("utf-8")).hexdigest()
        self._remember(name, digest, len(graph))
        self._names = self._manifest = None

    def remove(self, name: str) -> None:
        self._writable()
        self._forget(name)
        self._store.remove_graph(_ox_named(GRAPH_BASE + name)) if self._store.contains_named_graph(
            _ox_named(GRAPH_BASE + name)) else None
        self._names = self._manifest = None

    def copy_into(self, other: "OxigraphStore", names: Iterable[str]) -> None:
        """Copy graphs (with their manifest entries) into another store (a scratch copy for rule tests)."""
        manifest = self.manifest()
        for name in names:
            target = _ox_named(GRAPH_BASE + name)
            other._forget(name)
            other._store.clear_graph(target)
            other._store.extend(ox.Quad(q.subject, q.predicate, q.object, target) for q in self.quads(name))
            info = manifest.get(name)
            other._remember(name, info.digest if info else "", info.triples if info else 0)
        other._names = other._manifest = None

    def write_manifest_file(self) -> None:
        """Keep the manifest beside the store's files (a generation about to be published): readers of the
        generation then read it without scanning the manifest graph."""
        if self.path is None:
            return
        data = {name: [info.digest, info.triples] for name, info in sorted(self.manifest().items())}
        temp = self.path / (MANIFEST_FILE + ".tmp")
        temp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(temp, self.path / MANIFEST_FILE)

    def flush(self) -> None:
        if self.path is not None and not self.read_only:
            self._store.flush()

    def optimize(self) -> None:
        """Compact the database's files. A store filled by bulk_load_sources is left in many unsorted files,
        and whole-store queries read it 2–3× slower until it is compacted (replication-counts at 2,600 zones:
        50 s → 22 s on a slow machine of the project's kind); compacting costs about a fifth of the build."""
        if self.path is not None and not self.read_only:
            self._store.optimize()

    def close(self) -> None:
        """Let go of the database (RocksDB keeps its files locked while a Store object lives)."""
        self.flush()
        self._store = None  # type: ignore[assignment]


def read_manifest_file(path: Path) -> dict[str, GraphInfo] | None:
    """A manifest kept beside a generation's files, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {name: GraphInfo(name, str(digest), int(triples)) for name, (digest, triples) in data.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def rdflib_graph(quads: Iterable) -> Graph:
    """Quads (or triples) of the store as an rdflib Graph with the project's prefixes."""
    graph = Graph()
    bind_prefixes(graph)
    for quad in quads:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


def wrap(answer) -> Result:
    """A pyoxigraph answer as a Result."""
    if isinstance(answer, ox.QueryBoolean):
        return Result("ASK", boolean=bool(answer))
    if isinstance(answer, ox.QuerySolutions):
        variables = [v.value for v in answer.variables]
        width = len(variables)
        return Result("SELECT", variables=variables,
                      rows=(tuple(solution[i] for i in range(width)) for solution in answer))
    return Result("CONSTRUCT", triples=((t.subject, t.predicate, t.object) for t in answer))
