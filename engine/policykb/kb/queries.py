"""The named SPARQL query library (queries/*.rq) and safe parameter binding.

Each .rq file starts with a header of comment lines:

    # title: Catalogue documents with their item counts
    # answers: which batch documents make up a catalogue, with number, issuer, year and count.
    # param: zone (zone, required): the zone, e.g. sample:zone-fz-b, fz-b or 样例·福州乙开发区
    # param: year (integer, optional): the evaluation year

Parameter types: iri; zone, measure, unit, document and place, which take the resource's IRI, prefixed
name, code or full Chinese name (resolved by kb.names with the ledgers' rules and did-you-mean hints);
string, a plain literal, which equals a language-tagged label only through STR() — or string@zh (any
language tag), bound with that tag so that it equals "福州市"@zh itself; integer, decimal, date, boolean.

Parameters are bound as RDF terms (a VALUES block written by kb.sparql), never pasted into the query
text as the user wrote them, so a value holding quotes, braces or `}` `;` cannot change the query.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Mapping, Sequence

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from ..errors import Location, QueryError, ServiceRefused, UnknownGraph, UpdateRefused  # noqa: F401 (re-exported)
from ..namespace import PREFIXES, curie, expand_iri  # noqa: F401 (re-exported)
from . import sparql
from .names import HOW_TO_NAME, NAMED_CLASSES, NameIndex, norm
from .store import PREFIX_MAP, QUERY_BASE, check_query, graph_id, syntax_error

RESOURCE_TYPES = tuple(NAMED_CLASSES.values())  # zone, measure, document, unit, place: named as people name them
PARAM_TYPES = ("iri", *RESOURCE_TYPES, "string", "integer", "decimal", "date", "boolean")
_HEADER = re.compile(r"^#\s*(title|answers|param|message|path|severity):\s*(.*)$")
_PARAM = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\((?P<type>\w+(?:@[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*)?)"
                    r"(?:,\s*(?P<req>required|optional))?\)\s*(?::|—|-)?\s*(?P<doc>.*)$")


_NUMERIC_OR_BOOLEAN = {XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.boolean, XSD.int, XSD.long,
                       XSD.short, XSD.nonNegativeInteger, XSD.positiveInteger}


@dataclass(frozen=True)
class Param:
    """One declared query parameter."""

    name: str
    type: str
    required: bool
    doc: str


@dataclass(frozen=True)
class NamedQuery:
    """A query of the library: its text and what its header declares."""

    name: str
    path: Path
    title: str
    answers: str
    params: tuple[Param, ...]
    text: str
    message: str = ""  # integrity checks: the violation message, with {variable} placeholders
    about: str = ""  # integrity checks: the property the message is about
    severity: str = "Violation"  # integrity checks: Violation (stops validate) or Warning (reported)

    @property
    def form(self) -> str:
        match = re.search(r"\b(SELECT|CONSTRUCT|ASK|DESCRIBE)\b", _strip_comments(self.text), re.I)
        return match.group(1).upper() if match else "SELECT"


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def parse_query_file(path: Path, name: str | None = None) -> NamedQuery:
    """Read a .rq file and its header; a malformed header or query names the file and line.

    A file is parsed once per process until it changes.
    """
    try:
        stat = Path(path).stat()
    except OSError:
        raise QueryError(f"no query file {name or path}", location=Location(name or str(path)),
                         hint="a --kb folder with its own queries/ must hold every query of the bundled library "
                              "(copy the bundled queries/ folder), or leave queries/ out to use the bundled one") from None
    return _parse_query_file(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size, name or str(path))


@functools.lru_cache(maxsize=256)
def _parse_query_file(resolved: str, mtime_ns: int, size: int, shown: str) -> NamedQuery:
    path = Path(resolved)
    text = path.read_text(encoding="utf-8")
    title = answers = message = prop = ""
    severity = "Violation"
    params: list[Param] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        match = _HEADER.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key == "title":
            title = value
        elif key == "answers":
            answers = value
        elif key == "message":
            message = value
        elif key == "path":
            prop = value
        elif key == "severity":
            if value.lower() not in ("violation", "warning"):
                raise QueryError(f"unknown severity {value!r}", location=Location(shown, number),
                                 hint="write '# severity: violation' or '# severity: warning'")
            severity = value.capitalize()
        elif key == "param":
            pm = _PARAM.match(value)
            if not pm or not _known_type(pm.group("type")):
                raise QueryError(
                    f"malformed parameter declaration: {value!r}",
                    location=Location(shown, number),
                    hint=f"write '# param: NAME (TYPE, required|optional): what it is', TYPE one of "
                         f"{', '.join(PARAM_TYPES)} (a string compared with labels: string@zh)",
                )
            params.append(Param(pm.group("name"), pm.group("type"), pm.group("req") != "optional", pm.group("doc")))
    check_syntax(text, shown)
    stem = path.stem
    return NamedQuery(stem, path, title or stem, answers, tuple(params), text, message, prop, severity)


def _known_type(kind: str) -> bool:
    base, _, language = kind.partition("@")
    return base in PARAM_TYPES and (not language or base == "string")


def check_syntax(text: str, name: str = "<query>") -> None:
    """Parse a query without running it; a syntax error names the line and column."""
    prepare(text, name)


@dataclass(frozen=True)
class Prepared:
    """A query text that parses, with its shape (form, SERVICE calls, FROM graphs)."""

    text: str
    name: str
    shape: sparql.Shape


def prepare(text: str, name: str = "<query>") -> Prepared:
    """Check a query (the project prefixes are predeclared): a SPARQL Update is refused with UpdateRefused
    (policykb never changes the knowledge base through SPARQL), a syntax error names line and column.
    SERVICE is checked when the query runs (`execute`), where the caller says whether it is allowed."""
    import pyoxigraph as ox

    shape = check_query(text, allow_service=True, name=name)
    if not shape.services:  # parsing plans the query but runs nothing; a SERVICE would be called, so skip
        try:
            ox.Store().query(text, base_iri=QUERY_BASE, prefixes=PREFIX_MAP)
        except SyntaxError as exc:
            raise syntax_error(exc, name, text) from None
        except (RuntimeError, ValueError):
            pass  # parses; only evaluation on data can tell
    return Prepared(text, name, shape)


def library(queries_dir: Path) -> dict[str, NamedQuery]:
    """Every named query in a queries/ folder, by name (the file stem)."""
    found = {}
    for path in sorted(queries_dir.glob("*.rq")):
        found[path.stem] = parse_query_file(path, f"{queries_dir.name}/{path.name}")
    return found


def bind(query: NamedQuery, raw: Mapping[str, str], names: Callable[[str], NameIndex] | None = None) -> dict[str, object]:
    """Turn `--param key=value` strings into RDF terms of the declared types.

    `names` (kb.names.indexes(kb)) resolves zones, measures, units, documents and places by code or name;
    without it those parameters take an IRI or prefixed name only."""
    declared = {p.name: p for p in query.params}
    unknown = sorted(set(raw) - set(declared))
    if unknown:
        allowed = ", ".join(declared) or "none"
        raise QueryError(f"query {query.name} has no parameter {unknown[0]!r}", hint=f"its parameters are: {allowed}")
    bindings: dict[str, object] = {}
    for param in query.params:
        if param.name not in raw:
            if param.required:
                raise QueryError(f"query {query.name} needs the parameter {param.name} ({param.type})",
                                 hint=f"add --param {param.name}=VALUE: {param.doc}")
            continue
        bindings[param.name] = term(raw[param.name], param.type, param.name, names)
    return bindings


def term(value: str, kind: str, name: str = "value", names: Callable[[str], NameIndex] | None = None):
    """One parameter value as an RDF term; refuses values that are not of the type."""
    if kind == "iri" or (kind in RESOURCE_TYPES and names is None):
        return expand_iri(value, name)
    if kind in RESOURCE_TYPES:
        return _resource(value, kind, name, names(kind))
    if kind == "string":
        return Literal(value)
    if kind.startswith("string@"):
        return Literal(value, lang=kind.partition("@")[2])
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d+", value.strip()):
            raise QueryError(f"parameter {name} must be a whole number, not {value!r}", hint=f"write {name}=2021")
        return Literal(int(value), datatype=XSD.integer)
    if kind == "decimal":
        try:
            return Literal(Decimal(value.strip()), datatype=XSD.decimal)
        except InvalidOperation:
            raise QueryError(f"parameter {name} must be a number, not {value!r}", hint=f"write {name}=12.5") from None
    if kind == "date":
        try:
            return Literal(date.fromisoformat(value.strip()), datatype=XSD.date)
        except ValueError:
            raise QueryError(f"parameter {name} must be a date YYYY-MM-DD, not {value!r}", hint=f"write {name}=2021-12-31") from None
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise QueryError(f"parameter {name} must be true or false, not {value!r}")
        return Literal(value.lower() == "true", datatype=XSD.boolean)
    raise QueryError(f"unknown parameter type {kind}")


def _resource(value: str, kind: str, name: str, index: NameIndex) -> URIRef:
    """The zone, measure, unit, document or place that `value` names, or an error with the closest names."""
    found, close = index.find(value)
    if found is not None:
        return found
    if len(index.words.get(norm(value), ())) > 1:
        raise QueryError(f"parameter {name}: {value!r} names more than one {kind}: {', '.join(close)}",
                         hint=f"write the prefixed name of the {kind} you mean")
    suggestion = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise QueryError(f"parameter {name}: no {kind} {value!r} in the knowledge base",
                     hint=f"{suggestion}write the {kind}'s IRI, {HOW_TO_NAME[kind]}")


def run(store, query, bindings: Mapping[str, object] | None = None):
    """Run a query of the library, or a query text, with bound parameters; returns the store's Result."""
    text = query.text if isinstance(query, (NamedQuery, Prepared)) else query
    return store.query(text, {str(k): v for k, v in (bindings or {}).items()})


def plain(term):
    """A result term as a plain value: numbers, booleans and dates as themselves, IRIs and other literals as text."""
    if term is None:
        return None
    if isinstance(term, Literal) and term.datatype in _NUMERIC_OR_BOOLEAN and term.ill_typed is not True:
        value = term.toPython()
        if isinstance(value, (bool, int, Decimal)) or (isinstance(value, float) and math.isfinite(value)):
            return value
    return str(term)


def shown(term) -> str:
    """A result term as people read it: IRIs as prefixed names, literals as their text."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        return curie(term)
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


def form(prepared: Prepared) -> str:
    """SELECT, CONSTRUCT, ASK or DESCRIBE: the form of a prepared query."""
    return prepared.shape.form or "SELECT"


def service_calls(prepared: Prepared) -> list[str]:
    """The endpoints a prepared query would call with SERVICE."""
    return sorted(set(prepared.shape.services))


def execute(store, prepared: Prepared, bindings: Mapping[str, object] | None = None, *, name: str | None = None,
            allow_service: bool = False, default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = ()):
    """Run a prepared query after the checks that keep it local: no SERVICE (unless allowed), and FROM /
    FROM NAMED (or the protocol's graph parameters) only of graphs the store holds."""
    name = name or prepared.name
    check_query(prepared.text, allow_service=allow_service, name=name)
    known = {str(graph_id(n)) for n in store.graph_names()}
    for graph in [*prepared.shape.from_graphs, *prepared.shape.from_named, *default_graphs, *named_graphs]:
        if str(graph) not in known:
            example = f"e.g. <{sorted(known)[0]}> " if known else ""
            raise UnknownGraph(f"the knowledge base holds no graph <{graph}>; policykb never fetches graphs from the web",
                               location=Location(name),
                               hint=f"name one of its graphs {example}(one per source file; list them with "
                                    "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }), or leave FROM out to query the whole "
                                    "knowledge base")
    return store.query(prepared.text, {str(k): v for k, v in (bindings or {}).items()}, allow_service=allow_service,
                       default_graphs=default_graphs, named_graphs=named_graphs, name=name)
