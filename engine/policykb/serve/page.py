"""The query page `policykb serve` shows at `/`: type a query (or pick one of the library), see the table.

Rendered on the server as plain HTML with one form, so it works without JavaScript; every value is
escaped, and IRIs link to a DESCRIBE of the resource so that a researcher can browse the knowledge base.
"""

from __future__ import annotations

from html import escape
from typing import Mapping
from urllib.parse import urlencode

from rdflib import Graph, Literal, URIRef

from ..kb.queries import NamedQuery, shown
from ..namespace import curie

_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5rem;max-width:90rem;color:#222}
textarea{width:100%;font-family:ui-monospace,monospace;font-size:.9rem}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;vertical-align:top}
th{background:#f3f3f3;text-align:left}.error{background:#fee;border:1px solid #c00;padding:.5rem;white-space:pre-wrap}
.note{color:#555}.lang{color:#888;font-size:.8em}nav li{margin:.1rem 0}label{display:block;margin:.3rem 0}
"""


def render(library: Mapping[str, NamedQuery], *, query: str = "", name: str | None = None,
           params: Mapping[str, str] | None = None, answer=None, error: str | None = None,
           max_rows: int = 0) -> bytes:
    """The whole page: the library, the form (with the chosen query's parameters) and the answer or error."""
    chosen = library.get(name) if name else None
    parts = [
        "<!DOCTYPE html><html lang=\"zh\"><head><meta charset=\"utf-8\">",
        "<title>policykb SPARQL</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>policykb SPARQL</h1>",
        "<p class=\"note\">Standard clients query <code>/sparql</code> (SPARQL 1.1 Protocol, read-only). "
        "The project prefixes (pkb:, zone:, sample:, …) are predeclared.</p>",
        _form(query, chosen, params or {}),
    ]
    if error:
        parts.append(f"<h2>Error</h2><div class=\"error\">{escape(error)}</div>")
    elif answer is not None:
        parts.append(_answer(answer, query, chosen, max_rows))
    parts.append(_library(library))
    parts.append("</body></html>")
    return "".join(parts).encode("utf-8")


def _form(query: str, chosen: NamedQuery | None, params: Mapping[str, str]) -> str:
    fields = []
    if chosen:
        fields.append(f"<h2>{escape(chosen.title)}</h2><p>{escape(chosen.answers)}</p>")
        fields.append(f"<input type=\"hidden\" name=\"name\" value=\"{escape(chosen.name)}\">")
        for param in chosen.params:
            required = "" if not param.required else " required"
            value = escape(params.get(param.name, ""))
            fields.append(f"<label>{escape(param.name)} ({escape(param.type)}{'' if param.required else ', optional'}): "
                          f"<input name=\"param.{escape(param.name)}\" value=\"{value}\"{required}> "
                          f"<span class=\"note\">{escape(param.doc)}</span></label>")
    return ("<form method=\"post\" action=\"/\">" + "".join(fields)
            + f"<textarea name=\"query\" rows=\"14\" required>{escape(query)}</textarea>"
            + "<p><button type=\"submit\">Run</button></p></form>")


def _answer(answer, query: str, chosen: NamedQuery | None, max_rows: int) -> str:
    head = f"<h2>Result</h2><p class=\"note\">{answer.seconds:.3f} s"
    if answer.truncated:
        head += f"; only the first {max_rows} rows are shown (the endpoint's row limit)"
    head += "</p>"
    if not (chosen and chosen.params):
        links = " · ".join(f"<a href=\"/sparql?{escape(urlencode({'query': query, 'format': f}))}\">{f.upper()}</a>"
                           for f in (("turtle", "json-ld") if answer.graph is not None else ("json", "xml", "csv", "tsv")))
        head += f"<p class=\"note\">Download: {links}</p>"
    if answer.boolean is not None:
        return head + f"<p><strong>{'true' if answer.boolean else 'false'}</strong></p>"
    if answer.graph is not None:
        return head + _graph_table(answer.graph)
    cells = "".join(f"<th>{escape(v)}</th>" for v in answer.variables)
    body = "".join("<tr>" + "".join(f"<td>{_cell(t)}</td>" for t in row) + "</tr>" for row in answer.rows)
    return head + f"<p class=\"note\">{len(answer.rows)} row(s)</p><table><tr>{cells}</tr>{body}</table>"


def _graph_table(graph: Graph) -> str:
    rows = "".join(f"<tr><td>{_cell(s)}</td><td>{_cell(p)}</td><td>{_cell(o)}</td></tr>" for s, p, o in sorted(graph))
    return f"<p class=\"note\">{len(graph)} triple(s)</p><table><tr><th>subject</th><th>predicate</th><th>object</th></tr>{rows}</table>"


def _cell(term) -> str:
    if term is None:
        return ""
    if isinstance(term, URIRef):
        href = "/?" + urlencode({"query": f"DESCRIBE <{term}>"})
        return f"<a href=\"{escape(href)}\" title=\"{escape(str(term))}\">{escape(curie(term))}</a>"
    if isinstance(term, Literal) and term.language:
        return f"{escape(str(term))} <span class=\"lang\">@{escape(term.language)}</span>"
    return escape(shown(term))


def _library(library: Mapping[str, NamedQuery]) -> str:
    items = "".join(f"<li><a href=\"/?{escape(urlencode({'name': q.name}))}\">{escape(q.name)}</a> — {escape(q.title)}</li>"
                    for q in library.values())
    return f"<nav><h2>Query library</h2><ul>{items}</ul></nav>"
