"""An index of the evidence in each graph, kept beside the store: every resource with a pkb:zone and all its
statements, as plain values, one JSON file per source digest.

Scoring reads a quarter of a million evidence items on a national knowledge base; reading them out of
the store with SPARQL on every command would take seconds, so each graph's items are written once,
when the graph is loaded, and read back in one pass. The file is named by the digest of the Turtle file
the graph came from, so it is valid whichever store holds the graph and is never stale. An evidence
item is described in one file (its ledger's evidence file, or one hand-written Turtle file); statements
about it in other files are not indexed (`queries/checks/evidence-one-file.rq` reports them).

Values are plain: IRIs and strings as text, xsd:integer as int, booleans as bool, every other literal
(decimals, dates) as its lexical text; readers convert by the property's range.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Iterable, Mapping

import pyoxigraph as ox

from ..namespace import PKB
from .store import GraphInfo
from .terms import XSD

VERSION = 1
_ZONE = str(PKB.zone)
_lock = threading.Lock()

Item = tuple  # (subject IRI, {property IRI: value or [values]})
_INTEGER, _BOOLEAN = XSD + "integer", XSD + "boolean"


def value_of(term):
    """A term as the index keeps it (see the module docstring)."""
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if datatype == _INTEGER:
            try:
                return int(term.value)
            except ValueError:
                return term.value
        if datatype == _BOOLEAN:
            return term.value in ("true", "1")
        return term.value
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return term.value


def items_of(quads: Iterable) -> list[Item]:
    """The evidence items among a graph's quads (or triples): subjects with a pkb:zone, all their statements."""
    found: dict[str, dict] = {}
    zoned: set[str] = set()
    for quad in quads:
        subject = quad.subject
        if not isinstance(subject, ox.NamedNode):
            continue
        key = subject.value
        predicate = quad.predicate.value
        if predicate == _ZONE:
            zoned.add(key)
        value = value_of(quad.object)
        props = found.setdefault(key, {})
        if predicate in props:
            old = props[predicate]
            props[predicate] = (old if isinstance(old, list) else [old]) + [value]
        else:
            props[predicate] = value
    return sorted(((s, found[s]) for s in zoned), key=lambda item: item[0])


class EvidenceIndex:
    """The evidence items of a store's graphs, read from the index files in `folder` (or, for a graph that
    has none yet, from the store, then written). Items of graphs already read are kept in memory, so a
    long-running process reads only what changed."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None
        self._memory: dict[str, list[Item]] = {}

    def _path(self, digest: str) -> Path | None:
        if self.folder is None or not digest:
            return None
        return self.folder / f"{digest}.json"

    def has(self, digest: str) -> bool:
        path = self._path(digest)
        return path is not None and path.exists()

    def items(self, store, manifest: Mapping[str, GraphInfo]) -> dict[str, list[Item]]:
        """Graph name → its evidence items, for every graph of the manifest."""
        out = {}
        for name, info in manifest.items():
            key = f"{name}\0{info.digest}" if info.digest else None
            cached = self._memory.get(key) if key else None
            if cached is None:
                cached = self._read(info.digest)
                if cached is None:
                    cached = items_of(store.quads(name))
                    self.write(info.digest, cached)
                if key:
                    with _lock:
                        self._memory[key] = cached
            out[name] = cached
        live = {f"{n}\0{i.digest}" for n, i in manifest.items() if i.digest}
        with _lock:
            for key in [k for k in self._memory if k not in live]:
                del self._memory[key]
        return out

    def _read(self, digest: str) -> list[Item] | None:
        path = self._path(digest)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("v") != VERSION or not isinstance(data.get("items"), list):
            return None
        return [(s, props) for s, props in data["items"]]

    def write(self, digest: str, items: list[Item]) -> None:
        """Best effort: an index that cannot be written is rebuilt from the store next time."""
        path = self._path(digest)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temp.write_text(json.dumps({"v": VERSION, "items": items}, ensure_ascii=False, separators=(",", ":")),
                            encoding="utf-8")
            os.replace(temp, path)
        except OSError:
            pass

    def prune(self, keep: Iterable[str]) -> None:
        """Delete index files of digests no graph has any more."""
        if self.folder is None or not self.folder.is_dir():
            return
        wanted = {f"{d}.json" for d in keep}
        for path in self.folder.glob("*.json"):
            if path.name not in wanted:
                try:
                    path.unlink()
                except OSError:
                    pass
