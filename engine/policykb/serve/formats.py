"""SPARQL results in the standard formats, and content negotiation between them.

SELECT and ASK results are written as SPARQL 1.1 Query Results JSON, XML, CSV and TSV, or as Turtle in the
W3C result-set vocabulary (as Apache Jena does, for those who want a table as RDF); CONSTRUCT and DESCRIBE
graphs as Turtle, JSON-LD, N-Triples or RDF/XML. The writers are small and exact (TSV terms in Turtle
syntax with every tab and newline escaped, CSV with CRLF) rather than rdflib's, whose TSV is not.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from ..namespace import bind_prefixes

SPARQL_NS = "http://www.w3.org/2005/sparql-results#"
RESULT_SET_NS = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#"  # the DAWG result-set vocabulary


@dataclass(frozen=True)
class Format:
    """One output format: its media type, the name the `format` parameter uses, and its other names."""

    name: str
    media_type: str
    aliases: tuple[str, ...] = ()


TABLE_FORMATS = (  # SELECT and ASK; the first is the default
    Format("json", "application/sparql-results+json", ("application/json", "srj")),
    Format("xml", "application/sparql-results+xml", ("application/xml", "text/xml", "srx")),
    Format("csv", "text/csv"),
    Format("tsv", "text/tab-separated-values"),
    Format("turtle", "text/turtle", ("ttl", "application/turtle", "application/x-turtle")),
)
GRAPH_FORMATS = (  # CONSTRUCT and DESCRIBE; the first is the default
    Format("turtle", "text/turtle", ("ttl", "application/turtle", "application/x-turtle", "n3", "text/n3",
                                     "text/rdf+n3")),
    Format("json-ld", "application/ld+json", ("jsonld", "json", "application/x-json+ld")),
    Format("nt", "application/n-triples", ("ntriples", "n-triples", "text/plain")),
    Format("rdf+xml", "application/rdf+xml", ("rdfxml", "xml", "rdf")),
)
_RDFLIB_NAMES = {"turtle": "turtle", "json-ld": "json-ld", "nt": "nt", "rdf+xml": "xml"}


class NotAcceptable(Exception):
    """No format the client accepts can carry this kind of result."""


def negotiate(is_graph: bool, accept: str | None, requested: list[str]) -> Format:
    """The format for a result: a `format` parameter value the form can carry wins, else the Accept header."""
    offered = GRAPH_FORMATS if is_graph else TABLE_FORMATS
    if requested:
        for value in requested:
            for fmt in offered:
                if value.strip().lower() in (fmt.name, fmt.media_type, *fmt.aliases):
                    return fmt
        raise NotAcceptable(f"format {', '.join(requested)} cannot carry a {'graph' if is_graph else 'results table'}; "
                            f"use one of {', '.join(f.name for f in offered)}")
    ranges = _accept(accept)
    if not ranges:
        return offered[0]
    best, best_q = None, 0.0
    for fmt in offered:
        q = _quality(ranges, fmt)
        if q > best_q:
            best, best_q = fmt, q
    if best is None:
        raise NotAcceptable(f"none of the accepted types ({accept}) can carry a {'graph' if is_graph else 'results table'}; "
                            f"this endpoint writes {', '.join(f.media_type for f in offered)}")
    return best


def _accept(header: str | None) -> list[tuple[str, float, int]]:
    """Media ranges of an Accept header with their q values and specificity (2 exact, 1 type/*, 0 */*)."""
    ranges = []
    for part in (header or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        specificity = 0 if media == "*/*" else (1 if media.endswith("/*") else 2)
        ranges.append((media, q, specificity))
    return ranges


def _quality(ranges: list[tuple[str, float, int]], fmt: Format) -> float:
    """The q value that the most specific range matching a format (or a media-type alias of it) gives."""
    names = [fmt.media_type] + [a for a in fmt.aliases if "/" in a]
    best = (-1, 0.0)
    for media, q, specificity in ranges:
        if any(_matches(media, name) for name in names) and (specificity, q) > best:
            best = (specificity, q)
    return best[1]


def _matches(media_range: str, media_type: str) -> bool:
    if media_range == "*/*":
        return True
    if media_range.endswith("/*"):
        return media_type.startswith(media_range[:-1])
    return media_range == media_type


def accepts_html(accept: str | None) -> bool:
    """Whether the client (a browser) prefers an HTML page to any results format."""
    ranges = _accept(accept)
    html = max((q for media, q, s in ranges if media in ("text/html", "application/xhtml+xml")), default=0.0)
    others = max((q for media, q, s in ranges if s == 2 and media not in ("text/html", "application/xhtml+xml")),
                 default=0.0)
    return html > 0 and html >= others


def content_type(fmt: Format) -> str:
    return f"{fmt.media_type}; charset=utf-8" if fmt.name not in ("xml", "rdf+xml") else fmt.media_type


# ---- SELECT / ASK ---------------------------------------------------------------------------------

def write_table(fmt: Format, variables: list[str], rows: list[tuple]) -> bytes:
    """A SELECT result (variables, rows of terms or None) in one of TABLE_FORMATS."""
    if fmt.name == "json":
        bindings = [{v: _json_term(t) for v, t in zip(variables, row) if t is not None} for row in rows]
        return _json({"head": {"vars": variables}, "results": {"bindings": bindings}})
    if fmt.name == "xml":
        root, head = _xml_root()
        for v in variables:
            ET.SubElement(head, _q("variable"), name=v)
        results = ET.SubElement(root, _q("results"))
        for row in rows:
            result = ET.SubElement(results, _q("result"))
            for v, t in zip(variables, row):
                if t is not None:
                    _xml_term(ET.SubElement(result, _q("binding"), name=v), t)
        return _xml(root)
    if fmt.name == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow(["" if t is None else (f"_:{t}" if isinstance(t, BNode) else str(t)) for t in row])
        return buffer.getvalue().encode("utf-8")
    if fmt.name == "turtle":
        return _result_set(variables, rows)
    lines = ["\t".join("?" + v for v in variables)]
    lines += ["\t".join("" if t is None else tsv_term(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_boolean(fmt: Format, value: bool) -> bytes:
    """An ASK result; CSV and TSV (which the standard defines for SELECT only) carry it as one value."""
    if fmt.name == "json":
        return _json({"head": {}, "boolean": value})
    if fmt.name == "xml":
        root, _ = _xml_root()
        ET.SubElement(root, _q("boolean")).text = "true" if value else "false"
        return _xml(root)
    if fmt.name == "turtle":
        return (f"@prefix rs: <{RESULT_SET_NS}> .\n\n[] a rs:ResultSet ;\n    rs:boolean "
                f"{'true' if value else 'false'} .\n").encode("utf-8")
    head = "boolean" if fmt.name == "csv" else "?boolean"
    line_end = "\r\n" if fmt.name == "csv" else "\n"
    return f"{head}{line_end}{'true' if value else 'false'}{line_end}".encode("utf-8")


def _result_set(variables: list[str], rows: list[tuple]) -> bytes:
    """A SELECT result as Turtle in the result-set vocabulary: one rs:solution per row, with its rs:index so that
    the order survives, one rs:binding per bound variable."""
    parts = ["a rs:ResultSet"]
    if variables:
        parts.append("rs:resultVariable " + ", ".join(_turtle_string(v) for v in variables))
    for number, row in enumerate(rows, 1):
        bindings = [f"[ rs:variable {_turtle_string(v)} ; rs:value {tsv_term(t)} ]"
                    for v, t in zip(variables, row) if t is not None]
        solution = f"rs:index {number}" + (" ;\n        rs:binding " + " ,\n            ".join(bindings) if bindings else "")
        parts.append(f"rs:solution [ {solution} ]")
    return (f"@prefix rs: <{RESULT_SET_NS}> .\n\n[] " + " ;\n    ".join(parts) + " .\n").encode("utf-8")


def _turtle_string(text: str) -> str:
    return tsv_term(Literal(text))


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _json_term(term) -> dict:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype and term.datatype != XSD.string:
        out["datatype"] = str(term.datatype)
    return out


def _q(tag: str) -> str:
    return f"{{{SPARQL_NS}}}{tag}"


def _xml_root():
    ET.register_namespace("", SPARQL_NS)
    root = ET.Element(_q("sparql"))
    return root, ET.SubElement(root, _q("head"))


def _xml_term(parent, term) -> None:
    if isinstance(term, URIRef):
        ET.SubElement(parent, _q("uri")).text = str(term)
    elif isinstance(term, BNode):
        ET.SubElement(parent, _q("bnode")).text = str(term)
    else:
        attributes = {}
        if term.language:
            attributes["{http://www.w3.org/XML/1998/namespace}lang"] = term.language
        elif term.datatype and term.datatype != XSD.string:
            attributes["datatype"] = str(term.datatype)
        ET.SubElement(parent, _q("literal"), attributes).text = str(term)


def _xml(root) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def tsv_term(term) -> str:
    """A term in Turtle syntax on one line: <iri>, _:b, "text"@zh, "2021-01-02"^^<…#date>."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    text = str(term)
    quoted = '"' + (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                    .replace("\r", "\\r").replace("\t", "\\t")) + '"'
    if isinstance(term, Literal) and term.language:
        return f"{quoted}@{term.language}"
    if isinstance(term, Literal) and term.datatype and term.datatype != XSD.string:
        return f"{quoted}^^<{term.datatype}>"
    return quoted


# ---- CONSTRUCT / DESCRIBE -------------------------------------------------------------------------

def write_graph(fmt: Format, graph: Graph) -> bytes:
    """A graph in one of GRAPH_FORMATS, with the project prefixes where the format has prefixes."""
    bind_prefixes(graph)
    data = graph.serialize(format=_RDFLIB_NAMES[fmt.name], encoding="utf-8")
    return data if isinstance(data, bytes) else data.encode("utf-8")
