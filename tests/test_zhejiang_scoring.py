"""The Zhejiang 2022 scheme runs on the same engine as Fujian's: formulas over Data Cube observations."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import read_yaml
from policykb.scoring.evaluate import evaluate
from policykb.scoring.schemes import read_scheme

EXPECTED = read_yaml("zhejiang-2022-expected.yaml")
CODES = list(EXPECTED["indicators"])


@pytest.fixture(scope="module")
def zhejiang(kb):
    return evaluate(kb, read_scheme(kb, kb.layout.rules / "zhejiang-2022.yaml"), 2022)


@pytest.mark.parametrize("zone", sorted(EXPECTED["zones"]))
def test_indicator_values_equal_the_hand_computation(zhejiang, zone):
    got = zhejiang.zone(zone)
    for code, want in EXPECTED["zones"][zone].items():
        line = got.indicator(code)
        assert line.source == EXPECTED["indicators"][code]["clause"]
        if "value" in want:
            assert (line.value, line.not_computable) == (Decimal(want["value"]), None), code
        else:
            assert (line.value, line.not_computable) == (None, want["not_computable"]), code


@pytest.mark.parametrize("code", CODES)
def test_each_indicator_is_ranked_with_shared_ties(zhejiang, code):
    ranks = {z.zone.iri: z.indicator(code).rank for z in zhejiang.zones if z.indicator(code).rank is not None}
    expected = {zhejiang.zone(k).zone.iri: v for k, v in (EXPECTED["ranks"][code] or {}).items()}
    assert ranks == expected


def test_without_weights_there_is_no_composite(zhejiang):
    assert all(z.total is None and z.rank is None and z.outcome == "none" for z in zhejiang.zones)


def test_not_computable_is_explained_with_the_observations_used(cli):
    result = cli("explain", "zj-c", "--scheme", "zhejiang-2022", "--year", "2022")
    assert result.code == 0, result.err
    text = result.out
    assert "zj1 亩均税收绝对值: not computable (division-by-zero)" in text
    assert "not computable: zone.land_area is 0 (a divisor is 0)" in text
    assert "zj5 实际使用外资占比: not computable (missing-province-total)" in text
    assert "zj4 进出口总额增速: -16.67 %" in text
    assert "uses zone.previous.import_export = 60000 (observation of sample:zone-zj-c, 2021)" in text
    assert "clause https://w3id.org/policykb/doc/zj-ftzo-2022-0505/att4/4" in text


def test_explain_json_carries_formula_value_and_reason(cli):
    data = json.loads(cli("explain", "zj-e", "--scheme", "zhejiang-2022", "--year", "2022", "--format", "json").out)
    by_code = {i["code"]: i for i in data["indicators"]}
    assert by_code["zj3"]["value"] == 1.01 and by_code["zj3"]["exact"] == 1.005  # 20100 / 2000000 × 100, half up
    assert by_code["zj4"]["not_computable"] == "missing-previous-year"
    assert by_code["zj1"]["formula"] == "zone.tax_revenue / zone.land_area"


def test_score_json_lists_values_and_indicator_ranks(cli):
    rows = json.loads(cli("score", "--scheme", "zhejiang-2022", "--year", "2022", "--format", "json").out)
    zjb = next(r for r in rows if r["zone"] == "sample:zone-zj-b")
    assert zjb["indicators"]["zj1"] == 12.35 and zjb["indicator_ranks"]["zj1"] == 1
    assert zjb["not_computable"] == {"zj5": "missing-province-total"}


def test_both_schemes_score_in_one_process(kb):
    fujian = evaluate(kb, read_scheme(kb, kb.layout.rules / "fujian-2021.yaml"), 2021)
    zhejiang = evaluate(kb, read_scheme(kb, kb.layout.rules / "zhejiang-2022.yaml"), 2022)
    again = evaluate(kb, read_scheme(kb, kb.layout.rules / "fujian-2021.yaml"), 2021)
    assert fujian.zone("sample:zone-fz-b").total == again.zone("sample:zone-fz-b").total == Decimal("59.6")
    assert zhejiang.zone("sample:zone-zj-a").indicator("zj4").value == Decimal("30.00")
    engine = Path(__file__).resolve().parents[1] / "engine" / "policykb"
    assert not [p for p in engine.rglob("*.py") if "zhejiang" in p.name or "fujian" in p.name]


def test_weights_in_yaml_give_a_ranked_composite(cli, kb_dir):
    path = kb_dir / "rules" / "zhejiang-2022.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    unit: 万元/亩\n", "    unit: 万元/亩\n    weight: 1\n", 1), encoding="utf-8")
    rows = json.loads(cli("score", "--scheme", "zhejiang-2022", "--year", "2022", "--kb", kb_dir, "--format", "json").out)
    got = {r["zone"]: (r["total"], r["rank"]) for r in rows if r["zone"].startswith("sample:")}
    # zj1 scaled between the lowest (zj-e 3.333) and highest (zj-b 12.345) computable value:
    # zj-a (6 − 3.333) / 9.012 × 100 = 29.59; zj-d (5 − 3.333) / 9.012 × 100 = 18.50; zj-c not computable → 0
    assert got == {"sample:zone-zj-b": (100, 1), "sample:zone-zj-a": (29.59, 2), "sample:zone-zj-d": (18.5, 3),
                   "sample:zone-zj-c": (0, 4), "sample:zone-zj-e": (0, 4)}
