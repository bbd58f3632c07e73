"""Load the ontology and the Turtle knowledge base into a store, one named graph per file.

A file that does not parse stops the load with its path, line and column; nothing is half-loaded.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from rdflib import Graph, URIRef
from rdflib.plugins.parsers.notation3 import BadSyntax

from ..errors import Location, TurtleSyntaxError
from ..namespace import bind_prefixes
from .layout import Layout
from .store import MemoryStore, Store

SHAPES_FILE = "shapes.ttl"


@dataclass(frozen=True)
class SourceFile:
    """One Turtle file as loaded: where it is, the graph it became and its size."""

    name: str  # path relative to the layout root, e.g. kb/zones/ftz.ttl
    path: Path
    triples: int
    digest: str = ""  # SHA-256 of the file's bytes, hex


def parse_turtle(path: Path, name: str | None = None) -> Graph:
    """Parse one Turtle file, turning rdflib's syntax errors into a TurtleSyntaxError with a location."""
    name = name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise TurtleSyntaxError(
            f"the file is not UTF-8 text (byte {exc.start})",
            location=Location(name, line),
            hint="save the file as UTF-8; Turtle files must be UTF-8",
        ) from None
    return parse_turtle_text(text, name, base=path.resolve().as_uri())


def parse_turtle_text(text: str, name: str, base: str | None = None) -> Graph:
    """Parse Turtle from a string; errors name `name` with line and column."""
    graph = Graph()
    bind_prefixes(graph)
    try:
        graph.parse(data=text, format="turtle", publicID=base)
    except BadSyntax as exc:
        line = exc.lines + 1
        offset = getattr(exc, "_i", 0) or 0
        line_start = text.rfind("\n", 0, offset) + 1
        column = offset - line_start + 1
        why = getattr(exc, "_why", None) or str(exc)
        raise TurtleSyntaxError(
            f"Turtle syntax error: {why}",
            location=Location(name, line, column),
            hint=_syntax_hint(why),
        ) from None
    except Exception as exc:  # rdflib raises plain exceptions for some literal errors
        match = re.search(r"line (\d+)", str(exc))
        raise TurtleSyntaxError(
            f"Turtle syntax error: {exc}",
            location=Location(name, int(match.group(1)) if match else None),
            hint="check the statement near this line against the Turtle grammar (https://www.w3.org/TR/turtle/)",
        ) from None
    return graph


def _syntax_hint(why: str) -> str:
    if "not bound" in why:
        return "declare the prefix at the top of the file, e.g. @prefix pkb: <https://w3id.org/policykb/def#> ."
    if "newline found in string" in why or "unterminated" in why.lower():
        return 'close the string with a matching quote, or use """triple quotes""" for text spanning lines'
    if "expected" in why.lower() and "." in why:
        return "end each statement with ' .', separate predicates with ' ;' and objects with ' ,'"
    return "end each statement with ' .', separate predicates with ' ;' and objects with ' ,'; quote literals"


@dataclass
class KnowledgeBase:
    """The loaded knowledge base: its layout, store and the files it came from."""

    layout: Layout
    store: Store
    files: dict[str, SourceFile] = field(default_factory=dict)
    ontology: Graph = field(default_factory=Graph)
    _texts: dict[str, str] = field(default_factory=dict, repr=False)

    def query(self, text: str, bindings=None):
        return self.store.query(text, bindings)

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
        for name in self.store.graph_names():
            graph = self.store.get(name)
            if (ident, None, None) in graph:
                return name, self._line_of(name, graph, ident)
        return None, None

    def _line_of(self, name: str, graph: Graph, ident: URIRef) -> int | None:
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


def data_files(layout: Layout) -> list[tuple[str, Path]]:
    """Every Turtle file that makes up the knowledge base: the ontology (without shapes), then kb/."""
    found = []
    for path in sorted(layout.ontology.glob("*.ttl")):
        if path.name != SHAPES_FILE:
            found.append((layout.relative(path), path))
    for path in sorted(layout.kb.rglob("*.ttl")):
        if any(part.startswith(".") for part in path.relative_to(layout.kb).parts):
            continue  # hidden: the state folder, temporary files of a change being written
        found.append((layout.relative(path), path))
    return found


def load(layout: Layout | None = None, *, store: Store | None = None,
         progress: Callable[[Iterable], Iterable] | None = None) -> KnowledgeBase:
    """Parse every file first, then add them to the store: a syntax error leaves the store untouched."""
    layout = layout or Layout.bundled()
    store = store or MemoryStore()
    files = data_files(layout)
    parsed: list[tuple[str, Path, Graph, str]] = []
    iterator = progress(files) if progress else files
    for name, path in iterator:
        parsed.append((name, path, parse_turtle(path, name), hashlib.sha256(path.read_bytes()).hexdigest()))
    kb = KnowledgeBase(layout=layout, store=store)
    ontology = Graph()
    bind_prefixes(ontology)
    with store.transaction():
        for name, path, graph, digest in parsed:
            store.put(name, graph)
            kb.files[name] = SourceFile(name=name, path=path, triples=len(graph), digest=digest)
            if path.parent == layout.ontology:
                ontology += graph
    kb.ontology = ontology
    return kb


def load_shapes(layout: Layout) -> Graph:
    """The SHACL shapes graph (ontology/shapes.ttl)."""
    path = layout.ontology / SHAPES_FILE
    return parse_turtle(path, layout.relative(path))


def load_ontology(layout: Layout | None = None) -> Graph:
    """The ontology alone (ontology/*.ttl without the shapes), for checks of rule files that need no knowledge base."""
    layout = layout or Layout.bundled()
    graph = Graph()
    bind_prefixes(graph)
    for name, path in data_files(layout):
        if path.parent == layout.ontology:
            graph += parse_turtle(path, name)
    return graph
