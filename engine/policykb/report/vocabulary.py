"""The vocabulary page: every class and property of the ontology (kb.terms.Vocabulary) as Markdown — the
repository's docs/vocabulary.md — or as one self-contained HTML page (no scripts, no outside files), which
the endpoint can serve as it is.

Both are built from the same list of facts per term, so they say the same things; names of terms link
to their entry on the page, terms of other vocabularies to their own address.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ..kb.glossary import Concept, Constraint, Example, Term, Vocabulary
from ..namespace import PREFIXES

COMMAND = "policykb docs vocabulary"


@dataclass(frozen=True)
class Ref:
    """A term named on the page: linked to its entry (or to its address when it is not ours)."""

    curie: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Quote:
    """Words meant for office staff (a shape's message): shown in italics."""

    text: str


Piece = str | Ref | Code | Quote
Fact = tuple[str, list[Piece]]  # ("range", [Ref("pkb:Zone")])


def anchor(term: Term) -> str:
    """The id of a term's entry: class-Measure, property-measure (classes and properties may share a name)."""
    local = term.curie.split(":", 1)[1]
    return f"{'class' if term.kind == 'class' else 'property'}-{local}"


class _Page:
    """What both renderers need: where each term's entry is, and the facts to list under it."""

    def __init__(self, vocabulary: Vocabulary):
        self.v = vocabulary
        self.entries = {t.curie: anchor(t) for t in vocabulary.classes + vocabulary.properties}
        self.namespaces = dict(vocabulary.prefixes)

    def href(self, curie: str) -> str | None:
        """Where a term's name links: its entry on the page, else its own address (None when it has none)."""
        if curie in self.entries:
            return "#" + self.entries[curie]
        prefix, sep, local = curie.partition(":")
        if sep and prefix in self.namespaces and not local.startswith("//"):
            return self.namespaces[prefix] + local
        return curie if curie.startswith(("http://", "https://")) else None

    def facts(self, term: Term) -> list[Fact]:
        facts: list[Fact] = []
        if term.kind == "class":
            facts += _refs("subclass of", term.parents) + _refs("subclasses", term.children)
            facts += _refs("properties", term.properties) + _refs("value of", term.values_of)
        else:
            facts += _refs("subproperty of", term.parents) + _refs("subproperties", term.children)
            facts += _linked("domain", term.domain, term.domain_is_one_of)
            facts += _linked("range", term.range, term.range_is_one_of)
            facts += _refs("inverse of", (term.inverse,) if term.inverse else ())
        facts += _refs("also a", term.also)
        facts += [(what, [Code(value)]) for what, value in term.annotations]
        facts += _refs("source", term.sources)
        facts += [("constraint", _constraint(c, term)) for c in term.constraints]
        facts += [("also checked", [text]) for text in term.checked_by]
        facts.append(("example", _example(term, term.example)))
        return facts


def _refs(what: str, curies) -> list[Fact]:
    if not curies:
        return []
    pieces: list[Piece] = []
    for n, c in enumerate(curies):
        pieces += ([", "] if n else []) + [Ref(c)]
    return [(what, pieces)]


def _linked(what: str, curies: tuple[str, ...], one_of: bool) -> list[Fact]:
    if not curies:
        return []
    found = _refs(what, curies)[0][1]
    if one_of:
        return [(what, ["one of "] + found + [" (", Code(f"schema:{what}Includes"), ")"])]
    return [(what, found)]


def _constraint(c: Constraint, term: Term) -> list[Piece]:
    pieces: list[Piece] = [Code(c.shape)]
    if c.targets != (term.curie,):  # a class's own shapes need not say whom they check
        pieces += [" on "]
        for n, target in enumerate(c.targets):
            pieces += ([", "] if n else []) + ([Ref(target)] if " " not in target else [target])
    pieces += [": "]
    if c.path and (term.kind == "class" or c.path.lstrip("^") != term.curie):
        pieces += [Ref(c.path)] if not c.path.startswith("^") else ["inverse of ", Ref(c.path[1:])]
        pieces += [" "]
    elif c.path.startswith("^"):
        pieces += ["as its value (inverse): "]
    pieces += ["; ".join(c.rules)]
    if c.message:
        pieces += [" — ", Quote(c.message)]
    return pieces


def _example(term: Term, example: Example | None) -> list[Piece]:
    if example is None:
        return ["none in the Turtle files of the bundled knowledge base"]
    pieces: list[Piece] = [Code(example.subject)] + _label(example.subject_label)
    if term.kind != "class":
        pieces += [" ", Code(term.curie), " ", Code(example.value)] + _label(example.value_label)
    pieces += [" — ", Code(example.file)] if example.file else []
    pieces += [" (SAMPLE data)"] if example.sample else []
    return pieces


def _label(label: str) -> list[Piece]:
    if not label:
        return []
    return [f" ({label if len(label) <= 40 else label[:40] + '…'})"]


def _intro(v: Vocabulary) -> list[str]:
    """The paragraphs above the index, as plain text with `code` spans (both renderers use them)."""
    counts = {kind: sum(1 for t in v.properties if t.kind == kind)
              for kind in ("object property", "datatype property", "annotation property")}
    return [
        f"{v.description} Version {v.version}.",
        f"{len(v.classes)} classes and {len(v.properties)} properties ({counts['object property']} object, "
        f"{counts['datatype property']} datatype, {counts['annotation property']} annotation properties), "
        f"{len(v.schemes)} concept schemes. Generated from `ontology/policykb.ttl` and `ontology/shapes.ttl`, with "
        f"one example each from the bundled knowledge base, by `{COMMAND} --out docs/vocabulary.md` "
        f"(`--format html` for a web page); a test checks that this file is what the command writes.",
        "**Reading an entry.** *domain* and *range* are the classes a property links: a property whose uses all "
        "fall in one class states it with `rdfs:domain` / `rdfs:range`; one that links resources of several "
        "classes names each of them with `schema:domainIncludes` / `schema:rangeIncludes` (\"one of\"), "
        "e.g. `pkb:inCity` links both zones and counties to their city. *properties* and *value of* list, for "
        "a class, the properties whose domain or range names it. *constraint* is a SHACL shape of "
        "`ontology/shapes.ttl` (prefix `shape:`) that `policykb validate` checks, with the message it gives; "
        "*also checked* names the shapes that reach the term otherwise (through a superclass, or the "
        "subjects or objects of a property). *ledger column*, *ledger code* and *rule field* are the words "
        "ledgers and rule files use for the term. The *example* is one statement of the bundled knowledge "
        "base, real data before SAMPLE data.",
    ]


def _prefix_note() -> str:
    return ("`policykb query --file` and the SPARQL endpoint predeclare these prefixes: a query may use them "
            "without PREFIX lines (a query that declares its own keeps them).")


# --- Markdown ---------------------------------------------------------------------------------------

def markdown(v: Vocabulary) -> str:
    """The vocabulary page as Markdown (docs/vocabulary.md)."""
    page = _Page(v)
    out = [f"# {v.title} — vocabulary", ""]
    for paragraph in _intro(v):
        out += [paragraph, ""]
    out += ["## Prefixes", "", _prefix_note(), "", "| prefix | namespace |", "| --- | --- |"]
    out += [f"| `{prefix}:` | `{ns}` |" for prefix, ns in v.prefixes]
    out += ["", "## Index", ""]
    out += ["**Classes:** " + " · ".join(f"[{t.curie}](#{anchor(t)})" for t in v.classes), ""]
    out += ["**Properties:** " + " · ".join(f"[{t.curie}](#{anchor(t)})" for t in v.properties), ""]
    out += ["**Also:** [concept schemes](#concept-schemes) · [terms of other vocabularies](#terms-of-other-vocabularies)", ""]
    for heading, terms in (("Classes", v.classes), ("Properties", v.properties)):
        out += [f"## {heading}", ""]
        for term in terms:
            out += _md_term(page, term)
    out += ["## Concept schemes", "",
            "The codes ledgers and rule files write for concepts (`scope == cross`), with the other words a "
            "ledger cell may use.", ""]
    for scheme in v.schemes:
        out += [f"### {scheme.curie}", "", f"{scheme.label_zh} · *{scheme.label_en}*", ""]
        out += [_md_text(scheme.definition), ""] if scheme.definition else []
        out += ["| code | 中文 | English | also written | IRI |", "| --- | --- | --- | --- | --- |"]
        out += [_md_concept(c) for c in scheme.concepts] + [""]
    out += ["## Terms of other vocabularies", "",
            "Terms the ontology reuses and annotates for ledgers and rules.", "",
            "| term | annotations |", "| --- | --- |"]
    for term in v.reused:
        notes = "; ".join(f"{what} `{value}`" for what, value in term.annotations)
        out += [f"| [`{term.curie}`]({term.iri}) | {_md_text(notes)} |"]
    return "\n".join(out).rstrip() + "\n"


def _md_term(page: _Page, term: Term) -> list[str]:
    kind = "" if term.kind == "class" else f" · {term.kind}"
    out = [f'<a id="{anchor(term)}"></a>', "", f"### {term.curie}", "",
           f"{term.label_zh} · *{term.label_en}*{kind}", ""]
    out += [_md_text(term.definition), ""] if term.definition else []
    out += [f"- **{what}**: {''.join(_md_piece(page, p) for p in pieces)}" for what, pieces in page.facts(term)]
    return out + [""]


def _md_piece(page: _Page, piece: Piece) -> str:
    if isinstance(piece, Ref):
        href = page.href(piece.curie)
        return f"[`{piece.curie}`]({href})" if href else f"`{piece.curie}`"
    if isinstance(piece, Code):
        return f"`{piece.text}`" if "`" not in piece.text else f"`` {piece.text} ``"
    if isinstance(piece, Quote):
        return f"*{_md_text(piece.text)}*"
    return _md_text(piece)


def _md_text(text: str) -> str:
    """Text of the knowledge base in Markdown: characters that would start markup are escaped, except inside
    `code` spans, where Markdown shows a backslash as it is."""
    parts = text.replace("\n", " ").split("`")
    paired = len(parts) % 2 == 1  # else an unpaired backquote: no code spans, every backquote escaped
    for n in range(0, len(parts), 2 if paired else 1):
        part = parts[n]
        for char in ("\\", "*", "[", "]", "<", "|"):
            part = part.replace(char, "\\" + char)
        parts[n] = re.sub(r"(?<!\w)_|_(?!\w)", r"\\_", part)  # an underscore inside a word is no markup
    return "`".join(parts) if paired else "\\`".join(parts)


def _md_concept(c: Concept) -> str:
    cells = [f"`{c.code}`", _md_text(c.label_zh), _md_text(c.label_en), _md_text("、".join(c.also_written)),
             f"`{c.curie}`"]
    return "| " + " | ".join(cells) + " |"


# --- HTML ---------------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #1b1b1b; }
code { font-family: ui-monospace, "Noto Sans Mono CJK SC", monospace; font-size: 0.92em; background: #f3f3f3;
       padding: 0 0.2em; }
section.term { border-top: 1px solid #ddd; padding-top: 0.5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dt { font-weight: 600; color: #444; }
dd { margin: 0; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
nav a { white-space: nowrap; }
"""


def page_html(v: Vocabulary) -> str:
    """The vocabulary page as one HTML document (UTF-8, inline style, no scripts)."""
    page = _Page(v)
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{e(v.title)} — vocabulary</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
           f"<h1>{e(v.title)} — vocabulary</h1>"]
    out += [f"<p>{_html_inline(p)}</p>" for p in _intro(v)]
    out += ['<h2 id="prefixes">Prefixes</h2>', f"<p>{_html_inline(_prefix_note())}</p>",
            "<table><tr><th>prefix</th><th>namespace</th></tr>"]
    out += [f"<tr><td><code>{e(prefix)}:</code></td><td><code>{e(ns)}</code></td></tr>" for prefix, ns in v.prefixes]
    out += ["</table>", '<h2 id="index">Index</h2>', "<nav>"]
    for heading, terms in (("Classes", v.classes), ("Properties", v.properties)):
        links = " · ".join(f'<a href="#{anchor(t)}">{e(t.curie)}</a>' for t in terms)
        out += [f"<p><strong>{heading}:</strong> {links}</p>"]
    out += ['<p><strong>Also:</strong> <a href="#concept-schemes">concept schemes</a> · '
            '<a href="#terms-of-other-vocabularies">terms of other vocabularies</a></p>', "</nav>"]
    for heading, terms in (("Classes", v.classes), ("Properties", v.properties)):
        out += [f'<h2 id="{heading.lower()}">{heading}</h2>']
        for term in terms:
            out += _html_term(page, term)
    out += ['<h2 id="concept-schemes">Concept schemes</h2>']
    for scheme in v.schemes:
        out += [f"<h3>{e(scheme.curie)}</h3>", f"<p>{e(scheme.label_zh)} · <em>{e(scheme.label_en)}</em></p>"]
        out += [f"<p>{e(scheme.definition)}</p>"] if scheme.definition else []
        out += ["<table><tr><th>code</th><th>中文</th><th>English</th><th>also written</th><th>IRI</th></tr>"]
        out += [f"<tr><td><code>{e(c.code)}</code></td><td>{e(c.label_zh)}</td><td>{e(c.label_en)}</td>"
                f"<td>{e('、'.join(c.also_written))}</td><td><code>{e(c.curie)}</code></td></tr>" for c in scheme.concepts]
        out += ["</table>"]
    out += ['<h2 id="terms-of-other-vocabularies">Terms of other vocabularies</h2>',
            "<table><tr><th>term</th><th>annotations</th></tr>"]
    for term in v.reused:
        notes = "; ".join(f"{e(what)} <code>{e(value)}</code>" for what, value in term.annotations)
        out += [f'<tr><td><a href="{e(term.iri)}"><code>{e(term.curie)}</code></a></td><td>{notes}</td></tr>']
    out += ["</table>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_term(page: _Page, term: Term) -> list[str]:
    e = html.escape
    kind = "" if term.kind == "class" else f" · {e(term.kind)}"
    out = [f'<section class="term" id="{anchor(term)}">', f"<h3>{e(term.curie)}</h3>",
           f"<p>{e(term.label_zh)} · <em>{e(term.label_en)}</em>{kind}</p>"]
    out += [f"<p>{e(term.definition)}</p>"] if term.definition else []
    out += ["<dl>"]
    out += [f"<dt>{e(what)}</dt><dd>{''.join(_html_piece(page, p) for p in pieces)}</dd>"
            for what, pieces in page.facts(term)]
    return out + ["</dl>", "</section>"]


def _html_piece(page: _Page, piece: Piece) -> str:
    e = html.escape
    if isinstance(piece, Ref):
        href = page.href(piece.curie)
        return f'<a href="{e(href)}"><code>{e(piece.curie)}</code></a>' if href else f"<code>{e(piece.curie)}</code>"
    if isinstance(piece, Code):
        return f"<code>{e(piece.text)}</code>"
    if isinstance(piece, Quote):
        return f"<em>{e(piece.text)}</em>"
    return e(piece)


def _html_inline(text: str) -> str:
    """A paragraph of _intro: `code`, **bold** and *emphasis* become elements, everything else is escaped."""
    out = []
    for n, part in enumerate(text.split("`")):
        if n % 2:
            out.append(f"<code>{html.escape(part)}</code>")
            continue
        for k, bold in enumerate(part.split("**")):
            inner = "".join(f"<em>{html.escape(x)}</em>" if m % 2 else html.escape(x) for m, x in enumerate(bold.split("*")))
            out.append(f"<strong>{inner}</strong>" if k % 2 else inner)
    return "".join(out)
