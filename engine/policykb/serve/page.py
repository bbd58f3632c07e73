"""The pages `policykb serve` shows: the query page at `/` and a page per resource at `/resource?iri=…`.

Rendered on the server as plain HTML with ordinary forms, so everything works without JavaScript: a
typed query is posted and its table comes back, every IRI shows its label and links to the resource's
page (its statements and the statements pointing at it), and every library query has a form built from
its `# param:` header that runs it here or downloads it as CSV, JSON or Turtle. With JavaScript, the
vendored YASQE editor (from the YASGUI project; static/yasqe/) adds syntax highlighting, prefix
completion and a history of the queries run; it is loaded from /static, never inline, so the page's
Content-Security-Policy allows no inline script at all. Every value is escaped.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Mapping, Sequence
from urllib.parse import urlencode

from rdflib import BNode, Literal, URIRef

from ..kb.queries import NamedQuery
from ..kb.store import PREFIX_MAP, QUERY_BASE
from ..namespace import curie

TABLE_DOWNLOADS = (("csv", "CSV"), ("json", "JSON"), ("turtle", "Turtle"), ("tsv", "TSV"), ("xml", "XML"))
GRAPH_DOWNLOADS = (("turtle", "Turtle"), ("json-ld", "JSON-LD"), ("nt", "N-Triples"), ("rdf+xml", "RDF/XML"))
LIBRARY_DOWNLOADS = (("csv", "CSV"), ("json", "JSON"), ("turtle", "Turtle"))
_EXAMPLE = re.compile(r"e\.g\.\s+([^\s,;)]+)")
EXAMPLE_QUERY = """# An example: the pilot zones of one city with their names (Ctrl-Enter runs it)
PREFIX pkb:   <https://w3id.org/policykb/def#>
PREFIX place: <https://w3id.org/policykb/place/>
PREFIX skos:  <http://www.w3.org/2004/02/skos/core#>
SELECT ?zone ?name WHERE {
  ?zone a pkb:InnovationPromotionPilotZone ; pkb:inCity place:xiamen ; skos:prefLabel ?name .
  FILTER (lang(?name) = "zh")
} ORDER BY ?zone
"""


def document(title: str, body: str, *, editor: bool = False) -> bytes:
    """A whole HTML page: the site's style sheet, and the editor's scripts when the page has the query form."""
    head = ["<!DOCTYPE html><html lang=\"zh\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            f"<title>{escape(title)}</title>", "<link rel=\"icon\" href=\"data:,\">"]
    if editor:
        head.append("<link rel=\"stylesheet\" href=\"/static/yasqe/yasqe.min.css\">")
        head.append("<script src=\"/static/yasqe/yasqe.min.js\" defer></script>")
        head.append("<script src=\"/static/policykb.js\" defer></script>")
    head.append("<link rel=\"stylesheet\" href=\"/static/policykb.css\">")
    nav = ("<header><a class=\"home\" href=\"/\">policykb SPARQL</a><nav><a href=\"/\">query</a> "
           "<a href=\"/#library\">library</a> <a href=\"/vocabulary\">vocabulary</a> "
           "<a href=\"/sparql\">service description</a></nav></header>")
    return ("".join(head) + "</head><body>" + nav + "<main>" + body + "</main></body></html>").encode("utf-8")


def query_page(library: Mapping[str, NamedQuery], *, query: str = "", chosen: NamedQuery | None = None,
               params: Mapping[str, str] | None = None, answer=None, labels: Mapping[str, str] | None = None,
               error: str | None = None, max_rows: int = 0) -> bytes:
    """The query page: the form (with the chosen library query's parameters), the answer or error, the library."""
    parts = [_form(query or ("" if chosen else EXAMPLE_QUERY), chosen, params or {})]
    if error:
        parts.append(f"<section id=\"result\"><h2>Error</h2><div class=\"error\">{escape(error)}</div></section>")
    elif answer is not None:
        parts.append(_answer(answer, query, chosen, params or {}, labels or {}, max_rows))
    parts.append(_library(library))
    return document("policykb SPARQL", "".join(parts), editor=True)


def _form(query: str, chosen: NamedQuery | None, params: Mapping[str, str]) -> str:
    fields = []
    if chosen:
        fields.append(f"<h2>{escape(chosen.title)}</h2><p>{escape(chosen.answers)}</p>")
        fields.append(f"<input type=\"hidden\" name=\"name\" value=\"{escape(chosen.name)}\">")
        fields += [_param_field(p, "param." + p.name, params.get(p.name, "")) for p in chosen.params]
    prefixes = escape(json.dumps(PREFIX_MAP, sort_keys=True))
    return (f"<form id=\"query-form\" method=\"post\" action=\"/\" data-prefixes=\"{prefixes}\">"
            + "".join(fields)
            + "<label for=\"query\" class=\"note\">SPARQL query — the prefixes pkb:, zone:, sample:, doc:, unit:, "
              f"measure:, skos:, rdfs:, … are predeclared; relative IRIs resolve against <code>{escape(QUERY_BASE)}</code>"
              "</label>"
            + f"<textarea id=\"query\" name=\"query\" rows=\"14\" required spellcheck=\"false\">{escape(query)}</textarea>"
            + "<p class=\"actions\"><button type=\"submit\" id=\"run\">Run</button> "
              "<span class=\"note\">Ctrl-Enter runs, Ctrl-Space completes; standard clients use "
              "<code>/sparql</code> (SPARQL 1.1 Protocol, read-only)</span> "
              "<span id=\"history-box\" hidden><label for=\"history\">history</label> "
              "<select id=\"history\"><option value=\"\">recent queries…</option></select></span></p></form>")


def _param_field(param, field_name: str, value: str) -> str:
    example = _EXAMPLE.search(param.doc)
    placeholder = f" placeholder=\"{escape(example.group(1))}\"" if example else ""
    required = " required" if param.required else ""
    return (f"<label class=\"param\"><span>{escape(param.name)} ({escape(param.type)}"
            f"{'' if param.required else ', optional'})</span> <input name=\"{escape(field_name)}\" "
            f"value=\"{escape(value)}\"{placeholder}{required}> <span class=\"note\">{escape(param.doc)}</span></label>")


def _answer(answer, query: str, chosen: NamedQuery | None, params: Mapping[str, str], labels: Mapping[str, str],
            max_rows: int) -> str:
    head = f"<section id=\"result\"><h2>Result</h2><p class=\"note\">{answer.seconds:.3f} s"
    if answer.truncated:
        head += f"; only the first {max_rows} are shown (the endpoint's row limit)"
    head += "</p>" + _downloads(answer, query, chosen, params)
    if answer.boolean is not None:
        return head + f"<p class=\"boolean\"><strong>{'true' if answer.boolean else 'false'}</strong></p></section>"
    if answer.graph is not None:
        triples = sorted(answer.graph)
        rows = "".join(f"<tr><td>{cell(s, labels)}</td><td>{cell(p, labels)}</td><td>{cell(o, labels)}</td></tr>"
                       for s, p, o in triples)
        return (head + f"<p class=\"note\">{len(triples)} triple(s)</p><table class=\"results\"><thead><tr>"
                "<th>subject</th><th>predicate</th><th>object</th></tr></thead><tbody>" + rows + "</tbody></table></section>")
    cells = "".join(f"<th>{escape(v)}</th>" for v in answer.variables)
    body = "".join("<tr>" + "".join(f"<td>{cell(t, labels)}</td>" for t in row) + "</tr>" for row in answer.rows)
    return (head + f"<p class=\"note\">{len(answer.rows)} row(s)</p><table class=\"results\"><thead><tr>{cells}</tr>"
            f"</thead><tbody>{body}</tbody></table></section>")


def _downloads(answer, query: str, chosen: NamedQuery | None, params: Mapping[str, str]) -> str:
    if chosen is not None and query.strip() == chosen.text.strip():
        links = [(label, f"/query/{chosen.name}?" + urlencode([*params.items(), ("format", fmt)]))
                 for fmt, label in LIBRARY_DOWNLOADS]
    else:
        offered = GRAPH_DOWNLOADS if answer.graph is not None else TABLE_DOWNLOADS
        links = [(label, "/sparql?" + urlencode({"query": query, "format": fmt})) for fmt, label in offered]
    return ("<p class=\"downloads\">Download: "
            + " · ".join(f"<a href=\"{escape(href)}\" download>{escape(label)}</a>" for label, href in links) + "</p>")


def cell(term, labels: Mapping[str, str]) -> str:
    """A term as a table cell: an IRI as its prefixed name linked to its page, with its label beside it."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        href = "/resource?" + urlencode({"iri": str(term)})
        label = labels.get(str(term))
        shown = f"<a href=\"{escape(href)}\" title=\"{escape(str(term))}\">{escape(curie(term))}</a>"
        return shown + (f" <span class=\"label\">{escape(label)}</span>" if label else "")
    if isinstance(term, BNode):
        return f"<span class=\"bnode\">_:{escape(str(term))}</span>"
    if isinstance(term, Literal) and term.language:
        return f"{escape(str(term))} <span class=\"lang\">@{escape(term.language)}</span>"
    return escape(str(term))


def _library(library: Mapping[str, NamedQuery]) -> str:
    items = []
    for q in library.values():
        fields = "".join(_param_field(p, p.name, "") for p in q.params)
        downloads = " ".join(f"<button type=\"submit\" name=\"format\" value=\"{fmt}\">{label}</button>"
                             for fmt, label in LIBRARY_DOWNLOADS)
        items.append(
            f"<details id=\"q-{escape(q.name)}\"><summary><code>{escape(q.name)}</code> — {escape(q.title)}</summary>"
            f"<p>{escape(q.answers)}</p>"
            f"<form method=\"get\" action=\"/query/{escape(q.name)}\" class=\"library\">{fields}"
            "<p class=\"actions\"><button type=\"submit\" name=\"format\" value=\"html\">Run here</button> "
            f"<span class=\"note\">download:</span> {downloads} "
            f"<a href=\"/?{escape(urlencode({'name': q.name}))}\">open in the editor</a></p></form></details>")
    return ("<section id=\"library\"><h2>Library</h2><p class=\"note\">The named queries of <code>queries/</code>: "
            "run one here with its parameters, or download its rows.</p>" + "".join(items) + "</section>")


def resource_page(resource: URIRef, outgoing: Sequence[tuple], incoming: Sequence[tuple], labels: Mapping[str, str],
                  *, truncated: bool = False, max_rows: int = 0) -> bytes:
    """A resource's statements (property, value, source file) and the statements that point to it."""
    title = labels.get(str(resource)) or curie(resource)
    describe = "/sparql?" + urlencode({"query": f"DESCRIBE <{resource}>", "format": "turtle"})
    parts = [f"<h1>{escape(title)}</h1>",
             f"<p><code>{escape(str(resource))}</code> · <a href=\"{escape(describe)}\">DESCRIBE as Turtle</a></p>"]
    if truncated:
        parts.append(f"<p class=\"note\">Only the first {max_rows} statements of each kind are shown (the endpoint's "
                     "row limit).</p>")
    if not outgoing and not incoming:
        parts.append("<p class=\"error\">The knowledge base says nothing about this resource.</p>")
    out_rows = "".join(f"<tr><td>{cell(p, labels)}</td><td>{cell(o, labels)}</td><td>{_source(g)}</td></tr>"
                       for p, o, g in outgoing)
    in_rows = "".join(f"<tr><td>{cell(s, labels)}</td><td>{cell(p, labels)}</td><td>{_source(g)}</td></tr>"
                      for s, p, g in incoming)
    parts.append(f"<section id=\"outgoing\"><h2>Statements about it ({len(outgoing)})</h2><table class=\"results\">"
                 "<thead><tr><th>property</th><th>value</th><th>source</th></tr></thead>"
                 f"<tbody>{out_rows}</tbody></table></section>")
    parts.append(f"<section id=\"incoming\"><h2>Statements that point to it ({len(incoming)})</h2>"
                 "<table class=\"results\"><thead><tr><th>subject</th><th>property</th><th>source</th></tr></thead>"
                 f"<tbody>{in_rows}</tbody></table></section>")
    return document(f"{title} — policykb", "".join(parts))


def _source(name: str | None) -> str:
    return f"<code>{escape(name)}</code>" if name else ""


def message_page(status: int, text: str) -> bytes:
    """An error as a page, for browsers that asked for one."""
    return document(f"{status} — policykb", f"<h1>{status}</h1><div class=\"error\">{escape(text)}</div>")
