"""`policykb serve`: the read-only SPARQL 1.1 endpoint and its query page."""

from __future__ import annotations

import argparse
import os
import sys

from typing import Mapping

from ..kb.glossary import vocabulary
from ..kb.load import KnowledgeBase
from ..report.served import measure_view, ranking_view, zone_view
from ..report.vocabulary import page_html
from ..serve.service import LOOPBACK, ExtraPage, Settings, make_server
from .common import command, load_kb


def vocabulary_page(kb: KnowledgeBase, params: Mapping[str, str]) -> str:
    """/vocabulary: every class and property of the ontology (the page `policykb docs vocabulary` writes)."""
    return page_html(vocabulary(kb))


# the pages mounted beside the endpoint (each runs in a worker, under the time limit); the score pages keep
# each scheme's scores live in the worker (report.served)
PAGES = (ExtraPage("/vocabulary", vocabulary_page, "vocabulary"),
         ExtraPage("/scores", ranking_view, "ranking"),
         ExtraPage("/scores/zone", zone_view, "a zone's form and trace"),
         ExtraPage("/scores/measure", measure_view, "a measure and who replicated it"))


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text} is negative")
        return value
    return parse


def register(sub) -> None:
    p = command(sub, "serve", cmd_serve, "serve the knowledge base as a read-only SPARQL 1.1 endpoint",
                "Start an HTTP server with the SPARQL endpoint at /sparql (SPARQL 1.1 Protocol: GET and POST, "
                "results as JSON, XML, CSV, TSV or Turtle, graphs as Turtle, JSON-LD, N-Triples or RDF/XML; GET "
                "without a query gives the service description) and a query page at / with an editor, labels, a "
                "page per resource (/resource?iri=…) and every library query to run or download "
                "(/query/NAME?PARAM=…&format=csv), and the vocabulary at /vocabulary. Relative IRIs in queries resolve against "
                "https://w3id.org/policykb/. Queries run in worker processes, stopped at --timeout. It is "
                "read-only: updates are refused; SERVICE calls to other endpoints are refused unless --allow-service "
                "is given. It follows the files: when they change (an import in another terminal), new queries "
                "read the new data. Listens on the loopback address unless --host says otherwise.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--port", type=int, default=7878, help="port (default 7878; 0 picks a free one)")
    p.add_argument("--timeout", type=_positive(float), default=30.0, metavar="SECONDS",
                   help="stop a query after this many seconds, its worker process killed (default 30; 0 for no limit)")
    p.add_argument("--max-rows", type=_positive(int), default=10_000, metavar="N",
                   help="send at most N rows or triples per answer (default 10000)")
    p.add_argument("--workers", type=_positive(int), default=min(4, os.cpu_count() or 1), metavar="N",
                   help="worker processes, so queries run at once (default: the number of cores, at most 4)")
    p.add_argument("--queue-wait", type=_positive(float), default=5.0, metavar="SECONDS",
                   help="how long a request waits for a free worker before it gets 503 with Retry-After (default 5)")
    p.add_argument("--query-memory", type=_positive(int), default=2048, metavar="MIB",
                   help="memory a worker may use beyond its store, in MiB; a query that needs more is stopped "
                        "(default 2048; 0 for no limit)")
    p.add_argument("--allow-service", action="store_true",
                   help="let queries call other SPARQL endpoints with SERVICE (the server then connects out)")
    p.add_argument("--quiet", action="store_true", help="do not log each request on stderr")


def cmd_serve(args) -> int:
    kb = load_kb(args)
    settings = Settings(timeout=args.timeout or None, max_rows=max(1, args.max_rows), workers=max(1, args.workers),
                        queue_wait=args.queue_wait, query_memory=args.query_memory or None,
                        allow_service=args.allow_service, quiet=args.quiet)
    server = make_server(kb, args.host, args.port, settings, PAGES, own=True)
    if args.host not in LOOPBACK:
        print(f"policykb: warning: listening on {args.host}, reachable from other machines", file=sys.stderr)
    if args.allow_service:
        print("policykb: warning: SERVICE is allowed; queries can make this server connect to other addresses",
              file=sys.stderr)
    print(f"SPARQL endpoint: {server.url}sparql   query page: {server.url}   ({settings.workers} worker(s); "
          "Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        kb.close()
    print("stopped", file=sys.stderr)
    return 0
