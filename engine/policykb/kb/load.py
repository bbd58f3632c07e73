"""Open a knowledge base: its Turtle files, and the store derived from them, brought in step first.

The store is Oxigraph on disk in the knowledge base's state folder (`.policykb/oxigraph`, generations
so that readers never see a half-written store: kb.generations), Oxigraph in memory (`store="memory"`),
or a SPARQL 1.1 server (`store="http://…"`, kb.remote). Opening compares the files' digests with the
store's manifest and loads only what changed, under the knowledge base's exclusive lock; on an unchanged
knowledge base it takes no lock and reads nothing but the manifest. A change to the files that a killed
command left half done is finished or undone first (kb.files).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable

import pyoxigraph as ox
from rdflib import Graph, URIRef

from ..errors import Location, StorageError, TurtleSyntaxError, UsageError
from ..namespace import bind_prefixes
from . import files as kbfiles
from . import sync
from .evidence import EvidenceIndex, items_of
from .generations import Generations, Pinned
from .layout import Layout
from .lock import KBLock
from .store import OxigraphStore, Store, graph_id

SHAPES_FILE = sync.SHAPES_FILE
STORE_ENV = "POLICYKB_STORE"


@dataclass(frozen=True)
class SourceFile:
    """One Turtle file as loaded: where it is, the graph it became, its size and digest."""

    name: str  # path relative to the layout root, e.g. kb/zones/ftz.ttl
    path: Path
    triples: int
    digest: str = ""  # SHA-256 of the file's bytes, hex


@dataclass
class KnowledgeBase:
    """An open knowledge base: its layout, its store (in step with its files) and the files it came from."""

    layout: Layout
    store: Store
    files: dict[str, SourceFile] = field(default_factory=dict)
    evidence: EvidenceIndex = field(default_factory=lambda: EvidenceIndex(None))
    _pin: Pinned | None = field(default=None, repr=False)
    _texts: dict[str, str] = field(default_factory=dict, repr=False)

    def query(self, text: str, bindings=None):
        return self.store.query(text, bindings)

    @cached_property
    def ontology(self) -> Graph:
        """The ontology (ontology/*.ttl without the shapes) as an rdflib Graph."""
        graph = Graph()
        bind_prefixes(graph)
        for name, source in self.files.items():
            if source.path.parent == self.layout.ontology:
                graph += self.store.graph(name)
        return graph

    def label(self, term) -> str | None:
        """The Chinese (else any) label of a resource, for messages."""
        rows = self.store.query(
            "SELECT ?l WHERE { ?s <http://www.w3.org/2004/02/skos/core#prefLabel>|"
            "<http://www.w3.org/2000/01/rdf-schema#label>|<http://data.europa.eu/eli/ontology#title> ?l }",
            {"s": URIRef(str(term))},
        )
        labels = [r.l for r in rows]
        for lit in labels:
            if getattr(lit, "language", None) == "zh":
                return str(lit)
        return str(labels[0]) if labels else None

    def locate(self, term) -> tuple[str | None, int | None]:
        """The file and line where a resource is described (its first statement as subject)."""
        ident = URIRef(str(term))
        rows = self.store.query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 20", {"s": ident})
        names = sorted(str(r.g)[len(str(graph_id(""))):] for r in rows if str(r.g).startswith(str(graph_id(""))))
        for name in names:
            return name, self._line_of(name, ident)
        return None, None

    def _line_of(self, name: str, ident: URIRef) -> int | None:
        text = self._texts.get(name)
        if text is None:
            source = self.files.get(name)
            if source is None or not source.path.exists():
                return None
            text = source.path.read_text(encoding="utf-8")
            self._texts[name] = text
        forms = [f"<{ident}>"]
        for prefix, ns in re.findall(r"@prefix\s+([\w-]*):\s*<([^>]*)>", text, re.I):
            if str(ident).startswith(ns) and prefix:
                forms.append(f"{prefix}:{str(ident)[len(ns):]}")
        pattern = re.compile(r"^[ \t]*(" + "|".join(re.escape(f) for f in forms) + r")(\s|$)", re.M)
        match = pattern.search(text)
        return text.count("\n", 0, match.start()) + 1 if match else None

    def evidence_items(self, graphs=None) -> dict[str, list]:
        """Graph name → the evidence items of that graph (kb.evidence), of every graph or of `graphs`."""
        return self.evidence.items(self.store, self.store.manifest(), graphs)

    def close(self) -> None:
        """Let go of the store (and the generation this knowledge base reads)."""
        store, self.store = self.store, None  # type: ignore[assignment]
        if store is not None:
            store.close()
        if self._pin is not None:
            self._pin.release()
            self._pin = None

    def __enter__(self) -> "KnowledgeBase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def store_spec(store: str | Store | None) -> str | Store:
    """What the caller asked for, else $POLICYKB_STORE, else the on-disk store."""
    if store is None:
        return os.environ.get(STORE_ENV) or "disk"
    return store


def load(layout: Layout | None = None, *, store: str | Store | None = None,
         progress: Callable[[Iterable], Iterable] | None = None, verify: bool = False,
         doing: str = "") -> KnowledgeBase:
    """Open the knowledge base of `layout` with its store brought in step with its files.

    `store`: "disk" (default), "memory", a SPARQL server's URL, or a Store object (kept in step too).
    A file that does not parse stops with its path, line and column (every such file is named) and
    gets no graph. `verify` hashes every file again instead of trusting unchanged sizes and times."""
    layout = layout or Layout.bundled()
    spec = store_spec(store)
    lock = KBLock(layout.state_dir)
    try:
        scan = sync.scan(layout, verify=verify)
        if scan.strays or kbfiles.needs_recovery(layout.kb):
            lock.acquire(exclusive=True, doing=doing or "recover an unfinished change")
            kbfiles.recover(layout.kb, [layout.kb])
            scan = sync.scan(layout, verify=verify)
        if spec == "disk":
            return _open_disk(layout, scan, lock, progress, verify, doing)
        if isinstance(spec, str) and spec == "memory":
            target: Store = OxigraphStore()
        elif isinstance(spec, str):
            from .remote import RemoteStore
            target = RemoteStore.from_url(spec)
        else:
            target = spec
        return _open_store(layout, scan, target, lock, progress, doing)
    finally:
        lock.release()


def _index(layout: Layout) -> EvidenceIndex:
    return EvidenceIndex(layout.state_dir / "evidence")


def _sources(scan: sync.Scan, store: Store) -> dict[str, SourceFile]:
    manifest = store.manifest()
    return {s.name: SourceFile(s.name, s.path, manifest[s.name].triples if s.name in manifest else 0, s.digest)
            for s in scan.sources}


def _open_store(layout: Layout, scan: sync.Scan, store: Store, lock: KBLock, progress, doing: str) -> KnowledgeBase:
    """A memory or remote store (or one given by the caller): brought in step in place."""
    index = _index(layout)
    todo = sync.plan(scan.sources, store.manifest(), store.graph_names())
    if todo:
        lock.acquire(exclusive=True, doing=doing or "bring the store in step with the files")
        todo = sync.plan(sync.scan(layout).sources, store.manifest(), store.graph_names())

        def indexed(source: sync.Source, triples) -> None:  # from the local file: no round trip to a server
            if not index.has(source.digest):
                if triples is None:
                    triples = ox.parse(path=str(source.path), format=ox.RdfFormat.TURTLE,
                                       base_iri=source.path.resolve().as_uri())
                index.write(source.digest, items_of(triples))

        sync.apply(store, todo, fresh=not store.manifest(), progress=progress, on_loaded=indexed)
        index.flush()
    return KnowledgeBase(layout, store, _sources(scan, store), index)


def _open_disk(layout: Layout, scan: sync.Scan, lock: KBLock, progress, verify: bool, doing: str) -> KnowledgeBase:
    generations = Generations(layout.state_dir / "oxigraph")
    index = _index(layout)
    for _ in range(3):
        pinned = generations.pin()
        if pinned is not None:
            store = OxigraphStore(pinned.path, read_only=True)
            if not sync.plan(scan.sources, store.manifest(), store.graph_names()):
                return KnowledgeBase(layout, store, _sources(scan, store), index, pinned)
            store.close()
            pinned.release()
        # the files changed: make a new generation in step with them
        lock.acquire(exclusive=True, doing=doing or "bring the store in step with the files")
        scan = sync.scan(layout, verify=verify)
        current = generations.current()
        if current is not None:
            probe = OxigraphStore(current, read_only=True)
            todo = sync.plan(scan.sources, probe.manifest(), probe.graph_names())
            probe.close()
            if not todo:
                continue  # another command did it while we waited for the lock
        target = generations.begin()
        writer = None
        try:
            writer = OxigraphStore(target)
            fresh = not writer.manifest()
            todo = sync.plan(scan.sources, writer.manifest(), writer.graph_names())

            def indexed(source: sync.Source, quads) -> None:  # the evidence index is compiled once, here
                if not index.has(source.digest):
                    index.write(source.digest, items_of(quads if quads is not None else writer.quads(source.name)))

            sync.apply(writer, todo, fresh=fresh, progress=progress, on_loaded=indexed)
            if fresh:
                writer.optimize()  # a generation built in bulk is compacted once; later ones start from it
            index.flush()
            writer.write_manifest_file()
            writer.close()
        except BaseException:
            if writer is not None:
                writer.close()  # RocksDB keeps the folder locked while the store object lives
            generations.discard(target)
            raise
        generations.publish(target)
        index.prune({s.digest for s in scan.sources})
    raise StorageError("the files kept changing while the store was brought in step with them",
                       location=Location(str(layout.kb)), hint="run the command again")


def load_shapes(layout: Layout) -> Graph:
    """The SHACL shapes graph (ontology/shapes.ttl)."""
    path = layout.ontology / SHAPES_FILE
    return parse_turtle(path, layout.relative(path))


def parse_turtle(path: Path, name: str | None = None) -> Graph:
    """Parse one Turtle file into an rdflib Graph; a syntax error names the file, line and column."""
    name = name or str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}", location=Location(name)) from None
    return parse_turtle_text(data, name, base=Path(path).resolve().as_uri())


def parse_turtle_text(text: str | bytes, name: str, base: str | None = None) -> Graph:
    """Parse Turtle (checked by Oxigraph's parser, whose errors name line and column) into an rdflib Graph."""
    import pyoxigraph as ox

    from .terms import to_rdflib

    data = text.encode("utf-8") if isinstance(text, str) else text
    graph = Graph()
    bind_prefixes(graph)
    try:
        for quad in ox.parse(data, format=ox.RdfFormat.TURTLE, base_iri=base):
            graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    except SyntaxError as exc:
        raise sync.turtle_error(exc, name, data) from None
    except UnicodeDecodeError as exc:
        raise TurtleSyntaxError(f"the file is not UTF-8 text (byte {exc.start})",
                                location=Location(name, data[: exc.start].count(b"\n") + 1),
                                hint="save the file as UTF-8; Turtle files must be UTF-8") from None
    return graph
