"""`policykb generate`: a synthetic knowledge base that is deterministic, shaped like real ledgers, marked
as sample data, valid, scorable, and whose evidence is byte for byte what `policykb import` writes."""

from __future__ import annotations

import csv
import hashlib
import json
import statistics
from collections import Counter
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import pytest
from policykb.kb.layout import Layout
from policykb.kb.load import load
from policykb.namespace import PKB, SYNTHETIC
from policykb.scoring.schemes import scheme_of
from policykb.synthetic.generate import generate
from policykb.synthetic.reference import read_reference
from policykb.synthetic.rows import KIND, zone_rows
from policykb.synthetic.world import plan
from rdflib import Graph, Literal
from rdflib.namespace import RDF, SKOS

ZONES = 10  # one zone in each of the ten Fujian prefecture-level areas (nine cities and 平潭)
SEED = 7


def _snapshot(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def _ledger(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "kb10"
    generate(Layout.bundled(), out, zones=ZONES, seed=SEED)
    return out


@pytest.fixture(scope="module")
def world():
    return plan(read_reference(load(Layout.bundled())), 200, SEED, 2021)


def test_the_same_seed_gives_the_same_bytes_whatever_the_number_of_workers(generated, tmp_path):
    again = tmp_path / "again"
    generate(Layout.bundled(), again, zones=ZONES, seed=SEED, jobs=2)
    assert _snapshot(again) == _snapshot(generated)
    other = tmp_path / "other"
    generate(Layout.bundled(), other, zones=ZONES, seed=SEED + 1)
    assert (other / "ledgers/synthetic-2021-00001.csv").read_bytes() != (generated / "ledgers/synthetic-2021-00001.csv").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_the_output_is_a_copy_of_the_layout_plus_a_ledger_and_its_evidence_per_zone(generated):
    bundled = Layout.bundled()
    for name, folder in (("kb", bundled.kb), ("ontology", bundled.ontology), ("rules", bundled.rules), ("queries", bundled.queries)):
        copied = _snapshot(generated / name)
        assert {k: v for k, v in copied.items() if k in _snapshot(folder)} == _snapshot(folder)
    ledgers = sorted(p.name for p in (generated / "ledgers").iterdir())
    assert ledgers == [f"synthetic-2021-{n:05d}.csv" for n in range(1, ZONES + 1)]
    evidence = sorted(p.name for p in (generated / "kb/evidence").glob("synthetic-*.ttl"))
    assert evidence == [f"synthetic-2021-{n:05d}.ttl" for n in range(1, ZONES + 1)]
    assert sorted(p.name for p in (generated / "kb/sample").glob("synthetic-*")) == ["synthetic-measures.ttl", "synthetic-zones.ttl"]


def test_importing_a_generated_ledger_again_writes_the_same_evidence(generated, cli, tmp_path):
    evidence = generated / "kb/evidence/synthetic-2021-00001.ttl"
    before = evidence.read_bytes()
    result = cli("import", "--kb", generated, generated / "ledgers/synthetic-2021-00001.csv")
    assert result.code == 0, result.err
    assert evidence.read_bytes() == before


def test_rows_per_zone_are_shaped_like_real_ledgers(world):
    sizes = [len(zone_rows(world, zone)) for zone in world.zones]
    assert min(sizes) >= 70 and max(sizes) <= 160
    assert 100 <= statistics.mean(sizes) <= 120  # about 110 rows a zone a year


def test_every_ledger_has_earlier_years_duplicates_and_measures_not_replicated(generated):
    for path in sorted((generated / "ledgers").glob("*.csv")):
        rows = _ledger(path)
        assert any(int(r["年度"]) < 2021 for r in rows), path.name
        replications = [r for r in rows if r["类型"] == KIND["replication"] and r["年度"] == "2021"]
        counted = Counter(r["举措"] for r in replications if r["是否复制推广"] != "否")
        assert max(counted.values()) >= 2, path.name  # the same measure reported twice
        assert all(r["未复制推广原因"] for r in replications if r["是否复制推广"] == "否")
        assert any(r["是否复制推广"] == "否" for r in replications), path.name


def test_every_evidence_kind_the_fujian_rubric_reads_is_present(generated):
    kb = load(Layout.at(generated))
    scheme = scheme_of(kb, "fujian-2021")
    read = {kind for indicator in scheme.indicators for kind in indicator.evidence} | {"self-assessment"}
    codes = {str(code): cls for cls, code in kb.ontology.subject_objects(PKB.ledgerCode)}
    evidence = Graph()
    for path in (generated / "kb/evidence").glob("synthetic-*.ttl"):
        evidence.parse(path)
    present = set(evidence.objects(None, RDF.type))
    assert {k for k in read if codes[k] not in present} == set()


def test_zones_lie_inside_the_real_ftz_areas_of_their_city(generated):
    zones = Graph().parse(generated / "kb/sample/synthetic-zones.ttl")
    ftz = Graph().parse(Layout.bundled().kb / "zones/ftz.ttl")
    inside = {z: a for z, a in zones.subject_objects(PKB.withinFTZArea)}
    # one zone per city; the first zone of each city with an FTZ area lies within it: 福州, 厦门, 平潭
    assert sorted(str(ftz.value(a, SKOS.altLabel)) for a in inside.values()) == ["厦门片区", "平潭片区", "福州片区"]
    for zone, area in inside.items():
        assert zones.value(zone, PKB.inCity) == ftz.value(area, PKB.inCity)


def test_zones_partly_inside_an_ftz_area_appear_with_more_zones(world):
    within = sum(1 for z in world.zones if z.within)
    overlaps = sum(1 for z in world.zones if z.overlaps)
    # 200 zones over 10 areas: 20 in each of the 3 FTZ cities, every third lies inside (7), alternately within and partly
    assert (within, overlaps) == (3 * 4, 3 * 3)


def test_measures_fill_the_catalogue_batches_and_replication_is_skewed(generated, world):
    kb = load(Layout.at(generated))
    counts = {str(r.batch): (int(r.named), int(r["count"])) for r in kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        SELECT ?batch (COUNT(DISTINCT ?m) AS ?named) ?count WHERE {
          ?entry a pkb:CatalogueEntry ; pkb:lists ?batch . ?batch pkb:itemCount ?count . ?m pkb:publishedIn ?batch
        } GROUP BY ?batch ?count""")}
    assert len(counts) == 16 and all(named == count for named, count in counts.values())
    assert sum(count for _, count in counts.values()) == 335  # attachment 1: 16 batches, 335 items
    replicated = Counter(row["measure"] for zone in world.zones for row in zone_rows(world, zone)
                         if row["kind"] == KIND["replication"] and row["year"] == "2021")
    ranked = sorted(replicated.values(), reverse=True)
    assert ranked[0] >= 3 * statistics.median(ranked)


def test_everything_generated_is_marked_as_synthetic_sample_data(generated):
    for name in ("synthetic-zones.ttl", "synthetic-measures.ttl"):
        graph = Graph().parse(generated / "kb/sample" / name)
        subjects = set(graph.subjects())
        assert subjects and all(str(s).startswith(str(SYNTHETIC)) for s in subjects)
        assert all((s, PKB.sampleData, Literal(True)) in graph for s in subjects)
        labels = [label for label in graph.objects(None, SKOS.prefLabel) if label.language == "zh"]
        assert labels and all(str(label).startswith("合成样例·") for label in labels)
    for path in (generated / "ledgers").glob("*.csv"):
        assert all(r["开发区"].startswith("合成样例·") for r in _ledger(path))


def test_the_generated_knowledge_base_validates(generated, cli):
    result = cli("validate", "--kb", generated)
    assert result.code == 0, result.err
    assert "0 violation(s), 0 warning(s)" in result.err


def test_the_generated_knowledge_base_scores_as_its_ledgers_say(generated, cli):
    result = cli("score", "--kb", generated, "--scheme", "fujian-2021", "--year", "2021", "--format", "json")
    assert result.code == 0, result.err
    scores = {z["zone"]: z for z in json.loads(result.out)}
    measures = Graph().parse(generated / "kb/sample/synthetic-measures.ttl")
    scope = {str(measures.value(m, SKOS.notation)): measures.value(m, PKB.scope).split("/")[-1]
             for m in measures.subjects(RDF.type, PKB.Measure)}
    outside = {str(measures.value(m, SKOS.notation)) for m in measures.subjects(PKB.publishedIn, SYNTHETIC["batch-outside"])}
    zones = Graph().parse(generated / "kb/sample/synthetic-zones.ttl")
    for n in range(1, ZONES + 1):
        zone = scores[f"syn:zone-{n:05d}"]
        rows = [r for r in _ledger(generated / f"ledgers/synthetic-2021-{n:05d}.csv") if r["年度"] == "2021"]
        replicated = {r["举措"] for r in rows if r["类型"] == "复制推广" and r["是否复制推广"] != "否" and r["举措"] not in outside}
        cross = sum(1 for code in replicated if scope[code] == "cross")
        special = sum(1 for code in replicated if scope[code] == "special")
        funds = sum(Decimal(r["金额（元）"]) for r in rows if r["类型"] == "财政支持")
        media = {r["事项名称"] for r in rows if r["类型"] == "媒体报道" and r["层级"] in ("省级", "国家级")}
        points = zone["indicators"]
        assert Decimal(str(points["B4"])) == min(Decimal(12), 2 * cross), n
        assert Decimal(str(points["B5"])) == min(Decimal(8), Decimal("0.5") * special), n
        assert Decimal(str(points["B9"])) == min(Decimal(4), (funds / 1_000_000).to_integral_value(rounding=ROUND_FLOOR)), n
        assert Decimal(str(points["B17"])) == min(Decimal(5), Decimal("0.5") * len(media)), n
        inside = any(zones.objects(SYNTHETIC[f"zone-{n:05d}"], PKB.withinFTZArea | PKB.overlapsFTZArea))
        assert (zone["outcome"] == "excluded") == inside, n


@pytest.mark.parametrize("args, message", [
    (["--zones", "0"], "--zones 0 is out of range"),
    (["--zones", "10001"], "--zones 10001 is out of range"),
    (["--zones", "3", "--year", "2020"], "--year 2020 is out of range"),
    (["--zones", "3", "--seed", "-1"], "--seed -1 is negative"),
    (["--zones", "3", "--jobs", "0"], "--jobs 0 is out of range"),
])
def test_bad_arguments_are_refused_before_anything_is_written(cli, tmp_path, args, message):
    result = cli("generate", tmp_path / "out", *args)
    assert result.code == 2 and message in result.err and "hint:" in result.err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_written_over(cli, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep", encoding="utf-8")
    result = cli("generate", tmp_path / "out", "--zones", "2")
    assert result.code == 2 and "already exists and is not an empty folder" in result.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["mine.txt", "out"]


def test_the_command_prints_what_it_wrote(cli, tmp_path):
    result = cli("generate", tmp_path / "kb2", "--zones", "2", "--seed", "3", "--format", "json")
    assert result.code == 0, result.err
    counts = {r["what"]: r["count"] for r in json.loads(result.out)}
    rows = sum(len(_ledger(p)) for p in (tmp_path / "kb2/ledgers").glob("*.csv"))
    zones = Graph().parse(tmp_path / "kb2/kb/sample/synthetic-zones.ttl")
    measures = Graph().parse(tmp_path / "kb2/kb/sample/synthetic-measures.ttl")
    assert counts == {"zones": 2, "zones inside FTZ areas": len(set(zones.subjects(PKB.withinFTZArea | PKB.overlapsFTZArea))),
                      "measures": len(set(measures.subjects(RDF.type, PKB.Measure))), "ledgers": 2, "ledger rows": rows}
    assert f"wrote {tmp_path / 'kb2'}" in result.err
