"""`policykb serve`: the read-only SPARQL 1.1 endpoint and its query page."""

from __future__ import annotations

import sys

from ..serve.service import LOOPBACK, Settings, make_server
from .common import command, load_kb


def register(sub) -> None:
    p = command(sub, "serve", cmd_serve, "serve the knowledge base as a read-only SPARQL 1.1 endpoint",
                "Start an HTTP server with the SPARQL endpoint at /sparql (SPARQL 1.1 Protocol: GET and POST, "
                "results as JSON, XML, CSV or TSV, graphs as Turtle, JSON-LD, N-Triples or RDF/XML) and a query page "
                "at /. It is read-only: updates are refused; SERVICE calls to other endpoints are refused unless "
                "--allow-service is given. Listens on the loopback address unless --host says otherwise.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--port", type=int, default=7878, help="port (default 7878; 0 picks a free one)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="stop a query after this many seconds (default 30; 0 for no limit)")
    p.add_argument("--max-rows", type=int, default=10_000, metavar="N",
                   help="send at most N rows or triples per answer (default 10000)")
    p.add_argument("--allow-service", action="store_true",
                   help="let queries call other SPARQL endpoints with SERVICE (the server then connects out)")
    p.add_argument("--quiet", action="store_true", help="do not log each request on stderr")


def cmd_serve(args) -> int:
    kb = load_kb(args)
    settings = Settings(timeout=args.timeout or None, max_rows=max(1, args.max_rows),
                        allow_service=args.allow_service, quiet=args.quiet)
    server = make_server(kb, args.host, args.port, settings)
    if args.host not in LOOPBACK:
        print(f"policykb: warning: listening on {args.host}, reachable from other machines", file=sys.stderr)
    if args.allow_service:
        print("policykb: warning: SERVICE is allowed; queries can make this server connect to other addresses",
              file=sys.stderr)
    print(f"SPARQL endpoint: {server.url}sparql   query page: {server.url}   (Ctrl-C stops)", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
