"""The HTTP side of the endpoint: a Starlette application, served by uvicorn.

It reads requests — the SPARQL 1.1 Protocol's GET and POST forms, the query page's forms, a resource or a
library query — turns each into a job for the worker pool (serve.jobs) and sends the reply back. The
protocol's own refusals (a wrong method, media type, charset or body size, an update, a foreign Host
header) are answered here without a worker. A request body is read with a size limit whatever its
Content-Length says (missing, negative, huge, or chunked without end) and a read timeout. Pages get a
strict Content-Security-Policy: scripts only from /static, no inline script.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Sequence
from urllib.parse import parse_qsl

from rdflib import BNode, Graph, Literal, URIRef
from rdflib import Namespace
from rdflib.namespace import RDF, RDFS
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..errors import QueryError
from ..kb.queries import expand_iri
from ..kb.store import QUERY_BASE, graph_id
from . import page
from .formats import GRAPH_FORMATS, TABLE_FORMATS, NotAcceptable, accepts_html, content_type, negotiate, write_graph
from .jobs import ExtraPageJob, LibraryJob, PageJob, ResourceJob, SparqlJob
from .replies import HTML, Reply, error, failure, read_only

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")  # SPARQL 1.1 Service Description

if TYPE_CHECKING:
    from .service import SparqlService

STATIC = Path(__file__).resolve().parent / "static"  # the page's style sheet and scripts, and the vendored editor
ALLOW = "GET, HEAD, POST, OPTIONS"
PAGE_ALLOW = "GET, HEAD, POST"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
# extra pages (report pages, the vocabulary) may carry their own <style>; scripts stay forbidden
PAGE_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
_FORMAT_IRIS = {"json": "SPARQL_Results_JSON", "xml": "SPARQL_Results_XML", "csv": "SPARQL_Results_CSV",
                "tsv": "SPARQL_Results_TSV", "turtle": "Turtle", "json-ld": "JSON-LD", "nt": "N-Triples",
                "rdf+xml": "RDF_XML"}


def build_app(service: "SparqlService", hosts: set[str] | None) -> Starlette:
    """The application: `/sparql`, `/` (the query page), `/resource`, `/query/NAME`, `/static/…`, and the
    extra pages the service was given (its route table)."""
    settings = service.settings

    async def run(job, request: Request) -> Response:
        return respond(await service.run(job, disconnected=request.is_disconnected))

    async def sparql(request: Request) -> Response:
        if request.method == "OPTIONS":
            return respond(Reply(204, headers={"Allow": ALLOW}))
        if request.method not in ("GET", "HEAD", "POST"):
            return respond(error(405, f"{request.method} is not allowed: this endpoint is read-only and answers "
                                      "queries", "send the query by GET or POST", {"Allow": ALLOW, "Connection": "close"}))
        params = url_params(request)
        if isinstance(params, Reply):
            return respond(params)
        if request.method == "POST":
            body = await read_body(request, settings.max_body, settings.read_timeout)
            if isinstance(body, Reply):
                return respond(body)
            params = posted(request, params, body)
            if isinstance(params, Reply):
                return respond(params)
        if any(k == "update" for k, _ in params):
            return respond(read_only())
        queries = [v for k, v in params if k == "query"]
        requested = tuple(v for k, v in params if k in ("format", "output") and v)
        accept = request.headers.get("accept")
        if not queries and request.method != "POST":
            sd = description(service, request, accept, requested)
            if not requested and accepts_html(accept):  # a person following a link: show it, do not download it
                sd = Reply(sd.status, sd.body, "text/plain; charset=utf-8", sd.headers)
            return respond(sd)
        if len(queries) != 1:
            return respond(error(400, "no query given" if not queries else "the query parameter is given more than once",
                                 "send exactly one query=… (GET or form POST) or an application/sparql-query body"))
        if not requested and accepts_html(accept):
            return await run(PageJob(queries[0]), request)
        try:
            graphs = {key: tuple(str(expand_iri(v, key)) for k, v in params if k == key)
                      for key in ("default-graph-uri", "named-graph-uri")}
        except QueryError as exc:
            return respond(failure(exc))
        return await run(SparqlJob(queries[0], graphs["default-graph-uri"], graphs["named-graph-uri"], accept,
                                   requested), request)

    async def query_page(request: Request) -> Response:
        params = url_params(request)
        if isinstance(params, Reply):
            return respond(params)
        if request.method == "POST":
            if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
                return respond(error(415, "the query page takes form posts only",
                                     "post the form (application/x-www-form-urlencoded); send queries to /sparql"))
            body = await read_body(request, settings.max_body, settings.read_timeout)
            if isinstance(body, Reply):
                return respond(body)
            try:
                params = params + parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
            except UnicodeDecodeError:
                return respond(error(400, "the form is not UTF-8"))
        values = dict(params)
        name = values.get("name") or None
        chosen = service.library.get(name) if name else None
        given = tuple((k[len("param."):], v) for k, v in params if k.startswith("param."))
        if values.get("query"):
            return await run(PageJob(values["query"], name, given), request)
        html = page.query_page(service.library, query=chosen.text if chosen else "", chosen=chosen,
                               params=dict(given))
        return respond(Reply(200, html, HTML))

    async def resource(request: Request) -> Response:
        params = url_params(request)
        if isinstance(params, Reply):
            return respond(params)
        iris = [v for k, v in params if k == "iri"]
        if len(iris) != 1:
            return respond(error(400, "say which resource: /resource?iri=…", "give one iri=, e.g. sample:zone-fz-b "
                                                                               "or a full IRI"))
        return await run(ResourceJob(iris[0]), request)

    async def library_query(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in service.library:
            return respond(error(404, f"the library has no query {name!r}",
                                 f"its queries: {', '.join(service.library)}"))
        params = url_params(request)
        if isinstance(params, Reply):
            return respond(params)
        requested = tuple(v for k, v in params if k == "format" and v)
        if not requested and accepts_html(request.headers.get("accept")):
            requested = ("html",)
        given = tuple((k, v) for k, v in params if k != "format")
        return await run(LibraryJob(name, given, requested, request.headers.get("accept")), request)

    def extra(render):
        async def handler(request: Request) -> Response:
            params = url_params(request)
            if isinstance(params, Reply):
                return respond(params)
            response = await run(ExtraPageJob(render, tuple(params)), request)
            if response.headers.get("content-type", "").startswith("text/html"):
                response.headers["Content-Security-Policy"] = PAGE_CSP
            return response
        return handler

    async def not_found(request: Request, exc) -> Response:
        return respond(error(404, f"no page {request.url.path}", "the SPARQL endpoint is /sparql; the query page is /"))

    async def not_allowed(request: Request, exc) -> Response:
        return respond(error(405, f"{request.method} is not allowed here", f"use {PAGE_ALLOW}",
                             {"Allow": PAGE_ALLOW, "Connection": "close"}))

    async def internal(request: Request, exc: Exception) -> Response:
        service.log(f"internal error on {request.url.path}: {type(exc).__name__}: {exc}")
        return respond(failure(exc))

    every = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "PATCH"]
    routes = [
        Route("/sparql", sparql, methods=every),
        Route("/", query_page, methods=["GET", "HEAD", "POST"]),
        Route("/index.html", query_page, methods=["GET", "HEAD", "POST"]),
        Route("/resource", resource, methods=["GET", "HEAD"]),
        Route("/query/{name}", library_query, methods=["GET", "HEAD"]),
        *(Route(p.path, extra(p.render), methods=["GET", "HEAD"]) for p in service.pages),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed, Exception: internal})
    return Guard(app, hosts)


def respond(reply: Reply) -> Response:
    headers = dict(reply.headers)
    if reply.content_type.startswith("text/html"):
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("Referrer-Policy", "same-origin")
    return Response(reply.body, status_code=reply.status, headers=headers, media_type=reply.content_type)


class Guard:
    """ASGI middleware: refuse foreign Host headers on a loopback server (DNS rebinding) and mark every response."""

    def __init__(self, app, hosts: set[str] | None):
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.hosts is not None:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            if host not in self.hosts:
                reply = error(403, "unexpected Host header",
                              "this server answers only requests addressed to it by its loopback address")
                return await respond(reply)(scope, receive, send)

        async def marked(message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), (b"x-content-type-options", b"nosniff"),
                                      (b"server", f"policykb/{__version__}".encode("ascii"))]
            await send(message)

        await self.app(scope, receive, marked)


def url_params(request: Request) -> list[tuple[str, str]] | Reply:
    """The URL's parameters, decoded strictly as UTF-8."""
    try:
        return parse_qsl(request.scope.get("query_string", b"").decode("utf-8"), keep_blank_values=True,
                         errors="strict")
    except UnicodeDecodeError:
        return error(400, "the query string is not UTF-8", "percent-encode the query as UTF-8")


async def read_body(request: Request, limit: int, timeout: float) -> bytes | Reply:
    """A request's body, at most `limit` bytes, arriving within `timeout` seconds; otherwise the error to answer
    (and the connection is closed, the rest of the body unread)."""
    close = {"Connection": "close"}
    length = request.headers.get("content-length")
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    if length is None and not chunked:
        return error(411, "a POST needs a body with a Content-Length (or chunked)", "send the body with its length",
                     close)
    if length is not None:
        if not length.strip().isdigit():
            return error(400, "Content-Length is not a number", None, close)
        if int(length) > limit:
            return error(413, f"the request body is larger than {limit} bytes", "send a shorter query", close)
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    return error(413, f"the request body is larger than {limit} bytes", "send a shorter query", close)
    except TimeoutError:
        return error(408, f"the request body did not arrive within {timeout:g} s", "send the whole body at once", close)
    except ClientDisconnect:
        return error(400, "the client went away before its body arrived", None, close)
    return bytes(body)


def posted(request: Request, params: list[tuple[str, str]], body: bytes) -> list[tuple[str, str]] | Reply:
    """The parameters of a POST: the URL's, plus the form's or the application/sparql-query body as `query`."""
    media, _, rest = request.headers.get("content-type", "").partition(";")
    media = media.strip().lower()
    charset = "utf-8"
    for part in rest.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media == "application/sparql-update":
        return read_only()
    if media not in ("application/x-www-form-urlencoded", "application/sparql-query"):
        return error(415, f"cannot read a POST body of type {media or '(none)'}",
                     "send application/sparql-query (the query itself) or application/x-www-form-urlencoded (query=…)")
    if charset not in ("utf-8", "utf8"):
        return error(415, f"the body's charset is {charset}", "send the body as UTF-8")
    try:
        text = body.decode("utf-8")
        if media == "application/x-www-form-urlencoded":
            return params + parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return error(400, "the request body is not UTF-8", "send the query as UTF-8 text")
    if any(k == "query" for k, _ in params):
        return error(400, "the query is given both in the body and as a query parameter", "send it once")
    return params + [("query", text)]


def description(service: "SparqlService", request: Request, accept: str | None, requested: Sequence[str]) -> Reply:
    """The SPARQL 1.1 Service Description (GET /sparql without a query): what the endpoint speaks, the base IRI
    relative IRIs resolve against, and the graphs it holds (one per source file)."""
    try:
        fmt = negotiate(True, accept, list(requested))
    except NotAcceptable as exc:
        return failure(exc)
    graph = Graph()
    graph.bind("sd", SD)
    node, dataset, default = BNode(), BNode(), BNode()
    graph.add((node, RDF.type, SD.Service))
    graph.add((node, SD.endpoint, URIRef(str(request.url.replace(query="", fragment="")))))
    graph.add((node, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((node, SD.feature, SD.UnionDefaultGraph))
    for fmt_name in [f.name for f in TABLE_FORMATS] + [f.name for f in GRAPH_FORMATS]:
        graph.add((node, SD.resultFormat, URIRef("http://www.w3.org/ns/formats/" + _FORMAT_IRIS[fmt_name])))
    graph.add((node, RDFS.comment, Literal(
        f"policykb {__version__}: a read-only SPARQL 1.1 Query endpoint. Relative IRIs in a query resolve against the "
        f"base IRI <{QUERY_BASE}>. The default graph is the union of the named graphs, one per source file of the "
        "knowledge base; SPARQL Update is refused" + ("" if service.settings.allow_service else
                                                      ", and so is SERVICE") + ".", lang="en")))
    graph.add((node, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    for source in service.spec.files:
        named = BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, SD.name, graph_id(source.name)))
    return Reply(200, write_graph(fmt, graph), content_type(fmt), {"Vary": "Accept"})
