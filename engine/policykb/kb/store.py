"""The triple store behind one small interface: load named graphs, query, update, transaction.

Stages above this module never touch rdflib's store classes directly, so that an on-disk or remote
store can stand here without changing them. The default is rdflib's in-memory Dataset, one named
graph per source file, queried as the union of all graphs.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping, Protocol

from rdflib import Dataset, Graph, URIRef
from rdflib.query import Result

from ..namespace import bind_prefixes

GRAPH_BASE = "urn:policykb:graph:"


def graph_id(name: str) -> URIRef:
    """The named-graph IRI of a source, e.g. kb/zones/ftz.ttl -> urn:policykb:graph:kb/zones/ftz.ttl."""
    return URIRef(GRAPH_BASE + name)


class Store(Protocol):
    """What the stages above need from a triple store."""

    def graph_names(self) -> list[str]: ...
    def put(self, name: str, graph: Graph) -> None: ...
    def remove(self, name: str) -> None: ...
    def get(self, name: str) -> Graph: ...
    def query(self, text: str, bindings: Mapping[str, object] | None = None) -> Result: ...
    def update(self, text: str) -> None: ...
    def union(self) -> Graph: ...
    def triple_count(self) -> int: ...
    def transaction(self): ...


class MemoryStore:
    """rdflib's in-memory Dataset with one named graph per source; queries see the union."""

    def __init__(self) -> None:
        self.dataset = Dataset(default_union=True)
        bind_prefixes(self.dataset)
        self._journal: list[dict[str, Graph | None]] = []

    def graph_names(self) -> list[str]:
        names = []
        for ctx in self.dataset.graphs():
            ident = str(ctx.identifier)
            if ident.startswith(GRAPH_BASE):
                names.append(ident[len(GRAPH_BASE):])
        return sorted(names)

    def _remember(self, name: str) -> None:
        if self._journal and name not in self._journal[-1]:
            ident = graph_id(name)
            existing = self.dataset.graph(ident) if name in self.graph_names() else None
            saved = None
            if existing is not None:
                saved = Graph()
                for triple in existing:
                    saved.add(triple)
            self._journal[-1][name] = saved

    def put(self, name: str, graph: Graph) -> None:
        """Replace the named graph `name` with the triples of `graph`."""
        self._remember(name)
        ident = graph_id(name)
        self.dataset.remove_graph(ident)
        target = self.dataset.graph(ident)
        target.addN((s, p, o, target) for s, p, o in graph)

    def remove(self, name: str) -> None:
        self._remember(name)
        self.dataset.remove_graph(graph_id(name))

    def get(self, name: str) -> Graph:
        return self.dataset.graph(graph_id(name))

    def query(self, text: str, bindings: Mapping[str, object] | None = None) -> Result:
        return self.dataset.query(text, initBindings=dict(bindings or {}))

    def update(self, text: str) -> None:
        self.dataset.update(text)

    def union(self) -> Graph:
        """A plain Graph holding every triple (for SHACL, which validates one graph)."""
        merged = Graph()
        bind_prefixes(merged)
        merged.addN((s, p, o, merged) for s, p, o, _ in self.dataset.quads((None, None, None, None)))
        return merged

    def triple_count(self) -> int:
        return sum(len(self.dataset.graph(graph_id(n))) for n in self.graph_names())

    @contextmanager
    def transaction(self) -> Iterator["MemoryStore"]:
        """Changes made inside are undone when the block raises."""
        self._journal.append({})
        try:
            yield self
        except BaseException:
            changes = self._journal.pop()
            for name, saved in changes.items():
                self.dataset.remove_graph(graph_id(name))
                if saved is not None:
                    target = self.dataset.graph(graph_id(name))
                    target.addN((s, p, o, target) for s, p, o in saved)
            raise
        else:
            changes = self._journal.pop()
            if self._journal:  # nested: the outer transaction must still be able to undo
                for name, saved in changes.items():
                    self._journal[-1].setdefault(name, saved)
