"""A read-only SPARQL 1.1 Protocol endpoint over the loaded knowledge base (`policykb serve`).

`/sparql` takes queries by GET and POST (form-encoded or application/sparql-query) and answers in SPARQL
JSON, XML, CSV or TSV, or for CONSTRUCT/DESCRIBE in Turtle, JSON-LD, N-Triples or RDF/XML, by content
negotiation or a `format` parameter. Updates are refused; SERVICE is refused unless the server was started
to allow it, and no query can connect out otherwise; FROM / FROM NAMED and the protocol's
default-graph-uri / named-graph-uri may name only graphs the knowledge base holds. Each query runs under
a time limit, results are capped, and `/` is a small HTML page to type a query and see the table.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from typing import Mapping
from urllib.parse import parse_qsl, urlsplit

from rdflib import Graph

from .. import __version__
from ..errors import PolicyKBError, UsageError
from ..kb.load import KnowledgeBase
from ..kb.queries import (
    ServiceRefused,
    UpdateRefused,
    bind,
    execute,
    expand_iri,
    form,
    library,
    prepare,
)
from .formats import (
    NotAcceptable,
    accepts_html,
    content_type,
    negotiate,
    write_boolean,
    write_graph,
    write_table,
)
from .page import render
from .sandbox import NetworkRefused, QueryTimeout, run_guarded

ALLOW = "GET, HEAD, POST, OPTIONS"
_PREPARED_KEPT = 256
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Settings:
    """How the endpoint limits each query."""

    timeout: float | None = 30.0  # seconds per query; None: no limit
    max_rows: int = 10_000  # rows (or triples) per answer
    allow_service: bool = False  # let SERVICE call other endpoints
    max_body: int = 1 << 20  # bytes of a POST body
    max_concurrent: int = 4  # queries evaluated at once; others wait up to `timeout`
    quiet: bool = False  # no request log on stderr


@dataclass(frozen=True)
class Answer:
    """A query's answer, capped: a table, a boolean or a graph."""

    form: str
    variables: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = ()
    boolean: bool | None = None
    graph: Graph | None = None
    truncated: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict = field(default_factory=dict)


class Busy(Exception):
    """Every query slot stayed taken for as long as a query may run."""


class SparqlService:
    """Answers queries against one knowledge base under the endpoint's limits; knows nothing of HTTP."""

    def __init__(self, kb: KnowledgeBase, settings: Settings | None = None):
        self.kb = kb
        self.settings = settings or Settings()
        self.library = library(kb.layout.queries)
        self._parse_lock = threading.Lock()  # pyparsing's packrat cache is shared
        self._prepared: OrderedDict[str, object] = OrderedDict()
        self._slots = threading.BoundedSemaphore(self.settings.max_concurrent)

    def prepare(self, text: str):
        """Parse a query (the last few hundred are kept: rdflib takes ~0.1 s to parse one); raises QueryError
        (UpdateRefused for an update) naming line and column. A prepared query is shared: never change it."""
        with self._parse_lock:
            prepared = self._prepared.pop(text, None) or prepare(text, "query")
            self._prepared[text] = prepared
            while len(self._prepared) > _PREPARED_KEPT:
                self._prepared.popitem(last=False)
            return prepared

    def answer(self, text: str, bindings: Mapping[str, object] | None = None, *,
               default_graphs: list[str] = (), named_graphs: list[str] = ()) -> Answer:
        """Parse, check and run a query; raises QueryError (or a subclass), QueryTimeout or Busy."""
        return self.run(self.prepare(text), bindings, default_graphs=default_graphs, named_graphs=named_graphs)

    def run(self, prepared, bindings: Mapping[str, object] | None = None, *,
            default_graphs: list[str] = (), named_graphs: list[str] = ()) -> Answer:
        """Run a prepared query under the time limit, offline unless SERVICE is allowed, with the row cap."""
        if not self._slots.acquire(timeout=self.settings.timeout or None):
            raise Busy("every query slot is taken")
        try:
            started = time.monotonic()
            answer = run_guarded(lambda: self._evaluate(prepared, bindings, default_graphs, named_graphs),
                                 self.settings.timeout,
                                 allow_network=self.settings.allow_service)
            return replace(answer, seconds=time.monotonic() - started)
        finally:
            self._slots.release()

    def _evaluate(self, prepared, bindings, default_graphs=(), named_graphs=()) -> Answer:
        result = execute(self.kb.store, prepared, bindings, name="query", allow_service=self.settings.allow_service,
                         default_graphs=default_graphs, named_graphs=named_graphs)
        kind, cap = form(prepared), self.settings.max_rows
        if kind == "ASK":
            return Answer(kind, boolean=bool(result.askAnswer))
        if kind in ("CONSTRUCT", "DESCRIBE"):
            graph = result.graph
            if len(graph) <= cap:
                return Answer(kind, graph=graph)
            capped = Graph()
            capped.addN((s, p, o, capped) for s, p, o in islice(graph, cap))
            return Answer(kind, graph=capped, truncated=True)
        variables = tuple(str(v) for v in result.vars)
        rows = [tuple(row[v] for v in result.vars) for row in islice(result, cap + 1)]
        return Answer(kind, variables, tuple(rows[:cap]), truncated=len(rows) > cap)


class SparqlServer(ThreadingHTTPServer):
    """ThreadingHTTPServer bound to one SparqlService."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: SparqlService):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.service = service
        self.hosts = _allowed_hosts(address[0], self.server_address[1])

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"


def make_server(kb: KnowledgeBase, host: str = "127.0.0.1", port: int = 7878,
                settings: Settings | None = None) -> SparqlServer:
    """A server ready to serve_forever(); port 0 picks a free port (see .url)."""
    try:
        return SparqlServer((host, port), SparqlService(kb, settings))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="choose another port with --port (0 picks a free one) or another --host") from None


def _allowed_hosts(host: str, port: int) -> set[str] | None:
    """Host headers a loopback server accepts (a guard against DNS rebinding); None: any."""
    if host not in LOOPBACK:
        return None
    return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")} | {"127.0.0.1", "localhost", "[::1]"}


class Handler(BaseHTTPRequestHandler):
    """HTTP plumbing: routes `/` and `/sparql`, reads parameters and bodies, writes responses."""

    server: SparqlServer
    protocol_version = "HTTP/1.1"
    server_version = f"policykb/{__version__}"
    timeout = 60  # seconds an idle keep-alive connection may wait

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_OPTIONS(self) -> None:
        self._send(Response(204, headers={"Allow": ALLOW}))

    def _refuse_method(self) -> None:
        self.close_connection = True  # the body, if any, is not read
        self._send(_error(405, f"{self.command} is not allowed: this endpoint is read-only and answers queries",
                          "send the query by GET or POST"), extra={"Allow": ALLOW})

    do_PUT = do_DELETE = do_PATCH = _refuse_method

    def log_message(self, format: str, *args) -> None:  # noqa: A002 — the base class's name
        if not self.server.service.settings.quiet:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # ---- routing ----------------------------------------------------------------------------

    def _dispatch(self, head: bool = False) -> None:
        try:
            response = self._route()
        except (Exception, QueryTimeout) as exc:  # a bug must still answer the client, and be visible in the log
            self.log_error("internal error: %r", exc)
            response = _error(500, f"internal error: {exc}", "report this with the query that caused it")
        self._send(response, head=head)

    def _route(self) -> Response:
        hosts = self.server.hosts
        if hosts is not None and self.headers.get("Host", "").lower() not in hosts:
            return _error(403, "unexpected Host header", "this server answers only requests addressed to it by its "
                                                        "loopback address")
        url = urlsplit(self.path)
        try:
            params = parse_qsl(url.query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            return _error(400, "the query string is not UTF-8", "percent-encode the query as UTF-8")
        if self.command == "POST":
            body = self._body()
            if isinstance(body, Response):
                return body
        else:
            body = None
        if url.path == "/sparql":
            return self._sparql(params, body)
        if url.path in ("/", "/index.html"):
            return self._page(params, body)
        return _error(404, f"no page {url.path}", "the SPARQL endpoint is /sparql; the query page is /")

    def _body(self) -> bytes | Response:
        """The POST body, or the error to answer; after an error the connection closes, its body unread."""
        keep, self.close_connection = self.close_connection, True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked" or self.headers.get("Content-Length") is None:
            return _error(411, "a POST needs a Content-Length", "send the body with its length")
        try:
            length = int(self.headers["Content-Length"])
        except ValueError:
            return _error(400, "Content-Length is not a number")
        if length > self.server.service.settings.max_body:
            return _error(413, f"the request body is larger than {self.server.service.settings.max_body} bytes",
                          "send a shorter query")
        body = self.rfile.read(length)
        self.close_connection = keep
        return body

    # ---- the SPARQL protocol ----------------------------------------------------------------

    def _sparql(self, params: list[tuple[str, str]], body: bytes | None) -> Response:
        if body is not None:
            params = self._posted(params, body)
            if isinstance(params, Response):
                return params
        queries = [v for k, v in params if k == "query"]
        if any(k == "update" for k, _ in params):
            return _read_only()
        if len(queries) != 1:
            return _error(400, "no query given" if not queries else "the query parameter is given more than once",
                          "send exactly one query=… (GET or form POST) or an application/sparql-query body")
        requested = [v for k, v in params if k in ("format", "output") and v]
        accept = self.headers.get("Accept")
        if not requested and accepts_html(accept):
            return self._page([("query", queries[0])], None)
        service = self.server.service
        try:
            prepared = service.prepare(queries[0])
            fmt = negotiate(form(prepared) in ("CONSTRUCT", "DESCRIBE"), accept, requested)
            graphs = {key: [str(expand_iri(v, key)) for k, v in params if k == key]
                      for key in ("default-graph-uri", "named-graph-uri")}
            answer = service.run(prepared, default_graphs=graphs["default-graph-uri"],
                                 named_graphs=graphs["named-graph-uri"])
        except NotAcceptable as exc:
            return _error(406, str(exc), "ask for one of the formats named")
        except (Exception, QueryTimeout) as exc:  # noqa: BLE001 — turned into the protocol's status codes
            return _failure(exc)
        if answer.graph is not None:
            data = write_graph(fmt, answer.graph)
        elif answer.boolean is not None:
            data = write_boolean(fmt, answer.boolean)
        else:
            data = write_table(fmt, list(answer.variables), list(answer.rows))
        headers = {"Vary": "Accept", "X-PolicyKB-Seconds": f"{answer.seconds:.3f}"}
        if answer.truncated:
            headers["X-PolicyKB-Truncated"] = f"true; the first {self.server.service.settings.max_rows} are sent"
        return Response(200, data, content_type(fmt), headers)

    def _posted(self, params: list[tuple[str, str]], body: bytes) -> list[tuple[str, str]] | Response:
        """The parameters of a POST: the URL's, plus the form's or the application/sparql-query body as `query`."""
        media = self.headers.get_content_type()
        charset = (self.headers.get_content_charset() or "utf-8").lower()
        if media == "application/sparql-update":
            return _read_only()
        if media not in ("application/x-www-form-urlencoded", "application/sparql-query"):
            return _error(415, f"cannot read a POST body of type {media}",
                          "send application/sparql-query (the query itself) or application/x-www-form-urlencoded "
                          "(query=…)")
        if charset not in ("utf-8", "utf8"):
            return _error(415, f"the body's charset is {charset}", "send the body as UTF-8")
        try:
            text = body.decode("utf-8")
            if media == "application/x-www-form-urlencoded":
                return params + parse_qsl(text, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            return _error(400, "the request body is not UTF-8", "send the query as UTF-8 text")
        if any(k == "query" for k, _ in params):
            return _error(400, "the query is given both in the body and as a query parameter", "send it once")
        return params + [("query", text)]

    # ---- the HTML page ----------------------------------------------------------------------

    def _page(self, params: list[tuple[str, str]], body: bytes | None) -> Response:
        if body is not None:
            if self.headers.get_content_type() != "application/x-www-form-urlencoded":
                return _error(415, "the query page takes form posts only")
            try:
                params = params + parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
            except UnicodeDecodeError:
                return _error(400, "the form is not UTF-8")
        values = dict(params)
        service = self.server.service
        name = values.get("name") or None
        chosen = service.library.get(name) if name else None
        query = values.get("query") or (chosen.text if chosen else "")
        given = {k[len("param."):]: v for k, v in params if k.startswith("param.") and v.strip()}
        status, answer, error = 200, None, None
        if values.get("query"):
            try:
                bindings = bind(chosen, given) if chosen else None
                answer = service.answer(query, bindings)
            except (Exception, QueryTimeout) as exc:  # noqa: BLE001 — shown on the page with the protocol's status
                failure = _failure(exc)
                status, error = failure.status, failure.body.decode("utf-8")
        page = render(service.library, query=query, name=name, params=given, answer=answer, error=error,
                      max_rows=service.settings.max_rows)
        return Response(status, page, "text/html; charset=utf-8",
                        {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"})

    # ---- writing ----------------------------------------------------------------------------

    def _send(self, response: Response, head: bool = False, extra: dict | None = None) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in {**response.headers, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if not head and response.body:
            self.wfile.write(response.body)


def _error(status: int, message: str, hint: str | None = None) -> Response:
    text = f"policykb: {message}\n" + (f"  hint: {hint}\n" if hint else "")
    return Response(status, text.encode("utf-8"))


def _read_only() -> Response:
    return _error(403, "this endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, …) is refused",
                  "change the knowledge base by editing its Turtle files or importing ledgers, then restart the server")


def _failure(exc: BaseException) -> Response:
    """The protocol's answer to a query that could not be run."""
    if isinstance(exc, QueryTimeout):
        return _error(503, "the query ran past the time limit and was stopped",
                      "narrow it (a more selective pattern, LIMIT, MINUS instead of FILTER NOT EXISTS) or ask the "
                      "administrator for a longer --timeout")
    if isinstance(exc, Busy):
        return replace(_error(503, "the server is busy with other queries", "try again in a moment"),
                       headers={"Retry-After": "1"})
    if isinstance(exc, NetworkRefused):
        return _error(403, str(exc))
    if isinstance(exc, PolicyKBError):
        status = 403 if isinstance(exc, (UpdateRefused, ServiceRefused)) else 400
        return Response(status, f"policykb: {exc}\n".encode("utf-8"))
    return _error(500, f"the query could not be evaluated: {exc}", "simplify the query; report it if it is valid SPARQL")
