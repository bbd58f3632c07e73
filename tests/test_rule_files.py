"""Rule files are checked before use: each mistake is named with file, line, column and what to write."""

from __future__ import annotations

import random
import re
from decimal import Decimal

import pytest
from conftest import read_yaml
from policykb.errors import EngineError, RuleError, RuleErrors
from policykb.kb.layout import Layout
from policykb.rules import expr, yamlfile
from policykb.scoring.matcher import Matcher
from policykb.scoring.schemes import read_scheme

BAD = read_yaml("bad-rules.yaml")


def _bad_file(kb_dir, case) -> tuple[str, str]:
    """Write the case's change into the rule file; the changed text and the file's name as shown."""
    shown = f"rules/{case.get('file', 'fujian-2021.yaml')}"
    path = kb_dir / shown
    text = path.read_text(encoding="utf-8")
    assert case["replace"] in text
    changed = case["with"]
    for token, (piece, times) in case.get("repeat", {}).items():
        changed = changed.replace(token, piece * times)
    text = text.replace(case["replace"], changed, 1)
    path.write_bytes(text.encode(case.get("encoding", "utf-8")))
    return text, shown


@pytest.mark.parametrize("case", BAD["cases"], ids=lambda c: c["name"])
def test_a_bad_rule_file_is_refused_with_its_position(cli, kb_dir, case):
    text, shown = _bad_file(kb_dir, case)
    scheme = shown.removeprefix("rules/").removesuffix(".yaml")
    result = cli("rules", "check", scheme, "--kb", kb_dir)
    assert result.code == 1
    if "at" in case:
        at = text.index(case["at"])
        position = f"{shown}:{text.count(chr(10), 0, at) + 1}"
        if "column" in case:
            position += f":{case['column']}"
        if "column_of" in case:
            position += f":{at - text.rfind(chr(10), 0, at)}"
        assert position + ":" in result.err or position + " " in result.err, result.err
    else:  # a problem of the whole file: `FILE: … message`
        assert re.search(rf"^{re.escape(shown)}: .*{re.escape(case['message'])}", result.err, re.M), result.err
    assert case["message"] in result.err
    assert case["hint"] in result.err
    if "listed" in case:  # each problem is a line `FILE:…: message` and a `hint:` line
        assert result.err.count("\n  hint: ") == case["listed"]
    # and scoring with it stops the same way, before anything is computed
    scored = cli("score", "--scheme", scheme, "--year", BAD["years"][scheme], "--kb", kb_dir)
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


# --- reading the YAML: encodings and full-width punctuation ---------------------------------------

def test_a_notepad_file_with_bom_and_crlf_line_ends_is_read(cli, kb_dir):
    path = kb_dir / "rules" / "fujian-2021.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    result = cli("rules", "check", "fujian-2021", "--kb", kb_dir)
    assert result.code == 0, result.err
    assert result.out.startswith("rules/fujian-2021.yaml: ok (18 indicators, 0 duties)")


@pytest.mark.parametrize("data, position, message", [
    ("scheme:\n  name: 創新推廣先行區評估\n".encode("big5"), (2, 9), "it looks like Big5"),
    ("scheme:\n  name: 创新推广先行区评估\n".encode("gbk"), (2, 9), "it looks like GBK"),
    (b"scheme:\n  name: \xff\xfe\xff\n", (2, 9), "byte 0xFF here is not UTF-8"),
    (b"s\x00c\x00h\x00\xe9\x00", (1, 2), "it holds NUL bytes"),
])
def test_a_file_that_is_not_utf8_is_named_with_its_encoding(data, position, message):
    with pytest.raises(RuleError) as caught:
        yamlfile.decode(data, "rules/x.yaml")
    location = caught.value.location
    assert (location.line, location.column) == position
    assert message in caught.value.message
    assert "save the file as UTF-8" in caught.value.hint


def test_a_full_width_colon_yaml_takes_for_text_is_named():
    with pytest.raises(RuleError) as caught:
        yamlfile.compose("indicators:\n  B4:\n    cap：12\n", "rules/x.yaml")
    assert str(caught.value.location) == "rules/x.yaml:3:8"
    assert caught.value.message.startswith("a full-width colon `：` after `cap`")


def test_full_width_colons_inside_texts_are_left_alone():
    text = ("scheme:\n  name: 样例：说明\n  note: B13：计入其他创新举措\n  quoted: \"cap：12\"\n"
            "  interpretation: >-\n    B4：a note that starts with a code\n")
    root = yamlfile.compose(text, "rules/x.yaml")
    values = {k.value: v.value for k, v in root.value[0][1].value}
    assert values["note"] == "B13：计入其他创新举措" and values["quoted"] == "cap：12"


def test_every_slip_of_one_character_is_a_located_message():
    """Typing, deleting or replacing one character anywhere in the rule file gives a RuleError with a
    line (or a file that still reads), never another exception: 400 slips at fixed random places."""
    text = (Layout.bundled().rules / "fujian-2021.yaml").read_text(encoding="utf-8")
    chance = random.Random(12)
    for _ in range(400):
        at, char = chance.randrange(len(text)), chance.choice(" \t:：\"'[]{}-#\n，\u3000&*?|>@`%!\\,")
        slip = chance.choice([text[:at] + char + text[at:], text[:at] + text[at + 1:], text[:at] + char + text[at + 1:]])
        try:
            yamlfile.compose(slip, "rules/fujian-2021.yaml")
        except RuleErrors as caught:
            assert all(e.location.line for e in caught.errors)
        except RuleError as caught:
            assert caught.location.line, caught
