"""Keep a store in step with the Turtle files: find the files, know their digests, load what changed.

A file's digest is the SHA-256 of its bytes. Hashing every file on every command would cost seconds on a
national knowledge base, so the digests are remembered with each file's size, modification time and
inode (`sources.json` in the state folder) and a file is hashed again only when one of those changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..errors import (
    ErrorList,
    Location,
    StorageError,
    TurtleSyntaxError,
    TurtleSyntaxErrors,
)
from .files import TEMP_PREFIX
from .layout import Layout
from .store import GraphInfo, Store

SHAPES_FILE = "shapes.ttl"
_STAT_CACHE = "sources.json"
MAX_TURTLE_BYTES = int(os.environ.get("POLICYKB_MAX_TURTLE_BYTES", str(512 * 2**20)))


@dataclass(frozen=True)
class Source:
    """One Turtle file of the knowledge base: its name (relative to the layout root), path and digest."""

    name: str
    path: Path
    digest: str
    size: int


@dataclass(frozen=True)
class Scan:
    sources: tuple[Source, ...]
    strays: tuple[Path, ...]  # temporary files of a change a dead process left behind


def _walk(folder: str, strays: list[Path]) -> Iterable[str]:
    """Turtle files under `folder`, sorted, skipping hidden files and folders (state, temporary files)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            if entry.name.startswith(TEMP_PREFIX):
                strays.append(Path(entry.path))
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, strays)
        elif entry.name.endswith(".ttl") and entry.is_file():
            yield entry.path


def scan(layout: Layout, *, verify: bool = False) -> Scan:
    """Every Turtle file of the knowledge base (the ontology without its shapes, then kb/) with its digest;
    `verify` hashes every file even when its size and time are unchanged."""
    strays: list[Path] = []
    paths = [str(p) for p in sorted(layout.ontology.glob("*.ttl")) if p.name != SHAPES_FILE and not p.name.startswith(".")]
    paths += list(_walk(str(layout.kb), strays))
    cache_path = layout.state_dir / _STAT_CACHE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    root = str(layout.root) + os.sep
    fresh = {}
    sources = []
    for path in paths:
        # a name relative to the layout's root, as messages show it (string work: thousands of files)
        name = path[len(root):].replace(os.sep, "/") if path.startswith(root) else layout.relative(Path(path))
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise StorageError.from_os(exc, name, "read the knowledge base's files") from None
        key = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        known = cache.get(name)
        if not verify and isinstance(known, list) and len(known) == 4 and known[:3] == key:
            digest = known[3]
        else:
            if stat.st_size > MAX_TURTLE_BYTES:
                raise TurtleSyntaxError(f"the file is {stat.st_size / 2**20:.0f} MiB, more than the "
                                        f"{MAX_TURTLE_BYTES / 2**20:.0f} MiB a Turtle file of the knowledge base may hold",
                                        location=Location(name),
                                        hint="split it into several files (one per zone or ledger), or raise "
                                             "POLICYKB_MAX_TURTLE_BYTES")
            digest = _digest(Path(path), name)
        fresh[name] = key + [digest]
        sources.append(Source(name, Path(path), digest, stat.st_size))
    if fresh != cache:
        _save_json(cache_path, fresh)
    return Scan(tuple(sources), tuple(strays))


def _digest(path: Path, name: str) -> str:
    sha = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                sha.update(block)
    except OSError as exc:
        raise StorageError.from_os(exc, name, "read the knowledge base's files") from None
    return sha.hexdigest()


def _save_json(path: Path, value) -> None:
    """Best effort: the cache only saves time, so a full or read-only disk just means hashing again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(value), encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        pass


@dataclass(frozen=True)
class Plan:
    """What a store must do to match the files: graphs to (re)load and graphs to drop."""

    load: tuple[Source, ...]
    drop: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.load or self.drop)


def plan(sources: Iterable[Source], manifest: dict[str, GraphInfo], names: Iterable[str]) -> Plan:
    """Compare files with a store: a file whose digest the manifest does not record is loaded; a graph
    without a file (or without a manifest entry: a load that died half way) is dropped or reloaded."""
    by_name = {s.name: s for s in sources}
    load = tuple(s for s in by_name.values() if manifest.get(s.name) is None or manifest[s.name].digest != s.digest)
    stale = (set(names) | set(manifest)) - set(by_name)
    return Plan(load, tuple(sorted(stale)))


def apply(store: Store, todo: Plan, *, fresh: bool, progress: Callable[[Iterable], Iterable] | None = None,
          on_loaded: Callable[[Source, list | None], None] | None = None) -> None:
    """Load and drop graphs as planned. Every file that does not parse is reported (all of them, with line
    and column) and gets no graph, so the next command tries it again; the others are loaded. A fresh store
    is filled in bulk; an existing one a file at a time, each in a transaction. `on_loaded(source, quads)`
    sees each loaded file, with its parsed quads where they were at hand."""
    for name in todo.drop:
        store.remove(name)
    errors = ErrorList()
    items = list(progress(todo.load) if progress else todo.load)
    by_name = {s.name: s for s in items}

    def failed(name: str, data: bytes, exc: Exception) -> None:
        store.remove(name)
        errors.add(_load_error(exc, name, data))

    if fresh and hasattr(store, "bulk_load_sources"):
        store.bulk_load_sources(((s.name, s.path, s.digest, s.path.resolve().as_uri()) for s in items),
                                on_loaded=(lambda name, quads: on_loaded(by_name[name], quads)) if on_loaded else None,
                                on_error=failed)
    else:
        for source in items:
            try:
                data = source.path.read_bytes()
            except OSError as exc:
                raise StorageError.from_os(exc, source.name, "read the knowledge base's files") from None
            try:
                store.load_source(source.name, data, source.digest, base=source.path.resolve().as_uri())
            except (SyntaxError, UnicodeDecodeError) as exc:
                failed(source.name, data, exc)
                continue
            if on_loaded is not None:
                on_loaded(source, None)
    if errors:
        raise errors.errors[0] if len(errors.errors) == 1 else TurtleSyntaxErrors(errors.errors)


def _load_error(exc: Exception, name: str, data: bytes) -> TurtleSyntaxError:
    if isinstance(exc, UnicodeDecodeError):
        return TurtleSyntaxError(f"the file is not UTF-8 text (byte {exc.start})",
                                 location=Location(name, data[: exc.start].count(b"\n") + 1),
                                 hint="save the file as UTF-8; Turtle files must be UTF-8")
    return turtle_error(exc, name, data)


def turtle_error(exc: SyntaxError, name: str, data: bytes) -> TurtleSyntaxError:
    """The parser's message with the file, line and column, and what to write instead."""
    message = str(exc)
    position = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], tuple) else None
    line = column = None
    if position and len(position) >= 3:
        line, column = position[1], position[2]
    why = message.split(": ", 1)[1] if message.startswith("Parser error") and ": " in message else message
    return TurtleSyntaxError(f"Turtle syntax error: {why}", location=Location(name, line, column), hint=syntax_hint(why))


def syntax_hint(why: str) -> str:
    low = why.lower()
    if "prefix" in low and ("not been declared" in low or "not bound" in low):
        return "declare the prefix at the top of the file, e.g. @prefix pkb: <https://w3id.org/policykb/def#> ."
    if "string" in low and ("end" in low or "newline" in low or "unterminated" in low):
        return 'close the string with a matching quote, or use """triple quotes""" for text spanning lines'
    if "utf-8" in low or "encoding" in low:
        return "save the file as UTF-8; Turtle files must be UTF-8"
    return "end each statement with ' .', separate predicates with ' ;' and objects with ' ,'; quote literals"
