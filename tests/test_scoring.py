"""Scores of the bundled sample zones against hand computations, traces, and rules changed in YAML."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from conftest import read_yaml
from policykb.scoring.evaluate import evaluate
from policykb.scoring.explain import trace_graph, zone_trace
from policykb.scoring.schemes import read_scheme
from rdflib import Graph

EXPECTED = read_yaml("fujian-2021-scores.yaml")


@pytest.fixture(scope="module")
def fujian(kb):
    scheme = read_scheme(kb, kb.layout.rules / "fujian-2021.yaml")
    return evaluate(kb, scheme, 2021)


def _d(value) -> Decimal:
    return Decimal(str(value))


@pytest.mark.parametrize("zone", sorted(EXPECTED["indicators"]))
def test_every_indicator_equals_the_hand_computation(fujian, zone):
    got = {i.code: i.points for i in fujian.zone(zone).indicators}
    assert got == {code: _d(v) for code, v in EXPECTED["indicators"][zone].items()}


@pytest.mark.parametrize("zone", sorted(EXPECTED["zones"]))
def test_total_rank_and_outcome_equal_the_hand_computation(fujian, zone):
    total, rank, outcome = EXPECTED["zones"][zone]
    got = fujian.zone(zone)
    assert (got.total, got.rank, got.outcome) == (_d(total), rank, outcome)
    assert got.eligible == (outcome != "excluded")


def test_every_pilot_zone_is_scored_once(fujian):
    assert sorted(z.zone.iri.rsplit("/", 1)[-1] for z in fujian.zones) == \
        sorted(z.split(":", 1)[1] for z in EXPECTED["zones"])


def test_self_assessed_scores_are_reported_beside_the_audited_ones(fujian):
    zone = fujian.zone("sample:zone-fz-b")
    expected = {code: _d(v) for code, v in EXPECTED["self_scores"]["sample:zone-fz-b"].items()}
    assert {i.code: i.self_score for i in zone.indicators} == expected
    assert zone.self_total == Decimal("63.9")
    differences = {i.code: i.difference for i in zone.indicators if i.difference}
    assert differences == {"B4": 2, "B5": Decimal("0.5"), "B9": Decimal("0.3"), "B11": 1, "B17": Decimal("0.5")}


def test_subtotals_add_up_by_first_level_indicator(fujian):
    zone = fujian.zone("sample:zone-fz-b")
    # F1 = B1–B3, F2 = B4–B5, F3 = B6–B9, F4 = B10–B11, F5 = B12–B15, F6 = B16–B18
    assert {k: zone.subtotals[k] for k in ("F1", "F2", "F3", "F4", "F5", "F6")} == {
        "F1": 10, "F2": Decimal("14.5"), "F3": 10, "F4": 9, "F5": Decimal("5.1"), "F6": 11}


def test_score_json_has_exact_decimals_and_the_documented_fields(cli):
    result = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--format", "json")
    assert result.code == 0, result.err
    assert re.search(r'"B15": 0\.6\b', result.out) and "0.6000000000000001" not in result.out
    rows = json.loads(result.out)
    fzb = next(r for r in rows if r["zone"] == "sample:zone-fz-b")
    assert {"zone", "total", "indicators", "eligible", "rank", "outcome"} <= set(fzb)
    assert list(fzb["indicators"]) == [f"B{n}" for n in range(1, 19)]
    assert (fzb["total"], fzb["rank"], fzb["outcome"], fzb["eligible"]) == (59.6, 3, "reward", True)
    fza = next(r for r in rows if r["zone"] == "sample:zone-fz-a")
    assert (fza["rank"], fza["outcome"], fza["eligible"]) == (None, "excluded", False)


def test_score_csv_and_table_list_every_zone(cli):
    csv = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--format", "csv")
    lines = csv.out.strip().splitlines()
    assert lines[0].startswith("zone,label,B1,B2") and len(lines) == 1 + 24
    table = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--zone", "fz-b")
    assert "59.6" in table.out and "样例·福州乙开发区" in table.out and "xm-c" not in table.out


def test_the_trace_names_rule_clause_evidence_and_reasons(fujian):
    trace = zone_trace(fujian, fujian.zone("sample:zone-fz-b"))
    b4 = next(i for i in trace["indicators"] if i["code"] == "B4")
    assert b4["source"] == "https://w3id.org/policykb/doc/fj-ftzo-2021-1/att2/B4"
    assert b4["rule"].startswith("rules/fujian-2021.yaml:")
    assert (b4["points_before_cap"], b4["cap"], b4["points"]) == (14, 12, 12)
    assert [(c["ledger_row"], c["points"]) for c in b4["counted"]] == [(r, 2) for r in range(6, 13)]
    reasons = {n["ledger_row"]: n["reason"] for n in b4["not_counted"]}
    assert "duplicate" in reasons[13] and "row 6" in reasons[13]
    # row 14 (C08, dated 2020) is outside B4's window: summarised by count and year, not listed
    assert 14 not in reasons
    assert b4["outside_window"] == {"rows": 1, "years": [2020], "reason": "the rule counts items of 2021 only (当年)"}
    assert "目录" in reasons[20]
    assert all("跨区域" in reasons[r] for r in range(15, 20))
    assert all(c["ledger_file"] == "kb/ledgers/sample/sample-2021-fz-b.csv" for c in b4["counted"])
    b9 = next(i for i in trace["indicators"] if i["code"] == "B9")
    assert "2300000" in b9["arithmetic"] and "→ 2 whole" in b9["arithmetic"]
    assert "rounded down" in b9["interpretation"]
    b18 = next(i for i in trace["indicators"] if i["code"] == "B18")
    given = [(a["id"], a["given"]) for a in b18["awards"]]
    assert given == [("top-10", True), ("up-10", False), ("up-5", True)]
    assert trace["sum"].endswith("= 59.6")


def test_every_awarded_point_has_a_clause_and_evidence(fujian):
    for zone in fujian.zones:
        for ind in zone.indicators:
            assert ind.source.startswith("https://w3id.org/policykb/doc/fj-ftzo-2021-1/att2/B")
            if ind.points:
                counted = [line for line in ind.items if line.counted]
                assert counted, f"{zone.zone.code} {ind.code} has points without evidence"
                assert all(line.item.ledger_file and line.item.ledger_row for line in counted)


def test_explain_prints_the_trace_for_auditors(cli):
    result = cli("explain", "fz-b", "--scheme", "fujian-2021", "--year", "2021")
    assert result.code == 0, result.err
    text = result.out
    assert "B4 当年复制跨区域、跨部门、跨层级创新举措: 12 point(s) (before the cap of 12: 14)" in text
    assert "self-assessed 14, audited 12, difference 2" in text
    assert "total 5 + 3 + 2 + 12 + 2.5 + 3 + 1 + 4 + 2 + 4 + 5 + 2 + 1.5 + 1 + 0.6 + 2 + 2 + 7 = 59.6" in text
    assert "outcome reward" in text


def test_explain_of_an_excluded_zone_says_why(cli):
    text = cli("explain", "pt-a", "--scheme", "fujian-2021", "--year", "2021").out
    assert "excluded from ranking and rewards: zone.in_ftz_area" in text
    assert "https://w3id.org/policykb/doc/fj-ftzo-2021-1/att2/note" in text


def test_explain_turtle_is_prov_o_that_loads_back(cli, kb):
    result = cli("explain", "fz-b", "--scheme", "fujian-2021", "--year", "2021", "--format", "turtle")
    graph = Graph().parse(data=result.out, format="turtle")
    rows = list(graph.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?points (COUNT(?e) AS ?n) WHERE {
          ?s a pkb:ZoneScore ; prov:wasGeneratedBy ?run ; pkb:indicatorScore ?b4 .
          ?run a pkb:Evaluation .
          ?b4 pkb:code "B4" ; pkb:points ?points ; pkb:clause ?clause ; prov:wasDerivedFrom ?e .
          FILTER (?e != ?clause)
        } GROUP BY ?points"""))
    assert [(r.points.toPython(), int(r.n)) for r in rows] == [(12, 7)]


def test_explain_json_is_the_same_trace_as_data(cli):
    data = json.loads(cli("explain", "fz-b", "--scheme", "fujian-2021", "--year", "2021", "--format", "json").out)
    assert data["total"] == 59.6 and data["rank"] == 3 and data["outcome"] == "reward"
    assert [i["code"] for i in data["indicators"]] == [f"B{n}" for n in range(1, 19)]


def test_changing_a_cap_or_points_in_yaml_changes_the_score(cli, kb_dir):
    rules = kb_dir / "rules" / "fujian-2021.yaml"
    text = rules.read_text(encoding="utf-8")
    b4 = text.index("  B4:")
    b4_end = text.index("  B5:")
    block = text[b4:b4_end].replace("max: 12", "max: 14").replace("cap: 12", "cap: 14")
    # the A2 level must still add up: raise it with B4, and F2 with it; lower B5 by as much
    b5 = text[b4_end:text.index("  B6:")].replace("max: 8", "max: 6").replace("cap: 8", "cap: 6") \
        .replace("per_item: 0.5", "per_item: 1")
    text = text[:b4] + block + b5 + text[text.index("  B6:"):]
    text = text.replace("A2: {name: 复制跨区域、跨部门、跨层级创新举措, max: 12", "A2: {name: 复制跨区域、跨部门、跨层级创新举措, max: 14")
    text = text.replace("A3: {name: 复制专项创新举措, max: 8", "A3: {name: 复制专项创新举措, max: 6")
    rules.write_text(text, encoding="utf-8")
    result = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--kb", kb_dir, "--format", "json")
    assert result.code == 0, result.err
    fzb = next(r for r in json.loads(result.out) if r["zone"] == "sample:zone-fz-b")
    # B4: 7 measures × 2 = 14, now under the cap of 14; B5: 5 special measures × 1 = 5
    assert (fzb["indicators"]["B4"], fzb["indicators"]["B5"], fzb["total"]) == (14, 5, 64.1)


def test_rule_tests_of_the_bundled_schemes_pass(cli):
    result = cli("test", "fujian-2021")
    assert result.code == 0, result.out + result.err
    assert "FAIL" not in result.out
    passed = int(re.search(r"(\d+) passed, 0 failed", result.err).group(1))
    assert passed >= 30


def test_a_failing_rule_test_is_reported_and_exits_1(cli, kb_dir):
    (kb_dir / "rules" / "fujian-2021.tests.yaml").write_text(
        "scheme: fujian-2021\ncases:\n"
        "  - name: three special measures\n    year: 2021\n"
        "    evidence:\n      fz-b:\n        - {kind: replication, measure: S01}\n"
        "        - {kind: replication, measure: S02}\n        - {kind: replication, measure: S03}\n"
        "    expect:\n      fz-b: {B5: 2}\n", encoding="utf-8")
    result = cli("test", "fujian-2021", "--kb", kb_dir)
    assert result.code == 1
    assert "rules/fujian-2021.tests.yaml:3" in result.out and "fz-b B5: expected 2, got 1.5" in result.out


def test_rules_check_accepts_the_bundled_rule_files(cli):
    result = cli("rules", "check")
    assert result.code == 0, result.err
    assert "rules/fujian-2021.yaml: ok (18 indicators, 0 duties)" in result.out
    assert "rules/zhejiang-2022.yaml: ok (7 indicators, 3 duties)" in result.out


def test_rules_show_prints_the_compiled_durable_rules_json(cli):
    result = cli("rules", "show", "fujian-2021", "--year", "2021")
    compiled = json.loads(result.out)
    text = json.dumps(compiled, ensure_ascii=False)
    assert '{"$lte": {"year": 2021}}' in text  # B1's window: up to and in 2021
    assert '{"$gt": {"year": 2021}}' in text  # ... and its negation, which names items outside it
    assert "__seen" in compiled


def test_a_year_before_the_scheme_is_refused(cli):
    result = cli("score", "--scheme", "fujian-2021", "--year", "2020")
    assert result.code == 2 and "applies from 2021" in result.err


def test_an_unknown_scheme_suggests_the_closest(cli):
    result = cli("score", "--scheme", "fujian-2012", "--year", "2021")
    assert result.code == 2 and "fujian-2021" in result.err


def test_trace_graph_marks_sample_scores(fujian):
    graph = trace_graph(fujian, [fujian.zone("sample:zone-fz-b")])
    assert "sampleData true" in graph.serialize(format="turtle")


def test_an_ill_typed_year_in_the_knowledge_base_is_named_not_a_traceback(cli, kb_dir):
    path = kb_dir / "kb" / "evidence" / "sample-2021-fz-b.ttl"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("pkb:year 2021 ;", 'pkb:year "2021x"^^xsd:integer ;', 1), encoding="utf-8")
    result = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--kb", kb_dir)
    assert result.code == 1
    assert "kb/evidence/sample-2021-fz-b.ttl:12: pkb:year: '2021x' is not a whole number" in result.err
    assert "Traceback" not in result.err
