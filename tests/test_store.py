"""The store derived from the Turtle files: kept in step by digest, in generations readers can rely on,
rebuilt from nothing with the same content, and the scores kept per zone equal to a full evaluation."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal

import pyoxigraph as ox
import pytest

from policykb.errors import TurtleSyntaxError, TurtleSyntaxErrors
from policykb.kb.generations import Generations
from policykb.kb.layout import Layout
from policykb.kb.load import load
from policykb.scoring.board import Scoreboard
from policykb.scoring.evaluate import evaluate
from policykb.scoring.schemes import scheme_of

ZONE_FILE = "kb/sample/fujian-zones.ttl"


def _triples(kb) -> list:
    """Every quad, blank nodes masked (their labels differ from one parse to the next), as a sorted list."""
    def term(t) -> str:
        return "_:" if isinstance(t, ox.BlankNode) else str(t)
    return sorted((name, term(q.subject), q.predicate.value, term(q.object)) for name in kb.store.graph_names()
                  for q in kb.store.quads(name))


def _summary(evaluation) -> list:
    return [(z.zone.iri, [(i.code, i.points) for i in z.indicators], z.total, z.rank, z.outcome)
            for z in evaluation.zones]


def test_an_unchanged_knowledge_base_loads_nothing_again(kb_dir):
    layout = Layout.at(kb_dir)
    first = load(layout)
    generation = Generations(layout.state_dir / "oxigraph").current()
    first.close()
    second = load(layout)
    assert Generations(layout.state_dir / "oxigraph").current() == generation  # no new generation was made
    assert second.store.manifest() and set(second.files) == set(second.store.manifest())
    second.close()


def test_an_edited_file_is_loaded_again_and_only_it(kb_dir):
    layout = Layout.at(kb_dir)
    before = load(layout)
    manifest = before.store.manifest()
    before.close()
    path = kb_dir / ZONE_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("样例·福州乙开发区", "样例·福州乙开发区（改）"), encoding="utf-8")
    after = load(layout)
    changed = {name for name, info in after.store.manifest().items() if manifest[name] != info}
    assert changed == {ZONE_FILE}
    assert after.label("https://w3id.org/policykb/sample/zone-fz-b") == "样例·福州乙开发区（改）"
    after.close()


def test_a_deleted_file_takes_its_graph_with_it(kb_dir):
    layout = Layout.at(kb_dir)
    load(layout).close()
    (kb_dir / "kb" / "evidence" / "sample-2021-fz-b.ttl").unlink()
    kb = load(layout)
    assert "kb/evidence/sample-2021-fz-b.ttl" not in kb.store.graph_names()
    assert not list(kb.query("ASK { ?e <https://w3id.org/policykb/def#ledgerFile> "
                             "\"kb/ledgers/sample/sample-2021-fz-b.csv\" }") or [])
    kb.close()


def test_every_broken_file_is_named_and_the_store_keeps_the_rest(kb_dir):
    layout = Layout.at(kb_dir)
    load(layout).close()
    (kb_dir / "kb" / "a-broken.ttl").write_text("@prefix pkb: <https://w3id.org/policykb/def#> .\n"
                                                 "<https://x/a> pkb:p \"unclosed .\n", encoding="utf-8")
    (kb_dir / "kb" / "b-broken.ttl").write_text("<https://x/b> <https://x/p> foo:c .\n", encoding="utf-8")
    with pytest.raises(TurtleSyntaxErrors) as caught:
        load(layout)
    text = str(caught.value)
    assert "kb/a-broken.ttl:2:" in text and "kb/b-broken.ttl:1:" in text
    assert "declare the prefix" in text  # b-broken's hint
    (kb_dir / "kb" / "a-broken.ttl").unlink()
    with pytest.raises(TurtleSyntaxError) as one:
        load(layout)
    assert "kb/b-broken.ttl:1:" in str(one.value)
    (kb_dir / "kb" / "b-broken.ttl").unlink()
    kb = load(layout)  # fixed: the store is whole again
    assert "kb/b-broken.ttl" not in kb.store.graph_names()
    kb.close()


def test_a_rebuilt_store_holds_the_same_triples_and_gives_the_same_scores(kb_dir):
    layout = Layout.at(kb_dir)
    kb = load(layout)
    path = kb_dir / ZONE_FILE  # one change after the first build, so the store has two generations behind it
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    kb.close()
    kb = load(layout)
    scheme = scheme_of(kb, "fujian-2021")
    triples, scores = _triples(kb), _summary(evaluate(kb, scheme, 2021))
    kb.close()
    shutil.rmtree(layout.state_dir)
    rebuilt = load(layout)
    assert _triples(rebuilt) == triples
    assert _summary(evaluate(rebuilt, scheme_of(rebuilt, "fujian-2021"), 2021)) == scores
    memory = load(layout, store="memory")
    assert _triples(memory) == triples
    rebuilt.close()


def test_a_reader_keeps_its_generation_while_a_writer_publishes_another(kb_dir):
    layout = Layout.at(kb_dir)
    reader = load(layout)
    old = Generations(layout.state_dir / "oxigraph").current()
    path = kb_dir / ZONE_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("样例·福州乙开发区", "样例·福州乙开发区（新）"), encoding="utf-8")
    writer = load(layout)
    assert Generations(layout.state_dir / "oxigraph").current() != old
    assert old.exists()  # pinned by the reader: not deleted
    assert reader.label("https://w3id.org/policykb/sample/zone-fz-b") == "样例·福州乙开发区"
    assert writer.label("https://w3id.org/policykb/sample/zone-fz-b") == "样例·福州乙开发区（新）"
    reader.close()
    writer.close()
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    load(layout).close()  # the next writer deletes the old generation nobody reads
    assert not old.exists()


def test_a_writer_killed_half_way_leaves_the_store_usable(kb_dir):
    layout = Layout.at(kb_dir)
    load(layout).close()
    path = kb_dir / ZONE_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("样例·福州乙开发区", "样例·福州乙开发区（中途）"), encoding="utf-8")
    script = textwrap.dedent(f"""
        import os, signal
        from policykb.kb import sync
        real = sync.apply
        def apply(store, todo, **kw):
            real(store, todo, **kw)
            os.kill(os.getpid(), signal.SIGKILL)  # after loading, before publishing
        sync.apply = apply
        from policykb.kb.layout import Layout
        from policykb.kb.load import load
        load(Layout.at({str(kb_dir)!r}))
    """)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    kb = load(layout)
    assert kb.label("https://w3id.org/policykb/sample/zone-fz-b") == "样例·福州乙开发区（中途）"
    generations = sorted(p.name for p in (layout.state_dir / "oxigraph").iterdir() if p.name.startswith("gen-"))
    assert Generations(layout.state_dir / "oxigraph").current().name == generations[-1]
    kb.close()


def test_two_commands_bring_the_store_in_step_at_once(kb_dir):
    layout = Layout.at(kb_dir)
    path = kb_dir / ZONE_FILE
    path.write_text(path.read_text(encoding="utf-8") + "\n# both\n", encoding="utf-8")
    runner = [sys.executable, "-m", "policykb", "score", "--scheme", "fujian-2021", "--year", "2021",
              "--kb", str(kb_dir), "--format", "csv"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    both = [subprocess.Popen(runner, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in both]
    assert [p.returncode for p in both] == [0, 0], [e for _, e in outputs]
    assert outputs[0][0] == outputs[1][0] and outputs[0][0].count("\n") == 25
    kb = load(layout)
    assert kb.store.manifest()[ZONE_FILE].digest == next(s for s in kb.files.values() if s.name == ZONE_FILE).digest


def test_kept_scores_equal_a_full_evaluation_after_a_ledger_changes(kb_dir):
    layout = Layout.at(kb_dir)
    kb = load(layout)
    scheme = scheme_of(kb, "fujian-2021")
    board = Scoreboard(scheme, 2021)
    assert _summary(board.update(kb)) == _summary(evaluate(kb, scheme, 2021))
    assert len(board.changed) == 24  # the first update scores every zone
    kb.close()
    # fz-b's rows of C01 (two) and C02 become X01, outside the catalogue: B4 from C01–C07, 7 × 2 = 14 capped
    # at 12, to C03–C07, 5 × 2 = 10
    evidence = kb_dir / "kb" / "evidence" / "sample-2021-fz-b.ttl"
    text = evidence.read_text(encoding="utf-8")
    for code in ("c01", "c02"):
        text = text.replace(f"pkb:measure sample:measure-{code} ;", "pkb:measure sample:measure-x01 ;")
    evidence.write_text(text, encoding="utf-8")
    changed = load(layout)
    again = Scoreboard(scheme, 2021)  # a new process: the kept scores come from disk
    evaluation = again.update(changed)
    assert again.changed == ("https://w3id.org/policykb/sample/zone-fz-b",)
    assert _summary(evaluation) == _summary(evaluate(changed, scheme, 2021))
    assert evaluation.zone("fz-b").indicator("B4").points == Decimal(10)
    # and a board kept in memory (a running server) re-scores the same one zone
    assert board.update(changed) and board.changed == ("https://w3id.org/policykb/sample/zone-fz-b",)
    assert _summary(board.evaluation) == _summary(evaluation)
    changed.close()


def test_a_trace_from_kept_scores_is_the_full_trace(kb):
    scheme = scheme_of(kb, "fujian-2021")
    full = evaluate(kb, scheme, 2021).zone("fz-b")
    board = Scoreboard(scheme, 2021, persist=False)
    board.update(kb)
    traced = board.trace(kb, full.zone.iri)
    assert traced == full
