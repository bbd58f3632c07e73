"""A real Oxigraph server as the store (`--store URL`): the same triples, scores and query answers as the
embedded store, kept in step with the files the same way."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from policykb.kb.layout import Layout
from policykb.kb.load import load
from policykb.kb.queries import library, run
from policykb.scoring.evaluate import evaluate
from policykb.scoring.schemes import scheme_of

from test_store import _summary, _triples  # noqa: E402 — the same comparisons as for the embedded store


def _oxigraph() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(found).exists():
        pytest.fail("the Oxigraph server is not installed: pip install '.[test]' installs it (package oxigraph)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`oxigraph serve` on 127.0.0.1 with its data in a temporary folder; yields its URL."""
    port = _free_port()
    process = subprocess.Popen([_oxigraph(), "serve", "--location", str(tmp_path / "oxigraph"),
                                "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/query?query=ASK%7B%7D", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(process.stderr.read().decode())
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_the_server_holds_what_the_embedded_store_holds_and_scores_alike(server, kb_dir, kb):
    remote = load(Layout.at(kb_dir), store=server)
    assert sorted(remote.store.graph_names()) == sorted(kb.store.graph_names())
    assert remote.store.manifest() == kb.store.manifest()
    assert _triples(remote) == _triples(kb)
    scheme = scheme_of(kb, "fujian-2021")
    assert _summary(evaluate(remote, scheme, 2021)) == _summary(evaluate(kb, scheme, 2021))


def test_library_queries_answer_alike(server, kb_dir, kb):
    remote = load(Layout.at(kb_dir), store=server)
    for name in ("zones-inside-ftz", "measures-not-replicated", "catalogue-documents", "replication-counts"):
        query = library(kb.layout.queries)[name]
        here = [[str(v) for v in row] for row in run(kb.store, query)]
        there = [[str(v) for v in row] for row in run(remote.store, query)]
        assert there == here, name


def test_an_import_through_the_command_line_reaches_the_server(server, kb_dir, cli):
    ledger = kb_dir / "kb" / "ledgers" / "sample" / "sample-2021-fz-b.csv"
    text = ledger.read_text(encoding="utf-8").replace("样例·福州乙开发区,2021,复制推广,C02,", "样例·福州乙开发区,2021,复制推广,X01,")
    changed = kb_dir / "sample-2021-fz-b.csv"
    changed.write_text(text, encoding="utf-8")
    before = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--zone", "fz-b", "--format", "csv",
                 "--kb", kb_dir, "--store", server)
    assert before.code == 0, before.err
    imported = cli("import", changed, "--replace", "--kb", kb_dir, "--store", server)
    assert imported.code == 0, imported.err
    after = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--zone", "fz-b", "--format", "csv",
                "--kb", kb_dir, "--store", server)
    header = before.out.splitlines()[0].split(",")
    b4 = header.index("B4")
    # C01–C07 counted 7 × 2 = 14, capped at 12; without C02, 6 × 2 = 12: B4 stays 12 while X01 counts nothing
    assert before.out.splitlines()[1].split(",")[b4] == "12" == after.out.splitlines()[1].split(",")[b4]
    remote = load(Layout.at(kb_dir), store=server)
    rows = list(remote.query("SELECT ?m WHERE { ?e <https://w3id.org/policykb/def#ledgerRow> 7 ; "
                             "<https://w3id.org/policykb/def#zone> <https://w3id.org/policykb/sample/zone-fz-b> ; "
                             "<https://w3id.org/policykb/def#measure> ?m }"))
    assert [str(r.m) for r in rows] == ["https://w3id.org/policykb/sample/measure-x01"]


def test_a_server_that_does_not_answer_is_named(kb_dir, cli):
    port = _free_port()
    result = cli("info", "--kb", kb_dir, "--store", f"http://127.0.0.1:{port}")
    assert result.code == 1
    assert f"cannot reach the store at http://127.0.0.1:{port}/query" in result.err
    assert "start the server" in result.err
    assert "Traceback" not in result.err


def test_a_store_policykb_does_not_know_is_a_usage_error(kb_dir, cli):
    result = cli("info", "--kb", kb_dir, "--store", "mongodb://localhost")
    assert result.code == 2 and "names no store policykb knows" in result.err
