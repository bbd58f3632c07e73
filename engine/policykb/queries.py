"""The named SPARQL query library (queries/*.rq) and safe parameter binding.

Each .rq file starts with a header of comment lines:

    # title: Catalogue documents with their item counts
    # answers: which batch documents make up a catalogue, with number, issuer, year and count.
    # param: zone (iri, required): the zone, as zone:… or a full IRI
    # param: year (integer, optional): the evaluation year

Parameters are bound as RDF terms through rdflib's initBindings, never pasted into the query text,
so a value holding quotes, braces or `}` `;` cannot change the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Mapping

from rdflib import Literal, URIRef, Variable
from rdflib.namespace import XSD

from .errors import Location, QueryError
from .namespace import PREFIXES

PARAM_TYPES = ("iri", "string", "integer", "decimal", "date", "boolean")
_HEADER = re.compile(r"^#\s*(title|answers|param|message|path):\s*(.*)$")
_PARAM = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\((?P<type>\w+)(?:,\s*(?P<req>required|optional))?\)\s*(?::|—|-)?\s*(?P<doc>.*)$")
_IRI_FORBIDDEN = re.compile(r'[\s<>"{}|^`\\]')


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

    @property
    def form(self) -> str:
        match = re.search(r"\b(SELECT|CONSTRUCT|ASK|DESCRIBE)\b", _strip_comments(self.text), re.I)
        return match.group(1).upper() if match else "SELECT"


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def parse_query_file(path: Path, name: str | None = None) -> NamedQuery:
    """Read a .rq file and its header; a malformed header or query names the file and line."""
    text = path.read_text(encoding="utf-8")
    shown = name or str(path)
    title = answers = message = prop = ""
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
        elif key == "param":
            pm = _PARAM.match(value)
            if not pm or pm.group("type") not in PARAM_TYPES:
                raise QueryError(
                    f"malformed parameter declaration: {value!r}",
                    location=Location(shown, number),
                    hint=f"write '# param: NAME (TYPE, required|optional): what it is', TYPE one of {', '.join(PARAM_TYPES)}",
                )
            params.append(Param(pm.group("name"), pm.group("type"), pm.group("req") != "optional", pm.group("doc")))
    check_syntax(text, shown)
    stem = path.stem
    return NamedQuery(stem, path, title or stem, answers, tuple(params), text, message, prop)


def check_syntax(text: str, name: str = "<query>") -> None:
    """Parse a query without running it; a syntax error names the line and column."""
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        prepareQuery(text, initNs=PREFIXES)
    except Exception as exc:  # pyparsing.ParseException and rdflib's own errors
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "col", None)
        if line is not None and _looks_like_update(text):
            try:
                parseUpdate(text)
                raise QueryError("this is a SPARQL Update, which policykb does not run here",
                                 location=Location(name), hint="write a SELECT, CONSTRUCT, ASK or DESCRIBE query") from None
            except QueryError:
                raise
            except Exception:
                pass
        message = getattr(exc, "msg", None) or str(exc)
        raise QueryError(
            f"SPARQL syntax error: {message}",
            location=Location(name, line, col),
            hint="check brackets, dots between triple patterns and PREFIX declarations near this position",
        ) from None


def _looks_like_update(text: str) -> bool:
    return bool(re.search(r"\b(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY)\b", _strip_comments(text), re.I))


def library(queries_dir: Path) -> dict[str, NamedQuery]:
    """Every named query in a queries/ folder, by name (the file stem)."""
    found = {}
    for path in sorted(queries_dir.glob("*.rq")):
        found[path.stem] = parse_query_file(path, f"{queries_dir.name}/{path.name}")
    return found


def bind(query: NamedQuery, raw: Mapping[str, str]) -> dict[str, object]:
    """Turn `--param key=value` strings into RDF terms of the declared types."""
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
        bindings[param.name] = term(raw[param.name], param.type, param.name)
    return bindings


def term(value: str, kind: str, name: str = "value"):
    """One parameter value as an RDF term; refuses values that are not of the type."""
    if kind == "iri":
        return expand_iri(value, name)
    if kind == "string":
        return Literal(value)
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


def expand_iri(value: str, name: str = "value") -> URIRef:
    """A CURIE with a project prefix (zone:fuzhou-etdz) or a full http(s)/urn IRI."""
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    prefix, sep, local = value.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        value = str(PREFIXES[prefix]) + local
    if not re.match(r"^(https?|urn):", value) or _IRI_FORBIDDEN.search(value):
        raise QueryError(
            f"parameter {name} must be an IRI, not {value!r}",
            hint=f"write a prefixed name such as zone:fuzhou-etdz or a full IRI; known prefixes: {', '.join(sorted(PREFIXES))}",
        )
    return URIRef(value)


def run(store, query: NamedQuery | str, bindings: Mapping[str, object] | None = None):
    """Run a query of the library (or a query text) with bound parameters; returns rdflib's Result."""
    text = query.text if isinstance(query, NamedQuery) else query
    return store.query(text, {Variable(k) if not isinstance(k, Variable) else k: v for k, v in (bindings or {}).items()})
