"""An index of the evidence in each graph, kept beside the store: every resource with a pkb:zone and all its
statements, as plain values, one JSON file per source digest.

Scoring reads a quarter of a million evidence items on a national knowledge base; reading them out of
the store with SPARQL on every command would take seconds, so each graph's items are written once,
when the graph is loaded, and read back in one pass. The file is named by the digest of the Turtle file
the graph came from, so it is valid whichever store holds the graph and is never stale. An evidence
item is described in one file (its ledger's evidence file, or one hand-written Turtle file); statements
about it in other files are not indexed (`queries/checks/evidence-one-file.rq` reports them).

Values are plain: IRIs and strings as text, xsd:integer as int, booleans as bool, every other literal
(decimals, dates) as its lexical text; readers convert by the property's range. A graph's items are
kept as (subject, [property number, value, property number, value, …]) with the graph's property IRIs
listed once (`Entries.props`): a quarter of a million items then read back in about a second.
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

VERSION = 2
_ZONE = str(PKB.zone)
_lock = threading.Lock()

Item = tuple  # (subject IRI, [property number, value, …])
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


class Entries(list):
    """The evidence items of one graph: a list of (subject, pairs), with `props`, the property IRIs that the
    pairs' property numbers point to."""

    def __init__(self, props: list[str], items: Iterable[Item] = ()):
        super().__init__(items)
        self.props = props


def items_of(quads: Iterable) -> Entries:
    """The evidence items among a graph's quads (or triples): subjects with a pkb:zone, all their statements."""
    quads = quads if isinstance(quads, list) else list(quads)
    zoned = {q.subject.value for q in quads if q.predicate.value == _ZONE and isinstance(q.subject, ox.NamedNode)}
    props: dict[str, int] = {}
    found: dict[str, list] = {}
    literal, named = ox.Literal, ox.NamedNode
    for quad in quads:
        subject = quad.subject
        key = subject.value
        if key not in zoned or not isinstance(subject, named):
            continue
        number = props.setdefault(quad.predicate.value, len(props))
        pairs = found.get(key)
        if pairs is None:
            pairs = found[key] = []
        obj = quad.object
        pairs.append(number)
        pairs.append(value_of(obj) if isinstance(obj, literal) else obj.value if isinstance(obj, named)
                     else "_:" + obj.value)
    return Entries(list(props), sorted(found.items()))


def zones_in(entries: Entries) -> list[str]:
    """The zones a graph's evidence items are of, sorted."""
    try:
        at = entries.props.index(_ZONE)
    except ValueError:
        return []
    found = set()
    for _, pairs in entries:
        for i in range(0, len(pairs), 2):
            if pairs[i] == at:
                found.add(pairs[i + 1])
    return sorted(str(z) for z in found)


class EvidenceIndex:
    """The evidence items of a store's graphs, read from the index files in `folder` (or, for a graph that
    has none yet, from the store, then written); without a folder they are kept in memory."""

    def __init__(self, folder: Path | None):
        self.folder = Path(folder) if folder is not None else None
        self._memory: dict[str, Entries] = {}
        self._zones: dict[str, list[str]] | None = None  # digest → the zones its graph holds evidence of
        self._zones_dirty = False

    def _path(self, digest: str) -> Path | None:
        if self.folder is None or not digest:
            return None
        return self.folder / f"{digest}.json"

    def has(self, digest: str) -> bool:
        path = self._path(digest)
        return path is not None and path.exists()

    def items(self, store, manifest: Mapping[str, GraphInfo], names: Iterable[str] | None = None
              ) -> dict[str, Entries]:
        """Graph name → its evidence items, for every graph of the manifest (or only those `names`)."""
        out = {}
        wanted = manifest if names is None else {n: manifest[n] for n in names if n in manifest}
        for name, info in wanted.items():
            # kept in memory only without a folder (a knowledge base in memory): a quarter of a million items
            # would otherwise stay in memory long after the scores they gave are kept (scoring.board)
            key = f"{name}\0{info.digest}" if info.digest and self.folder is None else None
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
        if names is None:
            live = {f"{n}\0{i.digest}" for n, i in manifest.items() if i.digest}
            with _lock:
                for key in [k for k in self._memory if k not in live]:
                    del self._memory[key]
        return out

    def zones(self, store, manifest: Mapping[str, GraphInfo]) -> dict[str, tuple[str, ...]]:
        """Graph name → the zones it holds evidence of (empty for a graph of reference data), from a small map
        kept beside the index files (STATE/evidence/zones.json), so knowing it reads no index file."""
        known = self._zone_map()
        out = {}
        for name, info in manifest.items():
            held = known.get(info.digest) if info.digest else None
            if held is None:
                held = zones_in(self.items(store, {name: info})[name])
                if info.digest:
                    known[info.digest] = held
                    self._zones_dirty = True
            out[name] = tuple(held)
        self.flush()
        return out

    def _zone_map(self) -> dict[str, list[str]]:
        if self._zones is None:
            self._zones = {}
            if self.folder is not None:
                try:
                    data = json.loads((self.folder / "zones.json").read_text(encoding="utf-8"))
                    if isinstance(data, dict) and data.get("v") == VERSION:
                        self._zones = {k: v for k, v in data.get("zones", {}).items() if isinstance(v, list)}
                except (OSError, ValueError):
                    pass
        return self._zones

    def flush(self) -> None:
        """Save the map of zones per graph if it grew (best effort)."""
        if not self._zones_dirty or self.folder is None:
            return
        path = self.folder / "zones.json"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".zones.json.{os.getpid()}.tmp")
            temp.write_text(json.dumps({"v": VERSION, "zones": self._zones}, separators=(",", ":")), encoding="utf-8")
            os.replace(temp, path)
            self._zones_dirty = False
        except OSError:
            pass

    def _read(self, digest: str) -> Entries | None:
        path = self._path(digest)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("v") != VERSION or not isinstance(data.get("items"), list):
            return None
        return Entries(data.get("props") or [], data["items"])

    def write(self, digest: str, items: Entries) -> None:
        """Best effort: an index that cannot be written is rebuilt from the store next time."""
        if digest:
            self._zone_map()[digest] = zones_in(items)
            self._zones_dirty = True
        path = self._path(digest)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temp.write_text(json.dumps({"v": VERSION, "props": items.props, "items": items}, ensure_ascii=False,
                                       separators=(",", ":")),
                            encoding="utf-8")
            os.replace(temp, path)
        except OSError:
            pass

    def prune(self, keep: Iterable[str]) -> None:
        """Delete index files of digests no graph has any more."""
        keep = set(keep)
        zone_map = self._zone_map()
        for digest in [d for d in zone_map if d not in keep]:
            del zone_map[digest]
            self._zones_dirty = True
        self.flush()
        if self.folder is None or not self.folder.is_dir():
            return
        wanted = {f"{d}.json" for d in keep} | {"zones.json"}
        for path in self.folder.glob("*.json"):
            if path.name not in wanted:
                try:
                    path.unlink()
                except OSError:
                    pass
