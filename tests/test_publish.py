"""Published results, diffs against them, traces with digests, and years without data.

Expected figures are those of tests/data/fujian-2021-scores.yaml (computed by hand from the sample
ledgers) and the hand-counted changes written beside each test.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path

from conftest import read_yaml
from policykb.kb.layout import Layout
from policykb.kb.load import load
from policykb.report.results import from_graph
from rdflib import Graph

def _exact(value):
    """YAML's floats (59.6) as the exact decimals the engine computes with."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


SCORES = _exact(read_yaml("fujian-2021-scores.yaml"))
RESULT = Path("kb/results/fujian-2021-2021.ttl")


def _publish(cli, kb_dir: Path, date: str = "2022-03-01", *extra: str):
    return cli("publish", "--kb", kb_dir, "--scheme", "fujian-2021", "--year", "2021", "--date", date, *extra)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publishing_writes_every_zone_as_computed_by_hand(cli, kb_dir):
    run = _publish(cli, kb_dir)
    assert run.code == 0, run.err
    assert "wrote kb/results/fujian-2021-2021.ttl: 24 zone(s), 21 ranked, issued 2022-03-01" in run.err
    graph = Graph().parse(kb_dir / RESULT, format="turtle")
    result = from_graph(graph, "fujian-2021", 2021)
    assert result.issued.isoformat() == "2022-03-01"
    got = {z.zone.replace("https://w3id.org/policykb/sample/", "sample:"): [z.total, z.rank, z.outcome]
           for z in result.zones}
    assert got == SCORES["zones"]
    fz_b = result.zone("https://w3id.org/policykb/sample/zone-fz-b")
    assert {i.code: i.points for i in fz_b.indicators} == SCORES["indicators"]["sample:zone-fz-b"]
    assert {i.code: i.self_score for i in fz_b.indicators} == SCORES["self_scores"]["sample:zone-fz-b"]
    assert fz_b.self_total == Decimal("63.9")
    # F-level subtotals, from the hand-computed points: F1 = B1–B3, F2 = B4–B5, …, F6 = B16–B18
    assert fz_b.subtotals == _exact({"F1": 10, "F2": 14.5, "F3": 10, "F4": 9, "F5": 5.1, "F6": 11})
    # the rows B9 counted, with their amounts (sample-2021-fz-b.csv rows 27 and 28)
    b9 = fz_b.indicator("B9")
    assert [(c.where, c.units) for c in b9.counted] == [
        ("kb/ledgers/sample/sample-2021-fz-b.csv row 27", 1500000),
        ("kb/ledgers/sample/sample-2021-fz-b.csv row 28", 800000)]
    # the rule text B4 was computed with, and the digests of the inputs
    assert "per_item: 2" in result.rules["B4"].text and "cap: 12" in result.rules["B4"].text
    digests = {d.path: d.sha256 for d in result.inputs}
    assert digests["rules/fujian-2021.yaml"] == _sha(kb_dir / "rules/fujian-2021.yaml")
    assert digests["kb/ledgers/sample/sample-2021-fz-b.csv"] == _sha(kb_dir / "kb/ledgers/sample/sample-2021-fz-b.csv")
    assert digests["kb/evidence/sample-2021-fz-b.ttl"] == _sha(kb_dir / "kb/evidence/sample-2021-fz-b.ttl")
    assert digests["queries/facts/in-catalogue.rq"] == _sha(kb_dir / "queries/facts/in-catalogue.rq")
    assert not any(p.startswith("kb/results/") for p in digests)  # a result is never an input


def test_the_same_inputs_publish_the_same_bytes(cli, kb_dir, tmp_path):
    assert _publish(cli, kb_dir).code == 0
    first = (kb_dir / RESULT).read_bytes()
    again = _publish(cli, kb_dir, "2022-04-01")  # another day, same rules and evidence: nothing to write
    assert again.code == 0
    assert "already holds this result (published 2022-03-01); nothing written" in again.err
    assert (kb_dir / RESULT).read_bytes() == first
    (kb_dir / RESULT).unlink()
    assert _publish(cli, kb_dir).code == 0
    assert (kb_dir / RESULT).read_bytes() == first


def test_a_published_result_is_valid_and_answers_queries(cli, kb_dir):
    assert _publish(cli, kb_dir).code == 0
    check = cli("validate", "--kb", kb_dir)
    assert check.code == 0, check.out + check.err
    rows = json.loads(cli("query", "--kb", kb_dir, "zone-score-trace", "-p", "zone=sample:zone-fz-b", "-p", "year=2021",
                          "-p", "indicator=B9", "--format", "json").out)
    assert sorted(r["ledgerRow"] for r in rows if r["counted"]) == [27, 28]


def _lower_b4_cap(rules: Path, target: Path) -> int:
    """A copy of the rule file with B4's cap 12 → 10; returns the line of the changed cap."""
    lines = rules.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("  B4:\n")
    at = next(n for n in range(start, len(lines)) if lines[n] == "    cap: 12\n")
    lines[at] = "    cap: 10\n"
    target.write_text("".join(lines), encoding="utf-8")
    return at + 1


def test_diff_shows_what_lowering_the_b4_cap_does_zone_by_zone(cli, kb_dir, tmp_path):
    # Zones with at least 6 distinct cross-cutting catalogue measures of 2021 had B4 at the cap of 12:
    # fz-b (C01–C07: 14 → 12), xm-c (C01–C06: 12) and fz-a (C01–C06: 12, excluded). With the cap at 10
    # each loses 2 points: xm-c 82 → 80, fz-b 59.6 → 57.6, fz-a 47 → 45. No place changes (xm-c stays
    # above qz-a's 74, fz-b above zz-a's 41.5), so no outcome changes either.
    assert _publish(cli, kb_dir).code == 0
    copy = tmp_path / "fujian-2021.yaml"
    line = _lower_b4_cap(kb_dir / "rules/fujian-2021.yaml", copy)
    run = cli("diff", "--kb", kb_dir, "--scheme", "fujian-2021", "--year", "2021", "--rules", copy, "--format", "json")
    assert run.code == 0, run.err
    found = json.loads(run.out)
    cause = f"{copy}:{line}: `cap: 12` → `cap: 10`"
    assert found["changes"] == [
        {"zone": "sample:zone-xm-c", "label": "样例·厦门丙开发区", "what": "B4", "before": "12", "after": "10", "cause": cause},
        {"zone": "sample:zone-xm-c", "label": "样例·厦门丙开发区", "what": "total", "before": "82", "after": "80", "cause": "B4 -2"},
        {"zone": "sample:zone-fz-b", "label": "样例·福州乙开发区", "what": "B4", "before": "12", "after": "10", "cause": cause},
        {"zone": "sample:zone-fz-b", "label": "样例·福州乙开发区", "what": "total", "before": "59.6", "after": "57.6", "cause": "B4 -2"},
        {"zone": "sample:zone-fz-a", "label": "样例·福州甲开发区", "what": "B4", "before": "12", "after": "10", "cause": cause},
        {"zone": "sample:zone-fz-a", "label": "样例·福州甲开发区", "what": "total", "before": "47", "after": "45", "cause": "B4 -2"},
    ]
    assert re.search(r"rules/fujian-2021\.yaml → .*fujian-2021\.yaml: sha256 \w{12}… → \w{12}…", "\n".join(found["inputs_changed"]))
    assert "3 zone(s) changed of 24" in run.err


def test_diff_names_the_ledger_row_behind_a_change_and_places_that_move(cli, kb_dir):
    # fz-b's ledger row 27 goes from 1,500,000 to 29,500,000 yuan and is imported again: B9 adds
    # 29,500,000 + 800,000 = 30,300,000 → 30 whole millions, capped at 4 (was 2): +2, 59.6 → 61.6, still 3rd.
    # Row 40 (a provincial media report) is deleted: B17 counts 3 reports, 1.5 (was 2): 61.6 − 0.5 = 61.1.
    assert _publish(cli, kb_dir).code == 0
    ledger = kb_dir / "kb/ledgers/sample/sample-2021-fz-b.csv"
    rows = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    assert rows[26].startswith("样例·福州乙开发区,2021,财政支持,,产业平台发展专项资金第1笔,,,,1500000,")
    rows[26] = rows[26].replace(",1500000,", ",29500000,")
    assert rows[39].startswith("样例·福州乙开发区,2021,媒体报道,,发展红利报道2,省级")
    del rows[39]
    ledger.write_text("".join(rows), encoding="utf-8")
    assert cli("import", "--kb", kb_dir, ledger).code == 0
    run = cli("diff", "--kb", kb_dir, "--scheme", "fujian-2021", "--year", "2021", "--format", "json")
    changes = [(c["zone"], c["what"], c["before"], c["after"], c["cause"]) for c in json.loads(run.out)["changes"]]
    # row 40 gone: rows 41–62 of the ledger are now rows 40–61, so rows 40–42 are the same reports renumbered
    where = "kb/ledgers/sample/sample-2021-fz-b.csv row"
    assert changes[0] == ("sample:zone-fz-b", "B9", "2", "4", f"{where} 27: 1500000 → 29500000")
    assert changes[1][:4] == ("sample:zone-fz-b", "B17", "2", "1.5")
    assert changes[2] == ("sample:zone-fz-b", "total", "59.6", "61.1", "B9 +2, B17 -0.5")
    assert len(changes) == 3


def test_a_changed_result_is_not_overwritten_without_replace(cli, kb_dir):
    assert _publish(cli, kb_dir).code == 0
    before = (kb_dir / RESULT).read_bytes()
    rules = kb_dir / "rules/fujian-2021.yaml"
    _lower_b4_cap(rules, rules)
    refused = _publish(cli, kb_dir, "2022-05-01")
    assert refused.code == 2
    assert "holds a different result of fujian-2021 for 2021 (published 2022-03-01" in refused.err
    assert "give --replace" in refused.err
    assert "sample:zone-xm-c" in refused.out and "82" in refused.out and "80" in refused.out
    assert (kb_dir / RESULT).read_bytes() == before
    replaced = _publish(cli, kb_dir, "2022-05-01", "--replace")
    assert replaced.code == 0, replaced.err
    result = from_graph(Graph().parse(kb_dir / RESULT, format="turtle"), "fujian-2021", 2021)
    assert result.issued.isoformat() == "2022-05-01"
    assert result.zone("https://w3id.org/policykb/sample/zone-xm-c").total == 80


def test_diff_without_a_published_result_says_how_to_publish(cli, kb_dir):
    run = cli("diff", "--kb", kb_dir, "--scheme", "fujian-2021", "--year", "2021")
    assert run.code == 2
    assert "no published result of fujian-2021 for 2021" in run.err
    assert "policykb publish --scheme fujian-2021 --year 2021 --date YYYY-MM-DD" in run.err


def test_publish_refuses_a_date_that_is_not_one(cli, kb_dir, capsys):
    import pytest

    with pytest.raises(SystemExit) as stop:  # argparse: usage errors exit 2
        _publish(cli, kb_dir, "2022-13-01")
    assert stop.value.code == 2
    assert "'2022-13-01' is not a date: write YYYY-MM-DD" in capsys.readouterr().err
    assert not (kb_dir / RESULT).exists()


# --- years without data ------------------------------------------------------------------------

def test_a_year_nobody_has_evidence_for_gives_no_rewards_and_no_rectifications(cli):
    run = cli("score", "--scheme", "fujian-2021", "--year", "2030", "--format", "json")
    assert run.code == 0, run.err
    rows = json.loads(run.out)
    outcomes = {r["zone"]: r["outcome"] for r in rows}
    # the 21 zones outside FTZ areas have no row dated 2030: no data; the 3 inside stay excluded
    assert sorted(set(outcomes.values())) == ["excluded", "no-data"]
    assert sorted(z for z, o in outcomes.items() if o == "excluded") == [
        "sample:zone-fz-a", "sample:zone-pt-a", "sample:zone-xm-a"]
    assert sum(1 for o in outcomes.values() if o == "no-data") == 21
    assert all(r["rank"] is None for r in rows)


def test_one_zone_with_a_ledger_for_the_year_is_the_only_one_ranked(cli, kb_dir, tmp_path):
    # Only fz-c sends a 2022 ledger: one cross-cutting catalogue measure (C01) → B4 2. It is the only zone
    # with data: place 1 of 1, rewarded (≤ 10 zones). The other 20 zones outside FTZ areas have no 2022
    # row: no data, neither rewarded nor told to rectify.
    ledger = tmp_path / "fz-c-2022.csv"
    ledger.write_text("zone,year,kind,measure,date\nsample:zone-fz-c,2022,replication,C01,2022-03-01\n", encoding="utf-8")
    assert cli("import", "--kb", kb_dir, ledger).code == 0
    rows = json.loads(cli("score", "--kb", kb_dir, "--scheme", "fujian-2021", "--year", "2022", "--format", "json").out)
    by_zone = {r["zone"]: r for r in rows}
    assert (by_zone["sample:zone-fz-c"]["rank"], by_zone["sample:zone-fz-c"]["outcome"]) == (1, "reward")
    assert by_zone["sample:zone-fz-c"]["indicators"]["B4"] == 2
    others = [r["outcome"] for z, r in by_zone.items() if z != "sample:zone-fz-c"]
    assert others.count("no-data") == 20 and others.count("excluded") == 3
    assert "rectify" not in others


def test_the_trace_of_a_zone_without_data_says_so(cli):
    run = cli("explain", "fz-b", "--scheme", "fujian-2021", "--year", "2030")
    assert run.code == 0, run.err
    assert "no data: no evidence item of the zone is dated 2030" in run.out
    assert "reward 奖励（不超过100万元）: rank <= 10 — not considered: no evidence item of the zone is dated 2030 (no data)" in run.out


# --- traces -----------------------------------------------------------------------------------

def test_the_trace_quotes_clauses_facts_and_digests(cli):
    run = cli("explain", "fz-b", "--scheme", "fujian-2021", "--year", "2021", "--format", "json")
    trace = json.loads(run.out)
    b4 = next(i for i in trace["indicators"] if i["code"] == "B4")
    assert b4["source_text"] == "B4. 当年每复制一项跨区域、跨部门、跨层级创新举措得2分，总分不超12分"
    row6 = b4["counted"][0]
    assert row6["ledger_row"] == 6
    facts = {f["field"]: (f["value"], f["about"], f["file"], f["query"]) for f in row6["facts"]}
    assert facts["measure.scope"] == ("cross", "sample:measure-c01", "kb/sample/measures.ttl", None)
    assert facts["measure.in_catalogue"] == (True, "sample:measure-c01", "kb/sample/measures.ttl",
                                             "queries/facts/in-catalogue.rq")
    assert facts["status"][0] is None and facts["status"][2] == "kb/evidence/sample-2021-fz-b.ttl"
    layout = Layout.bundled()
    inputs = trace["inputs"]
    assert inputs["rules"] == {"path": "rules/fujian-2021.yaml", "sha256": _sha(layout.rules / "fujian-2021.yaml")}
    assert [d["path"] for d in inputs["ledgers"]] == ["kb/ledgers/sample/sample-2021-fz-b.csv"]
    assert inputs["policykb"] and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", inputs["at"])
    names = {d["path"] for d in inputs["knowledge_base"]}
    assert {"ontology/policykb.ttl", "kb/evidence/sample-2021-fz-b.ttl", "kb/documents/fj-ftzo-2021-1.ttl"} <= names
    # fz-b is 3rd and 19th from the bottom: reward holds and is given, rectify does not hold
    assert [(o["id"], o["held"], o["given"]) for o in trace["outcomes"]] == [("reward", True, True), ("rectify", False, False)]
    assert trace["outcomes"][1]["why"] == "does not hold (rank_from_bottom = 19)"


def test_the_trace_of_an_excluded_zone_quotes_the_note(cli):
    run = cli("explain", "fz-a", "--scheme", "fujian-2021", "--year", "2021")
    assert "“备注: 自贸试验区范围内开发区不作为评估奖励对象。”" in run.out
    assert "zone.in_ftz_area = true (queries/facts/in-ftz-area.rq on sample:zone-fz-a, kb/sample/fujian-zones.ttl:" in run.out


def test_an_outcome_set_aside_by_precedence_is_named(kb):
    # The 12 best eligible zones of tests/data/fujian-2021-scores.yaml ranked among themselves: xm-c 82,
    # qz-a 74, fz-b 59.6, zz-a 41.5, sm-a 36, ly-a 33, xm-b 30, fz-c 24, qz-b 23.5, np-a and nd-a 22.5
    # (place 10), pu-a 16 (place 12). From the bottom: pu-a 1, np-a and nd-a 2, qz-b 4, fz-c 5, xm-b 6,
    # ly-a 7, sm-a 8, zz-a 9, fz-b 10, qz-a 11, xm-c 12. fz-b … nd-a meet both conditions and are
    # rewarded (reward is listed first); pu-a only rectifies; xm-c and qz-a are only rewarded.
    from policykb.scoring.evaluate import evaluate
    from policykb.scoring.explain import outcomes_considered
    from policykb.scoring.schemes import scheme_of

    codes = ["xm-c", "qz-a", "fz-b", "zz-a", "sm-a", "ly-a", "xm-b", "fz-c", "qz-b", "np-a", "nd-a", "pu-a"]
    evaluation = evaluate(kb, scheme_of(kb, "fujian-2021"), 2021,
                          only={f"https://w3id.org/policykb/sample/zone-{c}" for c in codes})
    got = {z.zone.code: (z.rank, z.rank_from_bottom, z.outcomes_met, z.outcome) for z in evaluation.zones}
    both = ("reward", "rectify")
    assert got == {"xm-c": (1, 12, ("reward",), "reward"), "qz-a": (2, 11, ("reward",), "reward"),
                   "fz-b": (3, 10, both, "reward"), "zz-a": (4, 9, both, "reward"), "sm-a": (5, 8, both, "reward"),
                   "ly-a": (6, 7, both, "reward"), "xm-b": (7, 6, both, "reward"), "fz-c": (8, 5, both, "reward"),
                   "qz-b": (9, 4, both, "reward"), "np-a": (10, 2, both, "reward"), "nd-a": (10, 2, both, "reward"),
                   "pu-a": (12, 1, ("rectify",), "rectify")}
    found = outcomes_considered(evaluation, evaluation.zone("sm-a"))
    assert [(o["id"], o["held"], o["given"]) for o in found] == [("reward", True, True), ("rectify", True, False)]
    assert found[0]["why"] == "holds (rank = 5): given"
    assert found[1]["why"] == ("holds (rank_from_bottom = 8) but set aside: reward comes first in the declared "
                               "precedence (reward, rectify)")


def test_the_score_csv_has_the_self_assessed_total(cli):
    run = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--format", "csv")
    header, *lines = run.out.strip().splitlines()
    columns = header.split(",")
    assert "self_total" in columns and "F1" in columns
    fz_b = next(line.split(",") for line in lines if line.startswith("sample:zone-fz-b,"))
    assert fz_b[columns.index("self_total")] == "63.9" and fz_b[columns.index("F6")] == "11"


def test_loading_the_knowledge_base_with_a_result(cli, kb_dir):
    assert _publish(cli, kb_dir).code == 0
    loaded = load(Layout.at(kb_dir))
    assert "kb/results/fujian-2021-2021.ttl" in loaded.files


def test_the_prov_o_trace_quotes_clauses_and_names_its_inputs(cli):
    from rdflib import URIRef
    from rdflib.namespace import PROV

    from policykb.namespace import PKB

    run = cli("explain", "fz-b", "--scheme", "fujian-2021", "--year", "2021", "--format", "turtle")
    graph = Graph().parse(data=run.out, format="turtle")
    b4 = URIRef("https://w3id.org/policykb/doc/fj-ftzo-2021-1/att2/B4")
    assert str(graph.value(b4, PKB.text)) == "B4. 当年每复制一项跨区域、跨部门、跨层级创新举措得2分，总分不超12分"
    activity = URIRef("https://w3id.org/policykb/score/fujian-2021/2021")
    used = {str(graph.value(i, PKB.path)): str(graph.value(i, PKB.sha256)) for i in graph.objects(activity, PROV.used)
            if graph.value(i, PKB.path) is not None}
    layout = Layout.bundled()
    assert used["rules/fujian-2021.yaml"] == _sha(layout.rules / "fujian-2021.yaml")
    assert used["kb/ledgers/sample/sample-2021-fz-b.csv"] == _sha(layout.root / "kb/ledgers/sample/sample-2021-fz-b.csv")
    assert not any(p.endswith("sample-2021-xm-c.csv") for p in used)  # only the zone's own ledgers
    score = URIRef("https://w3id.org/policykb/score/fujian-2021/2021/fz-b")
    assert [str(o) for o in graph.objects(score, PKB.outcomeMet)] == ["reward"]


def test_kept_scores_remember_a_zone_without_data(cli, kb_dir):
    # the second run reads the scores kept on disk (scoring.board): a zone without data stays unranked
    for _ in range(2):
        rows = json.loads(cli("score", "--kb", kb_dir, "--scheme", "fujian-2021", "--year", "2030", "--format", "json").out)
        assert sorted({r["outcome"] for r in rows}) == ["excluded", "no-data"]
        assert all(r["rank"] is None for r in rows)
    assert list((kb_dir / ".policykb").rglob("fujian-2021-2030.json"))
