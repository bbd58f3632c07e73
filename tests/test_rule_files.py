"""Rule files are checked before use: each mistake is named with file, line, column and what to write."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import read_yaml
from policykb.errors import EngineError, RuleErrors
from policykb.kb.layout import Layout
from policykb.rules import expr
from policykb.scoring.matcher import Matcher
from policykb.scoring.schemes import read_scheme

BAD = read_yaml("bad-rules.yaml")


@pytest.mark.parametrize("case", BAD["cases"], ids=lambda c: c["name"])
def test_a_bad_rule_file_is_refused_with_its_position(cli, kb_dir, case):
    path = kb_dir / "rules" / "fujian-2021.yaml"
    text = path.read_text(encoding="utf-8")
    assert case["replace"] in text
    text = text.replace(case["replace"], case["with"], 1)
    path.write_text(text, encoding="utf-8")
    at = text.index(case["at"])
    line = text.count("\n", 0, at) + 1
    result = cli("rules", "check", "fujian-2021", "--kb", kb_dir)
    assert result.code == 1
    position = f"rules/fujian-2021.yaml:{line}"
    if "column" in case:
        position += f":{case['column']}"
    if "column_of" in case:
        position += f":{at - text.rfind(chr(10), 0, at)}"
    if case["name"] == "a YAML syntax error":  # the parser notices the open bracket on a later line
        assert "rules/fujian-2021.yaml:" in result.err
    else:
        assert position + ":" in result.err or position + " " in result.err or result.err.startswith(position), result.err
    assert case["message"] in result.err
    assert case["hint"] in result.err
    # and scoring with it stops the same way, before anything is computed
    scored = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--kb", kb_dir)
    assert scored.code == 1 and case["message"] in scored.err


def test_several_mistakes_are_reported_together(kb, kb_dir):
    path = kb_dir / "rules" / "fujian-2021.yaml"
    text = path.read_text(encoding="utf-8").replace("evidence: media-report", "evidence: media-reprt") \
        .replace("    per_item: 2\n    cap: 12", "    per_item: 2\n    capp: 12")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleErrors) as caught:
        read_scheme(kb, path)
    assert len(caught.value.errors) == 2


def test_a_clause_the_knowledge_base_does_not_hold_is_refused(cli, kb_dir):
    path = kb_dir / "rules" / "fujian-2021.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("att2/B7}", "att2/B77}").replace(
        "source: doc:fj-ftzo-2021-1/att2/B7\n", "source: doc:fj-ftzo-2021-1/att2/B77\n"), encoding="utf-8")
    result = cli("score", "--scheme", "fujian-2021", "--year", "2021", "--kb", kb_dir)
    assert result.code == 1 and "att2/B77 is not in the knowledge base" in result.err


# --- the condition language ---------------------------------------------------------------------

FIELDS = frozenset({"rank", "previous_rank", "level", "kind", "measure.scope", "zone.in_ftz_area", "year"})


@pytest.mark.parametrize("text, shown", [
    ("kind == replication and measure.scope == cross", "(kind == replication and measure.scope == cross)"),
    ("level in [city, county]", "level in [city, county]"),
    ("previous_rank - rank >= 5", "previous_rank >= rank + 5"),
    ("zone.in_ftz_area", "zone.in_ftz_area == true"),
    ("not (level == city or level == county)", "not ((level == city or level == county))"),
    ("level == 'city'", "level == city"),
])
def test_conditions_parse_into_a_tree(text, shown):
    assert expr.show(expr.parse(text, FIELDS)) == shown


@pytest.mark.parametrize("text, column", [
    ("rank <=", 8), ("rank == 1 and", 14), ("(rank == 1", 11), ("rank ; 1", 6), ("== 1", 1),
    ("__import__('os').system('x')", 17), ("previous_rank - rank >= level", 22),
])
def test_malformed_conditions_name_their_column(text, column):
    with pytest.raises(expr.ExpressionError) as caught:
        expr.parse(text, FIELDS)
    assert caught.value.column == column


# --- durable-rules, through the one module that wraps it -------------------------------------------

def _match(conditions, facts):
    matcher = Matcher({k: expr.parse(v, FIELDS) for k, v in conditions.items()}, label="test")
    return matcher.match("zone-1", facts).by_fact


def test_every_rule_that_holds_fires_for_a_fact_and_negations_see_missing_fields():
    hits = _match({"cross": "measure.scope == cross", "not-cross": "not measure.scope == cross",
                   "up5": "previous_rank - rank >= 5", "not-up5": "not previous_rank - rank >= 5"},
                  [{"id": "a", "measure__scope": "cross"}, {"id": "b", "measure__scope": "special"}, {"id": "c"},
                   {"id": "d", "rank": 8, "previous_rank": 13}, {"id": "e", "rank": 8, "previous_rank": 12},
                   {"id": "f", "rank": 8}])
    assert hits == {"a": {"cross", "not-up5"}, "b": {"not-cross", "not-up5"}, "c": {"not-cross", "not-up5"},
                    "d": {"not-cross", "up5"}, "e": {"not-cross", "not-up5"}, "f": {"not-cross", "not-up5"}}


def test_a_fact_no_rule_matches_does_not_fail_its_batch():
    hits = _match({"city": "level == city"}, [{"id": "a", "level": "city"}, {"id": "b", "level": "county"}])
    assert hits == {"a": {"city"}, "b": set()}


def test_two_compilations_of_the_same_rules_live_side_by_side():
    one = Matcher({"r": expr.parse("rank <= 10", FIELDS)}, label="same")
    two = Matcher({"r": expr.parse("rank <= 3", FIELDS)}, label="same")
    assert one.name != two.name
    facts = [{"id": "x", "rank": 5}]
    assert one.match("z", facts).by_fact == {"x": {"r"}} and two.match("z", facts).by_fact == {"x": set()}
    assert one.match("z", facts).by_fact == {"x": {"r"}}  # the state is dropped after each match


def test_two_facts_with_one_id_are_refused():
    with pytest.raises(EngineError, match="share the id"):
        _match({"r": "rank <= 10"}, [{"id": "x", "rank": 1}, {"id": "x", "rank": 2}])


def test_a_fact_the_engine_lost_stops_the_evaluation():
    matcher = Matcher({"r": expr.parse("rank <= 10", FIELDS)}, label="lossy")
    real = matcher._host.assert_facts
    matcher._host.assert_facts = lambda name, batch: real(name, batch[:-1])  # what a hash collision does
    with pytest.raises(EngineError, match="saw 1 of 2 facts"):
        matcher.match("z", [{"id": "x", "rank": 1}, {"id": "y", "rank": 2}])


def test_decimal_points_stay_exact(kb):
    assert Decimal("0.2") * 3 == Decimal("0.6")
    scheme = read_scheme(kb, Layout.bundled().rules / "fujian-2021.yaml")
    assert scheme.indicator("B15").per_item == Decimal("0.2")  # read from the YAML text, not a float
