"""`policykb serve`: the SPARQL 1.1 Protocol spoken with real independent clients (SPARQLWrapper, rdflib's
SPARQLStore, raw sockets), queries stopped in worker processes, the server following its files, and the
query page — served as HTML without JavaScript, and driven in a real headless browser."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from policykb.analysis.graph import store_stamp
from policykb.errors import UsageError
from policykb.kb.layout import Layout
from policykb.kb.load import load
from policykb.namespace import PKB
from policykb.serve.service import Settings, make_server
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, POST, TSV, TURTLE, XML, SPARQLWrapper

ZONES = """PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?zone ?label WHERE { ?zone a pkb:InnovationPromotionPilotZone ; skos:prefLabel ?label FILTER (lang(?label) = "zh") }
ORDER BY ?zone"""
CROSS_PRODUCT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"  # 8,000² rows: minutes of work
REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "engine" / "policykb" / "serve" / "static"
RS = "http://www.w3.org/2001/sw/DataAccess/tests/result-set#"
POLICYKB = [sys.executable, "-c", "import sys; from policykb.cli import main; sys.exit(main())"]  # the command, run anew


@contextmanager
def _serving(kb, pages=(), **settings):
    """A server on a free loopback port, in a thread, for the length of the block."""
    server = make_server(kb, "127.0.0.1", 0, Settings(quiet=True, **settings), pages).start()
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def server(kb):
    with _serving(kb, timeout=60, workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def endpoint(server):
    return server.url + "sparql"


@pytest.fixture(scope="module")
def capped(kb):
    """A server that sends at most five rows."""
    with _serving(kb, timeout=60, max_rows=5, workers=1) as running:
        yield running.url + "sparql"


def _get(url: str, params: dict | list, accept: str | None = None, method: str = "GET", body: bytes | None = None,
         content_type: str | None = None):
    """(status, headers, body) of one request, errors included."""
    query = urllib.parse.urlencode(params, doseq=True)
    request = urllib.request.Request(url + ("?" + query if query else ""), data=body, method=method)
    if accept:
        request.add_header("Accept", accept)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _wrapper(endpoint: str, query: str, fmt=JSON) -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    return client


def _csv(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


def _raw(url: str, request: bytes, *, then: bytes = b"", wait: float = 10.0) -> bytes:
    """Send raw bytes to the server (and more after a moment), return everything it answers until it closes."""
    address = urllib.parse.urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=wait) as connection:
        connection.sendall(request)
        if then:
            try:
                connection.sendall(then)
            except OSError:
                pass  # the server closed the connection: it will not read what it refused
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        return answer


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


def _until(condition, seconds: float = 30.0, step: float = 0.05):
    """Wait (a bounded time) until condition() is true; returns its last value."""
    end = time.monotonic() + seconds
    value = condition()
    while not value and time.monotonic() < end:
        time.sleep(step)
        value = condition()
    return value


# --- the same rows as `policykb query` --------------------------------------------------------

@pytest.mark.parametrize("name", ["zones-inside-ftz", "measures-not-replicated", "catalogue-documents", "kb-summary"])
def test_sparqlwrapper_gets_the_rows_policykb_query_gives(cli, kb, endpoint, name):
    local = cli("query", name, "--format", "json")
    assert local.code == 0, local.err
    expected = [{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in row.items() if v is not None}
                for row in json.loads(local.out)]
    text = (kb.layout.queries / f"{name}.rq").read_text(encoding="utf-8")
    client = _wrapper(endpoint, text)
    client.queryType = "SELECT"  # SPARQLWrapper 2.0 strips only every other comment line, then finds "LOAD" in "loaded"
    answer = client.queryAndConvert()
    got = [{k: v["value"] for k, v in row.items()} for row in answer["results"]["bindings"]]
    assert got == expected


def test_results_in_xml_csv_tsv_and_turtle(endpoint):
    xml = _wrapper(endpoint, ZONES, XML).queryAndConvert()
    values = [n.firstChild.data for n in xml.getElementsByTagName("literal")]
    assert len(values) == 24 and "样例·福州甲开发区" in values
    rows = _csv(_wrapper(endpoint, ZONES, CSV).queryAndConvert())
    assert rows[0] == ["zone", "label"] and len(rows) == 25
    assert rows[1] == ["https://w3id.org/policykb/sample/zone-fz-a", "样例·福州甲开发区"]
    tsv = _wrapper(endpoint, ZONES, TSV).queryAndConvert().decode("utf-8").splitlines()
    assert tsv[0] == "?zone\t?label"
    assert tsv[1] == '<https://w3id.org/policykb/sample/zone-fz-a>\t"样例·福州甲开发区"@zh'
    # a table as RDF: the W3C result-set vocabulary, each solution with its index
    status, headers, body = _get(endpoint, {"query": ZONES}, "text/turtle")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=body.decode("utf-8"), format="turtle")
    first = graph.value(predicate=URIRef(RS + "index"), object=Literal(1))
    values = {str(graph.value(b, URIRef(RS + "variable"))): graph.value(b, URIRef(RS + "value"))
              for b in graph.objects(first, URIRef(RS + "binding"))}
    assert values == {"zone": URIRef("https://w3id.org/policykb/sample/zone-fz-a"),
                      "label": Literal("样例·福州甲开发区", lang="zh")}
    assert len(set(graph.subjects(URIRef(RS + "index"), None))) == 24


def test_tsv_escapes_tabs_and_newlines(endpoint):
    status, _, body = _get(endpoint, {"query": 'SELECT ?text WHERE { BIND ("a\\tb\\nc \\"d\\"" AS ?text) }'},
                           "text/tab-separated-values")
    assert status == 200
    assert body.decode("utf-8").splitlines() == ["?text", '"a\\tb\\nc \\"d\\""']


def test_ask_and_construct(endpoint):
    assert _wrapper(endpoint, "ASK { ?z pkb:withinFTZArea zone:fj-ftz-pingtan }").queryAndConvert()["boolean"] is True
    construct = "CONSTRUCT { ?z pkb:withinFTZArea ?a } WHERE { ?z pkb:withinFTZArea ?a }"
    turtle = _wrapper(endpoint, construct, TURTLE).queryAndConvert()
    graph = Graph().parse(data=turtle, format="turtle")
    assert len(graph) == 5
    jsonld = _wrapper(endpoint, construct, JSONLD).queryAndConvert()
    assert len(jsonld) == 5  # SPARQLWrapper parses JSON-LD into a graph


def test_construct_where_shorthand_works(endpoint):
    status, headers, body = _get(endpoint, {"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1"}, "application/n-triples")
    assert status == 200 and headers["Content-Type"].startswith("application/n-triples")
    assert len(Graph().parse(data=body.decode("utf-8"), format="nt")) == 1


def test_relative_iris_resolve_against_the_declared_base(endpoint):
    status, _, body = _get(endpoint, {"query": "CONSTRUCT { <s> <p> 1 } WHERE {}"}, "application/n-triples")
    assert status == 200
    assert body.decode("utf-8") == ('<https://w3id.org/policykb/s> <https://w3id.org/policykb/p> '
                                    '"1"^^<http://www.w3.org/2001/XMLSchema#integer> .\n')
    status, _, body = _get(endpoint, {"query": "SELECT ?z WHERE { ?z a <def#InnovationPromotionPilotZone> }"}, "text/csv")
    assert status == 200 and len(_csv(body)) == 1 + 24


def test_the_service_description_declares_base_formats_and_graphs(endpoint, kb):
    status, headers, body = _get(endpoint, {})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    graph = Graph().parse(data=body.decode("utf-8"), format="turtle")
    service = graph.value(predicate=RDF.type, object=URIRef(sd + "Service"))
    assert graph.value(service, URIRef(sd + "endpoint")) == URIRef(endpoint)
    assert "base IRI <https://w3id.org/policykb/>" in str(graph.value(service, RDFS.comment))
    names = {str(n) for n in graph.objects(None, URIRef(sd + "name"))}
    assert names == {f"urn:policykb:graph:{name}" for name in kb.files}
    assert URIRef("http://www.w3.org/ns/formats/SPARQL_Results_CSV") in set(graph.objects(service, URIRef(sd + "resultFormat")))


def test_describe_as_turtle(endpoint):
    status, headers, body = _get(endpoint, {"query": "DESCRIBE sample:zone-pt-a"}, "text/turtle")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=body.decode("utf-8"), format="turtle")
    assert (URIRef("https://w3id.org/policykb/sample/zone-pt-a"), PKB.partOfZone,
            URIRef("https://w3id.org/policykb/sample/zone-pt-host")) in graph


def test_rdflib_sparqlstore_reads_the_endpoint(endpoint):
    remote = Graph(store=SPARQLStore(endpoint))
    zones = set(remote.subjects(RDF.type, PKB.InnovationPromotionPilotZone))
    assert len(zones) == 24
    rows = list(remote.query(ZONES))
    assert rows[0][1] == Literal("样例·福州甲开发区", lang="zh")
    assert len(rows) == 24


def test_query_by_post_form_by_sparql_query_body_and_chunked(endpoint):
    form = urllib.parse.urlencode({"query": ZONES}).encode("utf-8")
    status, _, body = _get(endpoint, {}, "application/sparql-results+json", "POST", form,
                           "application/x-www-form-urlencoded")
    assert status == 200 and len(json.loads(body)["results"]["bindings"]) == 24
    status, _, body = _get(endpoint, {}, "text/csv", "POST", ZONES.encode("utf-8"),
                           "application/sparql-query; charset=utf-8")
    assert status == 200 and len(body.decode("utf-8").splitlines()) == 25
    text = ZONES.encode("utf-8")
    halves = [text[:100], text[100:]]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(h), h) for h in halves) + b"0\r\n\r\n"
    answer = _raw(endpoint, b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/csv\r\nConnection: close\r\n"
                            b"Content-Type: application/sparql-query\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)
    assert _status(answer) == 200 and "样例·福州甲开发区" in answer.decode("utf-8")


def test_protocol_graph_parameters_choose_the_dataset(endpoint, kb):
    ftz = Graph().parse(kb.layout.kb / "zones" / "ftz.ttl")
    count = "SELECT (COUNT(*) AS ?n) FROM <urn:policykb:graph:kb/places/places.ttl> WHERE { ?s ?p ?o }"
    status, _, body = _get(endpoint, {"query": count, "default-graph-uri": "urn:policykb:graph:kb/zones/ftz.ttl"},
                           "text/csv")
    assert status == 200 and body.decode("utf-8").splitlines() == ["n", str(len(ftz))]  # the protocol wins
    places = Graph().parse(kb.layout.kb / "places" / "places.ttl")
    status, _, body = _get(endpoint, {"query": count}, "text/csv")  # the same query text, without the parameter
    assert status == 200 and body.decode("utf-8").splitlines() == ["n", str(len(places))]
    status, _, body = _get(endpoint, {"query": "SELECT * WHERE { ?s ?p ?o }", "default-graph-uri": "http://example.org/g"})
    assert status == 400 and b"holds no graph <http://example.org/g>" in body


def test_concurrent_clients_get_the_same_answer(endpoint):
    answers, errors = [], []

    def ask():
        try:
            answers.append(_wrapper(endpoint, ZONES).queryAndConvert()["results"]["bindings"])
        except Exception as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(answers) == 10 and all(a == answers[0] for a in answers)


# --- refusals: clear HTTP errors, and the knowledge base unchanged ------------------------------

def test_update_is_refused_and_changes_nothing(endpoint, kb):
    before = store_stamp(kb.store)
    client = SPARQLWrapper(endpoint)
    client.setMethod(POST)
    client.setQuery("PREFIX pkb: <https://w3id.org/policykb/def#> INSERT DATA { <urn:x> a pkb:Zone }")
    with pytest.raises(urllib.error.HTTPError) as caught:
        client.query()
    assert caught.value.code == 403
    assert b"read-only" in caught.value.read()
    status, _, body = _get(endpoint, {"query": "DELETE WHERE { ?s ?p ?o }"})
    assert status == 403 and b"SPARQL Update" in body
    status, _, body = _get(endpoint, {}, None, "POST", b"CLEAR ALL", "application/sparql-update")
    assert status == 403
    assert store_stamp(kb.store) == before


def test_service_is_refused_and_nothing_connects_out(endpoint, kb):
    before = store_stamp(kb.store)
    with closing(socket.socket()) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/sparql> {{ ?s ?p ?o }} }}"
        with pytest.raises(urllib.error.HTTPError) as caught:
            _wrapper(endpoint, query).query()
        assert caught.value.code == 403
        assert b"SERVICE" in caught.value.read()
        with pytest.raises(BlockingIOError):
            listener.accept()  # no connection ever reached the listener
    assert store_stamp(kb.store) == before


_OFFLINE_PROBE = """
import socket, sys, urllib.request
from policykb.serve.sandbox import NetworkRefused, go_offline
go_offline()
port = int(sys.argv[1])
for attempt in (lambda: socket.create_connection(("127.0.0.1", port), timeout=5),
                lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)):
    try:
        attempt()
        print("connected")
    except NetworkRefused:
        print("refused")
    except OSError as exc:
        print("unreachable", type(exc).__name__)
"""


def test_a_worker_cannot_connect_out_by_any_path():
    """What a worker process does first: after it, no path out of the process reaches the listener."""
    with closing(socket.socket()) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        probe = subprocess.run([sys.executable, "-c", _OFFLINE_PROBE, str(port)], capture_output=True, text=True,
                               timeout=60)
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.split("\n")[:2] == ["refused", "refused"]
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_malformed_query_names_line_and_column(endpoint, kb):
    before = store_stamp(kb.store)
    client = _wrapper(endpoint, "PREFIX pkb: <https://w3id.org/policykb/def#>\nSELECT ?z WHERE {\n  ?z a pkb:Zone\n  FILTER (?z = }\n")
    with pytest.raises(Exception) as caught:  # SPARQLWrapper's QueryBadFormed
        client.query()
    assert "QueryBadFormed" in type(caught.value).__name__
    status, _, body = _get(endpoint, {"query": "SELECT ?z WHERE {\n  ?z ?p }"})
    assert status == 400
    assert body.decode("utf-8").startswith("policykb: query:2:")
    assert "SPARQL syntax error" in body.decode("utf-8")
    assert store_stamp(kb.store) == before


def test_results_are_capped_and_say_so(capped):
    status, headers, body = _get(capped, {"query": "SELECT * WHERE { ?s ?p ?o }"}, "text/csv")
    assert status == 200
    assert len(body.decode("utf-8").splitlines()) == 1 + 5
    assert headers["X-PolicyKB-Truncated"].startswith("true")
    eight = "CONSTRUCT { ?z pkb:withinFTZArea ?a } WHERE { ?z pkb:withinFTZArea|pkb:overlapsFTZArea ?a }"
    status, headers, body = _get(capped, {"query": eight}, "application/n-triples")
    assert status == 200 and len(body.decode("utf-8").splitlines()) == 5 and "X-PolicyKB-Truncated" in headers


@pytest.mark.parametrize("request_, status", [
    ({"method": "POST", "body": b"SELECT * {}", "content_type": "text/plain"}, 415),
    ({"method": "POST", "body": b"SELECT * {}", "content_type": "application/sparql-query; charset=latin-1"}, 415),
    ({"method": "POST", "body": "SELECT ?x { ?x ?p 'é' }".encode("latin-1"), "content_type": "application/sparql-query"}, 400),
    ({"method": "POST", "body": b"", "content_type": "application/x-www-form-urlencoded"}, 400),
    ({"method": "PUT", "body": b"x", "content_type": "text/turtle"}, 405),
    ({"method": "DELETE"}, 405),
    ({"params": [("query", "ASK {}"), ("query", "ASK {}")]}, 400),
    ({"params": {"query": "SELECT * { ?s ?p ?o } LIMIT 1"}, "accept": "image/png"}, 406),
    ({"params": {"query": "SELECT * { ?s ?p ?o } LIMIT 1", "format": "rdf+xml"}}, 406),
    ({"params": {"update": "CLEAR ALL"}}, 403),
    ({"params": {"query": "LOAD <http://127.0.0.1:9/data.ttl>"}}, 403),
    ({"params": {"query": "ASK {}"}, "method": "POST", "body": b"query=ASK+%7B%7D", "content_type": "application/x-www-form-urlencoded"}, 400),
    ({"params": {"query": "ASK {}", "default-graph-uri": "not an iri"}}, 400),
])
def test_protocol_errors(endpoint, request_, status):
    got, _, body = _get(endpoint, request_.get("params", {}), request_.get("accept"), request_.get("method", "GET"),
                        request_.get("body"), request_.get("content_type"))
    assert got == status
    assert body.startswith(b"policykb: ")


def test_head_and_options(endpoint):
    status, headers, body = _get(endpoint, {"query": ZONES}, None, "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    status, headers, _ = _get(endpoint, {}, None, "OPTIONS")
    assert status == 204 and "POST" in headers["Allow"]


def test_a_foreign_host_header_is_refused(endpoint):
    request = urllib.request.Request(endpoint + "?" + urllib.parse.urlencode({"query": "ASK {}"}))
    request.add_header("Host", "attacker.example:80")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 403


# --- request bodies: the limit holds whatever the headers say -----------------------------------

def test_a_body_longer_than_the_limit_is_refused_before_it_is_read(endpoint):
    head = (b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: %d\r\n\r\n")
    answer = _raw(endpoint, head % (10 ** 12), then=b"x" * 65536)
    assert _status(answer) == 413 and b"larger than 1048576 bytes" in answer


def test_a_negative_content_length_is_refused(endpoint):
    answer = _raw(endpoint, b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
                            b"Content-Length: -1\r\n\r\n", then=b"x" * (1 << 20))
    assert _status(answer) == 400


def test_a_post_without_length_is_refused(endpoint):
    answer = _raw(endpoint, b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
                            b"Connection: close\r\n\r\n")
    assert _status(answer) == 411 and b"Content-Length" in answer


def test_a_chunked_body_is_cut_at_the_limit(endpoint):
    chunk = b"%x\r\n%s\r\n" % (65536, b"#" * 65536)
    answer = _raw(endpoint, b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n", then=chunk * 20)
    assert _status(answer) == 413


def test_a_body_that_never_ends_times_out(kb):
    with _serving(kb, workers=1, read_timeout=0.5) as running:
        answer = _raw(running.url, b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/sparql-query\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n5\r\nSELEC\r\n")
    assert _status(answer) == 408 and b"did not arrive within 0.5 s" in answer


# --- worker processes: the time limit stops the work, and one slow query holds up no one ---------

def test_a_long_query_is_stopped_while_other_clients_are_served(kb):
    with _serving(kb, timeout=3, workers=2) as running:
        pool, url = running.service.pool, running.url + "sparql"
        slow: dict = {}
        thread = threading.Thread(target=lambda: slow.update(answer=_get(url, {"query": CROSS_PRODUCT})))
        thread.start()
        assert _until(lambda: pool.idle == 1)  # the slow query holds one worker
        status, _, body = _get(url, {"query": ZONES}, "text/csv")
        assert status == 200 and len(_csv(body)) == 25
        assert thread.is_alive()  # answered while the slow query still ran
        thread.join()
        status, _, body = slow["answer"]
        assert status == 503 and b"ran past the time limit of 3 s and was stopped" in body
        assert _until(lambda: pool.idle == 2)  # a fresh worker took the stopped one's place
        status, _, body = _get(url, {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?z a pkb:InnovationPromotionPilotZone }"},
                               "text/csv")
        assert status == 200 and _csv(body) == [["n"], ["24"]]


def test_a_backtracking_regex_cannot_freeze_the_server(endpoint):
    # the expression that took Python's `re` (rdflib) 12 s and the whole server with it; Oxigraph's regex
    # engine does not backtrack, so it is answered at once, correctly
    query = 'ASK { FILTER REGEX("' + "a" * 28 + '!", "^(a+)+$") }'
    status, _, body = _get(endpoint, {"query": query}, "application/sparql-results+json")
    assert status == 200 and json.loads(body)["boolean"] is False


def test_a_full_pool_answers_503_with_retry_after_and_pages_are_still_served(kb):
    with _serving(kb, timeout=3, workers=1, queue_wait=0.3) as running:
        pool, url = running.service.pool, running.url
        thread = threading.Thread(target=lambda: _get(url + "sparql", {"query": CROSS_PRODUCT}))
        thread.start()
        assert _until(lambda: pool.idle == 0)
        status, headers, body = _get(url + "sparql", {"query": "ASK {}"})
        assert status == 503 and headers["Retry-After"] == "1" and b"busy" in body
        status, _, body = _get(url, {})  # the page without a query needs no worker
        assert status == 200 and b"query-form" in body
        status, _, _ = _get(url + "static/yasqe/yasqe.min.js", {})
        assert status == 200
        thread.join()


def test_a_query_that_needs_too_much_memory_is_stopped(kb):
    with _serving(kb, timeout=60, workers=1, query_memory=64) as running:
        url = running.url + "sparql"
        status, _, body = _get(url, {"query": "SELECT ?a ?d WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?a ?d LIMIT 1"})
        assert status == 503 and b"more memory than a query may use (64 MiB)" in body
        status, _, body = _get(url, {"query": "ASK { sample:zone-fz-b a pkb:InnovationPromotionPilotZone }"},
                               "application/sparql-results+json")
        assert status == 200 and json.loads(body)["boolean"] is True


def test_a_one_megabyte_query_does_not_hold_up_other_clients(kb):
    big = ("SELECT (COUNT(?x) AS ?n) WHERE { VALUES ?x { " + " ".join(f'"v{i}"' for i in range(100_000))
           + " } }").encode("utf-8")
    assert 800_000 < len(big) < 1 << 20
    with _serving(kb, timeout=60, workers=2) as running:
        pool, url = running.service.pool, running.url + "sparql"
        done: list = []
        thread = threading.Thread(target=lambda: done.append(_get(url, {}, "text/csv", "POST", big,
                                                                  "application/sparql-query")))
        thread.start()
        assert _until(lambda: pool.idle == 1)
        for _ in range(5):
            status, _, body = _get(url, {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?z a pkb:InnovationPromotionPilotZone }"},
                                   "text/csv")
            assert status == 200 and _csv(body) == [["n"], ["24"]]
        answered_meanwhile = thread.is_alive()
        thread.join()
        status, _, body = done[0]
        assert status == 200 and _csv(body) == [["n"], ["100000"]]
        assert answered_meanwhile


# --- the server follows the files ---------------------------------------------------------------

LEDGER_ZJ_A = "kb/ledgers/sample/sample-2022-zj-a.csv"
ITEMS_OF_ZJ_A = f'SELECT (COUNT(?e) AS ?n) WHERE {{ ?e pkb:ledgerFile "{LEDGER_ZJ_A}" ; pkb:ledgerRow ?row }}'


def _count(url: str, query: str) -> int:
    status, _, body = _get(url, {"query": query}, "text/csv")
    assert status == 200, body
    return int(_csv(body)[1][0])


@pytest.mark.parametrize("store", ["disk", "memory"])
def test_an_import_in_another_terminal_reaches_new_queries(kb_dir, store):
    (kb_dir / "kb" / "evidence" / "sample-2022-zj-a.ttl").unlink()  # as if zj-a's ledger had not been imported
    opened = load(Layout.at(kb_dir), store=store)
    try:
        with _serving(opened, timeout=60, workers=2, watch_interval=0.2) as running:
            url = running.url + "sparql"
            assert _count(url, ITEMS_OF_ZJ_A) == 0
            imported = subprocess.run(
                [*POLICYKB, "import", "--kb", str(kb_dir), "--year", "2022", "--kind",
                 "replication", str(kb_dir / LEDGER_ZJ_A)], capture_output=True, text=True, timeout=300)
            assert imported.returncode == 0, imported.stderr
            assert _until(lambda: _count(url, ITEMS_OF_ZJ_A) == 6, 60, 0.2)  # the 6 rows of the ledger
            assert running.service.switches == 1
    finally:
        opened.close()


def test_running_queries_finish_on_the_data_they_started_with(kb_dir):
    triples, rows = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?o }", "SELECT (COUNT(*) AS ?n) WHERE { ?b pkb:ledgerRow ?r }"
    # every triple × every ledger row × 4: some 17 million rows, a few seconds of work
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?o . ?b pkb:ledgerRow ?r . VALUES ?k { 1 2 3 4 } }"
    opened = load(Layout.at(kb_dir))
    try:
        with _serving(opened, timeout=300, workers=2, watch_interval=0.2) as running:
            url, pool = running.url + "sparql", running.service.pool
            before = [_count(url, q) for q in (triples, rows)]
            result: dict = {}
            thread = threading.Thread(target=lambda: result.update(n=_count(url, slow)))
            thread.start()
            assert _until(lambda: pool.idle == 1)
            (kb_dir / "kb" / "sample" / "added.ttl").write_text(
                "@prefix pkb: <https://w3id.org/policykb/def#> .\n"
                "<https://w3id.org/policykb/sample/added> pkb:ledgerRow 1 ; pkb:sampleData true .\n", encoding="utf-8")
            assert _until(lambda: _count(url, rows) == before[1] + 1, 60, 0.2)
            switched_while_running = thread.is_alive()
            thread.join()
            assert result["n"] == before[0] * before[1] * 4  # the old data: it began before the file came
            assert switched_while_running
    finally:
        opened.close()


def test_a_broken_file_leaves_the_server_on_the_data_it_had(kb_dir, capfd):
    opened = load(Layout.at(kb_dir), store="memory")
    try:
        with _serving(opened, timeout=60, workers=1, watch_interval=0.2) as running:
            url = running.url + "sparql"
            before = _count(url, "SELECT (COUNT(*) AS ?n) WHERE { ?z a pkb:InnovationPromotionPilotZone }")
            (kb_dir / "kb" / "sample" / "broken.ttl").write_text("@prefix pkb: <https://w3id.org/policykb/def#> .\n"
                                                                  "<urn:x> a pkb:Zone\n", encoding="utf-8")
            assert _until(lambda: "kb/sample/broken.ttl:" in capfd.readouterr().err, 30, 0.2)
            assert _count(url, "SELECT (COUNT(*) AS ?n) WHERE { ?z a pkb:InnovationPromotionPilotZone }") == before == 24
            assert running.service.switches == 0
    finally:
        opened.close()


# --- the query page, without JavaScript ---------------------------------------------------------

def _scripts_are_external(html: str) -> None:
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/' in attributes and not body.strip() for attributes, body in scripts)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers either


def test_query_page_lists_the_library_with_a_form_per_query(server, kb):
    status, headers, body = _get(server.url, {})
    html = body.decode("utf-8")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    _scripts_are_external(html)
    names = sorted(p.stem for p in kb.layout.queries.glob("*.rq"))
    assert re.findall(r'<form method="get" action="/query/([\w-]+)"', html) == names
    form = re.search(r'action="/query/zone-replications-in-year".*?</form>', html, re.S).group(0)
    assert re.findall(r'<input name="(\w+)"', form) == ["zone", "year"]
    assert 'placeholder="fz-b"' in form and "required" in form


def test_query_page_shows_a_table_with_labels_beside_iris(server):
    query = "SELECT ?zone WHERE { ?zone a pkb:InnovationPromotionPilotZone } ORDER BY ?zone LIMIT 2"
    status, _, body = _get(server.url, {"query": query})
    html = body.decode("utf-8")
    assert status == 200 and "2 row(s)" in html
    assert ('<a href="/resource?iri=https%3A%2F%2Fw3id.org%2Fpolicykb%2Fsample%2Fzone-fz-a" '
            'title="https://w3id.org/policykb/sample/zone-fz-a">sample:zone-fz-a</a> <span class="label">样例·福州甲开发区</span>'
            ) in html
    assert '<span class="label">样例·福州乙开发区</span>' in html


def test_query_page_runs_a_posted_query_with_its_parameters(server, kb):
    text = (kb.layout.queries / "zone-replications-in-year.rq").read_text(encoding="utf-8")
    form = urllib.parse.urlencode({"name": "zone-replications-in-year", "query": text,
                                   "param.zone": "sample:zone-fz-b", "param.year": "2020"}).encode("utf-8")
    status, _, body = _get(server.url, {}, None, "POST", form, "application/x-www-form-urlencoded")
    html = body.decode("utf-8")
    assert status == 200 and "1 row(s)" in html and "C08" in html
    # the downloads of the answer carry the parameters
    assert ('href="/query/zone-replications-in-year?zone=sample%3Azone-fz-b&amp;year=2020&amp;format=csv"') in html


def test_library_queries_download_with_their_parameters(server):
    url = server.url + "query/zone-replications-in-year"
    params = {"zone": "sample:zone-fz-b", "year": "2020"}
    status, headers, body = _get(url, {**params, "format": "csv"})
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == 'attachment; filename="zone-replications-in-year.csv"'
    rows = _csv(body)
    assert len(rows) == 2 and rows[1][0] == "C08" and rows[1][3] == "2020-02-15"
    status, headers, body = _get(url, {**params, "format": "json"})
    assert status == 200 and [b["code"]["value"] for b in json.loads(body)["results"]["bindings"]] == ["C08"]
    status, headers, body = _get(url, {**params, "format": "turtle"})
    assert status == 200 and headers["Content-Disposition"].endswith('.ttl"')
    graph = Graph().parse(data=body.decode("utf-8"), format="turtle")
    assert {str(v) for v in graph.objects(None, URIRef(RS + "value"))} >= {"C08", "2020-02-15"}
    status, _, body = _get(url, {**params, "format": "html"})
    assert status == 200 and "1 row(s)" in body.decode("utf-8")
    status, _, body = _get(url, {"zone": "sample:zone-fz-b", "format": "csv"})
    assert status == 400 and b"needs the parameter year" in body
    status, _, body = _get(url, {**params, "year": "twenty", "format": "csv"})
    assert status == 400 and b"must be a whole number" in body
    status, _, body = _get(server.url + "query/no-such-query", {"format": "csv"})
    assert status == 404 and b"no query 'no-such-query'" in body


def test_a_resource_page_lists_statements_both_ways(server, kb):
    # kb/sample/fujian-zones.ttl says 9 things of 样例·福州乙开发区; its 61 evidence rows of 2021 point to it
    status, _, body = _get(server.url + "resource", {"iri": "sample:zone-fz-b"})
    html = body.decode("utf-8")
    assert status == 200 and "<h1>样例·福州乙开发区</h1>" in html
    assert "Statements about it (9)" in html and "Statements that point to it (61)" in html
    outgoing = re.search(r'<section id="outgoing">.*?</section>', html, re.S).group(0)
    assert 'sample:zone-fz-b' not in outgoing and "place:fuqing" in outgoing and "<code>kb/sample/fujian-zones.ttl</code>" in outgoing
    incoming = re.search(r'<section id="incoming">.*?</section>', html, re.S).group(0)
    assert incoming.count("<tr>") == 1 + 61 and "sample:evidence/sample-2021-fz-b/r6" in incoming
    assert "pkb:zone" in incoming and "<code>kb/evidence/sample-2021-fz-b.ttl</code>" in incoming
    status, _, body = _get(server.url + "resource", {"iri": "not an iri"})
    assert status == 400 and b"must be an IRI" in body


def test_query_page_escapes_what_it_shows(server):
    status, _, body = _get(server.url, {"query": 'SELECT ?x WHERE { BIND ("<script>alert(1)</script>" AS ?x) }'})
    html = body.decode("utf-8")
    assert status == 200 and "<script>alert" not in html and "&lt;script&gt;" in html
    status, _, body = _get(server.url, {"query": "SELECT ?x WHERE { ?x ?y }"})
    assert status == 400 and "SPARQL syntax error" in body.decode("utf-8")


def test_a_browser_asking_sparql_gets_the_page(endpoint):
    status, headers, body = _get(endpoint, {"query": ZONES}, "text/html,application/xhtml+xml,*/*;q=0.8")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and "样例·福州甲开发区" in body.decode("utf-8")


def test_the_vendored_editor_is_served_with_its_licence(server):
    status, headers, body = _get(server.url + "static/yasqe/yasqe.min.js", {})
    assert status == 200 and "javascript" in headers["Content-Type"] and len(body) > 100_000
    status, _, body = _get(server.url + "static/yasqe/LICENSE", {})
    assert status == 200 and body.startswith(b"The MIT License")
    recorded = (STATIC / "yasqe" / "README.md").read_text(encoding="utf-8")
    package = json.loads((STATIC / "yasqe" / "package.json").read_text(encoding="utf-8"))
    assert package["name"] == "@zazuko/yasqe" and f"`@zazuko/yasqe` {package['version']}" in recorded


def test_service_works_when_the_administrator_allows_it(kb, endpoint):
    query = ("SELECT ?z WHERE { SERVICE <" + endpoint + "> "
             "{ ?z a <https://w3id.org/policykb/def#InnovationPromotionPilotZone> } }")
    with _serving(kb, timeout=60, workers=1, allow_service=True) as running:
        status, _, body = _get(running.url + "sparql", {"query": query}, "text/csv")
    assert status == 200, body
    assert len(body.decode("utf-8").splitlines()) == 1 + 24


def test_a_port_in_use_is_a_clear_error(kb):
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(UsageError) as caught:
            make_server(kb, "127.0.0.1", taken.getsockname()[1])
    assert "cannot listen on 127.0.0.1:" in str(caught.value) and "--port" in str(caught.value)


def test_policykb_serve_runs_and_stops_on_ctrl_c(kb_dir):
    process = subprocess.Popen([*POLICYKB, "serve", "--kb", str(kb_dir), "--port", "0",
                                "--workers", "1", "--quiet"], stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        url = re.search(r"SPARQL endpoint: (\S+)", line).group(1)
        status, _, body = _get(url, {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?z a pkb:InnovationPromotionPilotZone }"},
                               "text/csv")
        assert status == 200 and _csv(body) == [["n"], ["24"]]
        process.send_signal(2)
        assert process.wait(30) == 0
        rest = process.stderr.read()
        assert "Traceback" not in rest and rest.strip().endswith("stopped")
    finally:
        if process.poll() is None:
            process.kill()


# --- the page in a real browser ------------------------------------------------------------------

def test_the_page_in_a_browser_runs_a_typed_query(server, browser_page, tmp_path):
    page = browser_page
    page.goto(server.url)
    page.wait_for_selector(".CodeMirror")  # the editor replaced the text area
    editor = page.locator(".CodeMirror textarea")
    # prefix completion: PREFIX pk + Ctrl-Space offers the project's namespace
    page.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type("PREFIX pk")
    page.keyboard.press("Control+Space")
    hints = page.locator(".CodeMirror-hints li")
    hints.first.wait_for()
    assert "pkb: <https://w3id.org/policykb/def#>" in hints.all_inner_texts()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    editor.type("SELECT ?zone ?city WHERE {\n?zone a pkb:InnovationPromotionPilotZone ; pkb:inCity ?city .\n"
                "FILTER (?city = place:fuzhou)\n} ORDER BY ?zone")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("table.results")
    assert page.locator("#result .note").nth(1).inner_text() == "4 row(s)"
    first = page.locator("table.results tbody tr").first.locator("td")
    assert first.nth(0).inner_text() == "sample:zone-fz-a 样例·福州甲开发区"
    assert first.nth(1).inner_text() == "place:fuzhou 福州市"
    assert page.locator("table.results tbody tr").count() == 4
    # the query is kept in this browser's history, offered on the next visit
    page.goto(server.url)
    page.wait_for_selector(".CodeMirror")
    options = page.locator("#history option")
    assert options.count() == 2 and "?zone a pkb:InnovationPromotionPilotZone" in options.nth(1).get_attribute("title")
    page.select_option("#history", index=1)
    page.click("#run")
    page.wait_for_selector("table.results")
    assert page.locator("table.results tbody tr").count() == 4
    shot = tmp_path / "endpoint-page.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("POLICYKB_SCREENSHOT"):  # regenerate docs/endpoint-page.png (README: browser tests)
        shutil.copy(shot, os.environ["POLICYKB_SCREENSHOT"])
    assert page.problems == []


def test_the_page_without_javascript_is_a_form_that_works(server, browser_page):
    context = browser_page.context.browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server.url)
        assert page.locator(".CodeMirror").count() == 0  # no editor: the plain text area
        page.fill("textarea#query", "SELECT ?zone WHERE { ?zone pkb:withinFTZArea ?area ; pkb:sampleData true } ORDER BY ?zone")
        page.click("#run")
        page.wait_for_selector("table.results")
        cells = page.locator("table.results tbody td").all_inner_texts()
        assert cells == ["sample:zone-fz-a 样例·福州甲开发区", "sample:zone-pt-host 样例·平潭主园区"]
        page.click("text=sample:zone-pt-host")  # the IRI leads to the resource's page
        page.wait_for_selector("#incoming")
        assert page.locator("h1").inner_text() == "样例·平潭主园区"
        assert "sample:zone-pt-a" in page.locator("#incoming").inner_text()  # 样例·平潭甲开发区 pkb:partOfZone it
    finally:
        context.close()


def test_the_vocabulary_page_is_mounted_beside_the_endpoint(kb):
    from policykb.cli.servecmds import PAGES

    with _serving(kb, timeout=60, workers=1, pages=PAGES) as running:
        status, headers, body = _get(running.url + "vocabulary", {})
    html = body.decode("utf-8")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"] and "<script" not in html
    classes = {curie for curie in re.findall(r'<section class="term" id="[^"]*">\s*<h3>([^<]+)</h3>', html)}
    assert {"pkb:Zone", "pkb:Measure", "pkb:inCity"} <= classes


# --- the score pages: the ranking, a zone's form, a measure, kept live --------------------------------

def _score_pages():
    from policykb.cli.servecmds import PAGES

    return PAGES


def test_the_score_pages_link_the_ranking_the_zones_and_the_measures(kb):
    with _serving(kb, _score_pages(), timeout=60, workers=1) as running:
        status, headers, body = _get(running.url + "scores", {"scheme": "fujian-2021", "year": "2021"})
        assert status == 200 and headers["Content-Type"].startswith("text/html"), body[:500]
        page = body.decode("utf-8")
        # the hand-computed ranking (tests/data/fujian-2021-scores.yaml): xm-c first with 82, fz-b third with 59.6
        assert re.search(r"<td class=\"num\">1</td><td><a href=\"/scores/zone\?scheme=fujian-2021&amp;year=2021&amp;"
                         r"zone=xm-c\">样例·厦门丙开发区</a></td><td class=\"num\">82</td>", page)
        assert re.search(r"<td class=\"num\">3</td><td><a [^>]*zone=fz-b\">样例·福州乙开发区</a></td>"
                         r"<td class=\"num\">59.6</td>", page)
        status, _, body = _get(running.url + "scores/zone", {"scheme": "fujian-2021", "year": "2021", "zone": "fz-b"})
        form = body.decode("utf-8")
        assert status == 200 and "样例·福州乙开发区" in form and 'href="/scores/measure?scheme=fujian-2021&amp;year=2021&amp;measure=C01"' in form
        status, _, body = _get(running.url + "scores/measure", {"scheme": "fujian-2021", "year": "2021", "measure": "C01"})
        assert status == 200 and "样例举措C01" in body.decode("utf-8")
        status, _, body = _get(running.url + "scores", {"scheme": "fujian-2021", "year": "20x1"})
        assert status == 400 and b"four digits" in body
        status, _, body = _get(running.url + "scores/zone", {"scheme": "fujian-2021", "year": "2021", "zone": "fz-bb"})
        assert status == 400 and b"did you mean" in body


def test_the_ranking_stays_live_when_a_ledger_changes(kb_dir):
    opened = load(Layout.at(kb_dir))
    try:
        with _serving(opened, _score_pages(), timeout=120, workers=1, watch_interval=0.2) as running:
            url = running.url + "scores"
            first = _get(url, {"scheme": "fujian-2021", "year": "2021"})[2].decode("utf-8")
            assert re.search(r"zone=fz-b\">样例·福州乙开发区</a></td><td class=\"num\">59.6</td>", first)
            # fz-b's rows of C01 and C02 become X01, outside the catalogue: B4 12 → 10, total 59.6 → 57.6
            evidence = kb_dir / "kb" / "evidence" / "sample-2021-fz-b.ttl"
            text = evidence.read_text(encoding="utf-8")
            for code in ("c01", "c02"):
                text = text.replace(f"pkb:measure sample:measure-{code} ;", "pkb:measure sample:measure-x01 ;")
            evidence.write_text(text, encoding="utf-8")
            assert _until(lambda: "<td class=\"num\">57.6</td>" in _get(url, {"scheme": "fujian-2021", "year": "2021"})[2]
                          .decode("utf-8"), 60, 0.2)
    finally:
        opened.close()
