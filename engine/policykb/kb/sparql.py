"""What policykb needs to know about a SPARQL text before a store runs it, read by a small tokenizer.

A query's form (SELECT, CONSTRUCT, ASK, DESCRIBE — or an update, which is refused), the endpoints it
would call with SERVICE, the graphs it names with FROM / FROM NAMED, and where its WHERE group opens,
so that parameters can be bound there as a VALUES block of serialised RDF terms. Strings, IRIs and
comments are tokens of their own, so a keyword inside them is never mistaken for one.

Binding by VALUES at the top of the WHERE group gives every engine (Oxigraph embedded, any SPARQL 1.1
server) the same meaning as rdflib's initBindings: the group's FILTERs see the value, and a parameter
left out is unbound. The values are RDF terms written by `term_text`, which escapes every character a
literal or an IRI could use to end itself, so a value can never change the query around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Mapping

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD

from ..errors import QueryError

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_\u00b7\u00c0-\U000effff]+)
  | (?P<pname>[A-Za-z\u00c0-\U000effff][\w\-.\u00b7\u00c0-\U000effff]*?:[^\s{}()\[\];,<>"'#]*|:[^\s{}()\[\];,<>"'#]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))
  | (?P<punct>\^\^|&&|\|\||!=|<=|>=|[{}()\[\];,.*=<>!+\-/|^@?$])
  | (?P<other>.)
""", re.X | re.S)

FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
UPDATES = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")


@dataclass(frozen=True)
class Token:
    kind: str  # string | iri | var | pname | word | number | punct | other
    text: str
    start: int
    end: int

    @property
    def keyword(self) -> str | None:
        return self.text.upper() if self.kind == "word" else None


def tokens(text: str) -> Iterator[Token]:
    """The tokens of a SPARQL text, without white space and comments."""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in ("ws", "comment"):
            continue
        yield Token(kind, match.group(), match.start(), match.end())


@dataclass(frozen=True)
class Shape:
    """What a query text is: its form, the SERVICE endpoints and FROM graphs it names, where its WHERE
    group opens (an offset just after the `{`, or None where the form has no group to bind in)."""

    form: str | None  # SELECT | CONSTRUCT | ASK | DESCRIBE; None for an update
    update: str | None  # the update keyword (INSERT, LOAD, …) when it is an update
    services: tuple[str, ...]
    from_graphs: tuple[str, ...]
    from_named: tuple[str, ...]
    where_open: int | None
    prefixes: Mapping[str, str]


def shape(text: str, prefixes: Mapping[str, str] | None = None) -> Shape:
    """Read a query's shape; prefixed names in FROM and SERVICE are expanded with its PREFIX
    declarations and `prefixes`."""
    declared = dict(prefixes or {})
    toks = list(tokens(text))
    form = update = None
    services: list[str] = []
    defaults: list[str] = []
    named: list[str] = []
    where_open = None
    depth = 0
    i = 0
    seen_template = False
    construct_short = False
    while i < len(toks):
        tok = toks[i]
        word = tok.keyword
        if form is None and update is None:
            if word == "PREFIX" and i + 2 < len(toks) and toks[i + 1].kind == "pname" and toks[i + 2].kind == "iri":
                declared[toks[i + 1].text.rstrip(":")] = toks[i + 2].text[1:-1]
                i += 3
                continue
            if word == "BASE":
                i += 2
                continue
            if word in FORMS:
                form = word
                if word == "CONSTRUCT" and i + 1 < len(toks) and toks[i + 1].keyword == "WHERE":
                    construct_short = True
            elif word in UPDATES:
                update = word
            i += 1
            continue
        if word == "SERVICE":
            j = i + 1
            if j < len(toks) and toks[j].keyword == "SILENT":
                j += 1
            if j < len(toks):
                services.append(_iri(toks[j], declared))
        if word == "FROM" and depth == 0:
            j = i + 1
            target = defaults
            if j < len(toks) and toks[j].keyword == "NAMED":
                target, j = named, j + 1
            if j < len(toks):
                target.append(_iri(toks[j], declared))
        if tok.text == "{":
            if depth == 0 and where_open is None:
                if form == "CONSTRUCT" and not construct_short and not seen_template:
                    seen_template = True  # the template, not the WHERE group
                elif not construct_short:
                    where_open = tok.end
            depth += 1
        elif tok.text == "}":
            depth -= 1
        i += 1
    return Shape(form, update, tuple(services), tuple(defaults), tuple(named), where_open, declared)


def _iri(tok: Token, prefixes: Mapping[str, str]) -> str:
    if tok.kind == "iri":
        return tok.text[1:-1]
    if tok.kind == "pname":
        prefix, _, local = tok.text.partition(":")
        if prefix in prefixes:
            return prefixes[prefix] + local
    return tok.text


def groups(text: str) -> list[tuple[int, int]]:
    """The group graph patterns of a query as (offset after `{`, offset of the matching `}`): every `{…}`
    except a CONSTRUCT template and the data block of a VALUES clause."""
    toks = list(tokens(text))
    found: list[tuple[int, int]] = []
    stack: list[tuple[int, bool]] = []
    form = None
    template_done = False
    for i, tok in enumerate(toks):
        if form is None and tok.keyword in FORMS:
            form = tok.keyword
        if tok.text == "{":
            previous = toks[i - 1] if i else None
            is_values = False
            j = i - 1
            while j >= 0 and (toks[j].kind == "var" or toks[j].text in ("(", ")")):
                j -= 1
            if j >= 0 and toks[j].keyword == "VALUES":
                is_values = True
            is_template = form == "CONSTRUCT" and not template_done and not stack and (
                previous is not None and previous.keyword == "CONSTRUCT")
            if is_template:
                template_done = True
            # `{ SELECT … }` holds a subquery and nothing else; its own WHERE group is bound instead
            is_subquery = i + 1 < len(toks) and toks[i + 1].keyword == "SELECT"
            stack.append((tok.end, not (is_values or is_template or is_subquery)))
        elif tok.text == "}" and stack:
            start, is_group = stack.pop()
            if is_group:
                found.append((start, tok.start))
    return found


def bind(text: str, values: Mapping[str, object], prefixes: Mapping[str, str] | None = None) -> str:
    """The query with `values` (variable name → rdflib term) bound: a VALUES block at the top of every group
    that mentions the variable, so that it means the given value wherever the query uses it — in FILTERs,
    subqueries and MINUS alike (the meaning of rdflib's initBindings and of SPARQL's substitution proposal,
    SEP-0007). A query with no group to bind in gets the block at its end."""
    if not values:
        return text
    for name in values:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise QueryError(f"{name!r} is not a SPARQL variable name", hint="name parameters with letters, digits and _")
    rendered = {name: term_text(value) for name, value in values.items()}
    uses = [(tok.start, tok.text[1:]) for tok in tokens(text) if tok.kind == "var" and tok.text[1:] in rendered]
    # One VALUES a variable: Oxigraph plans a one-value VALUES of one variable as the constant it is (3 ms
    # where a VALUES of several variables took 6 s on a national knowledge base), and it starts from the
    # first one, so resources (a zone, a measure: few rows) come before literals (a year: many rows).
    order = sorted(rendered, key=lambda n: (not isinstance(values[n], URIRef), n))
    inserts: list[tuple[int, str]] = []
    for start, end in groups(text):
        here = {name for at, name in uses if start <= at < end}
        if here:
            inserts.append((start, " " + " ".join(f"VALUES ?{n} {{ {rendered[n]} }}" for n in order if n in here) + " "))
    if not inserts:
        return f"{text}\n" + " ".join(f"VALUES ?{n} {{ {rendered[n]} }}" for n in order) + "\n"
    for at, block in sorted(inserts, reverse=True):
        text = text[:at] + block + text[at:]
    return text


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_IRI_BAD = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def term_text(term) -> str:
    """An RDF term in SPARQL / N-Triples syntax, every character escaped that could end it."""
    if isinstance(term, URIRef):
        if _IRI_BAD.search(str(term)):
            raise QueryError(f"{str(term)!r} cannot be used as an IRI", hint="IRIs hold no spaces, quotes, <, >, {, }, |, ^, ` or \\")
        return f"<{term}>"
    if isinstance(term, BNode):
        raise QueryError("a blank node cannot be given as a parameter", hint="give an IRI or a literal")
    if isinstance(term, Literal):
        body = '"' + "".join(_ESCAPES.get(c, c) for c in str(term)) + '"'
        if term.language:
            if not re.fullmatch(r"[A-Za-z]+(-[A-Za-z0-9]+)*", term.language):
                raise QueryError(f"{term.language!r} is not a language tag", hint="write e.g. zh or en")
            return f"{body}@{term.language}"
        if term.datatype is not None and term.datatype != XSD.string:
            return f"{body}^^{term_text(URIRef(term.datatype))}"
        return body
    raise QueryError(f"{term!r} is not an RDF term", hint="give an IRI or a literal")


_POSITION = re.compile(r"(?:error at |line )(\d+)[:, ](?:column )?(\d+)")


def error_position(message: str) -> tuple[int | None, int | None]:
    """Line and column in an engine's syntax error message ("error at 3:7: …")."""
    match = _POSITION.search(message)
    return (int(match.group(1)), int(match.group(2))) if match else (None, None)


_PAIRS = {"(": ")", "{": "}", "[": "]"}


def bracket_problem(text: str) -> tuple[str, int, int] | None:
    """The first bracket that does not match, as (message, line, column): an engine reports such mistakes
    where it gave up (often the end of the query), while people need the place they made it."""
    stack: list[Token] = []
    for tok in tokens(text):
        if tok.text in _PAIRS:
            stack.append(tok)
        elif tok.text in _PAIRS.values():
            if not stack:
                return (f"`{tok.text}` closes nothing", *position(text, tok.start))
            opened = stack.pop()
            if _PAIRS[opened.text] != tok.text:
                line, column = position(text, opened.start)
                return (f"`{tok.text}` comes before the `{opened.text}` opened at line {line} column {column} is closed",
                        *position(text, tok.start))
    if stack:
        opened = stack[-1]
        return (f"the `{opened.text}` opened here is never closed", *position(text, opened.start))
    return None


def undeclared_prefix(text: str, predeclared: Mapping[str, str]) -> tuple[str, int, int] | None:
    """The first prefixed name whose prefix is neither declared in the query nor predeclared."""
    declared = dict(predeclared)
    toks = list(tokens(text))
    for i, tok in enumerate(toks):
        if tok.keyword == "PREFIX" and i + 1 < len(toks) and toks[i + 1].kind == "pname":
            declared[toks[i + 1].text.split(":", 1)[0]] = ""
        elif tok.kind == "pname" and not (i and toks[i - 1].keyword == "PREFIX"):
            prefix = tok.text.split(":", 1)[0]
            if prefix not in declared:
                return (prefix, *position(text, tok.start))
    return None


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of an offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
