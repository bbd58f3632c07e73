"""The replication graph: measures with proof paths, coverage, gaps, diffusion and centrality, as counted by hand."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import read_yaml
from policykb.analysis.graph import ReplicationGraph
from policykb.errors import UsageError
from policykb.kb.layout import Layout
from policykb.kb.load import parse_turtle, parse_turtle_text
from policykb.kb.store import OxigraphStore

EXPECT = read_yaml("graph.yaml")
SAMPLE = "https://w3id.org/policykb/sample/"


@pytest.fixture(scope="module")
def graph(kb):
    return ReplicationGraph(kb.store)


def _local(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


# --- measures ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", EXPECT["measures"], ids=lambda c: f"{c['zone']}-{c.get('year')}")
def test_measures_of_a_zone_with_their_proof(graph, case):
    found = graph.measures(graph.zone(case["zone"]), case.get("year"))
    by_code = {m.notation: m for m in found}
    assert [m.notation for m in found] == case["codes"]
    if "catalogued" in case:
        assert sum(m.catalogued for m in found) == case["catalogued"]
    for code, rows in case.get("evidence_rows", {}).items():
        assert [e.ledger_row for e in by_code[code].evidence] == rows
    for code, scope in case.get("scopes", {}).items():
        assert by_code[code].scope.label == scope
    for code, path in case.get("paths", {}).items():
        measure = by_code[code]
        assert [step.label for step in measure.path] == path
        assert [step.kind for step in measure.path] == ["zone", "replication", "measure", "document", "unit"]


def test_measures_command_prints_paths(cli):
    result = cli("measures", "fz-b", "--year", "2020", "--format", "json")
    assert result.code == 0, result.err
    [measure] = json.loads(result.out)
    assert measure["notation"] == "C08"
    assert [step["label"] for step in measure["path"]] == [
        "样例·福州乙开发区", "sample-2021-fz-b.csv:14", "样例举措C08：“多规合一”改革第8项", "闽政〔2020〕9号", "福建省人民政府"]
    assert measure["evidence"][0]["ledger_file"] == "kb/ledgers/sample/sample-2021-fz-b.csv"
    assert "1 measure(s) replicated by 样例·福州乙开发区 up to and in 2020" in result.err


def test_unknown_zone_is_a_clear_error(cli):
    result = cli("measures", "样例·福州戊开发区")
    assert result.code == 2
    assert "no zone '样例·福州戊开发区'" in result.err and "did you mean" in result.err


# --- coverage ---------------------------------------------------------------------------------

def test_coverage_of_the_catalogue(graph):
    expect = EXPECT["coverage"]
    found = {c.zone.curie: c for c in graph.coverage()}
    assert len(found) == expect["zones"]
    for row in expect["rows"]:
        c = found[row["zone"]]
        assert (c.replicated, c.named, c.items, c.outside) == (row["replicated"], expect["named"], expect["items"],
                                                               row["outside"])
        assert (c.share_of_named, c.share_of_items) == (Decimal(row["share_of_named"]), Decimal(row["share_of_items"]))
        scopes = {s.key: [s.replicated, s.named] for s in c.by_scope}
        assert scopes == row["by_scope"]
        batches = {s.key: [s.replicated, s.named, s.items] for s in c.by_batch}
        assert len(batches) == 16 and sum(s.items for s in c.by_batch) == expect["items"]
        for batch, counts in row.get("by_batch", {}).items():
            assert batches[batch] == counts


def test_coverage_up_to_a_year(graph):
    found = {c.zone.curie: c.replicated for c in graph.coverage(2020)}
    for zone, replicated in EXPECT["coverage"]["year_2020"].items():
        assert found[zone] == replicated


def test_coverage_command_says_what_the_shares_are_of(cli):
    result = cli("coverage", "--by", "scope", "--zone", "fz-b", "--format", "csv")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "zone,label,scope,replicated,named,share_of_named"
    assert lines[1:] == ["sample:zone-fz-b,样例·福州乙开发区,跨区域、跨部门、跨层级,8,16,0.5",
                         "sample:zone-fz-b,样例·福州乙开发区,专项,5,16,0.3125",
                         "sample:zone-fz-b,样例·福州乙开发区,（未注明）,0,5,0"]
    table = cli("coverage")
    assert "298 items are unnamed" in table.err and "floor" in table.err


# --- gaps -------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", EXPECT["gaps"], ids=lambda c: f"{c['zone']}-{c['peers']}")
def test_gaps_most_widely_proven_first(graph, case):
    report = graph.gaps(graph.zone(case["zone"]), within=case["peers"])
    assert len(report.peers) == case["peer_count"]
    got = [[g.notation, g.peers_with] for g in report.gaps]
    assert got[: len(case["first"])] == case["first"]
    if "gap_count" in case:
        assert len(report.gaps) == case["gap_count"]
        assert report.unnamed == case["unnamed"]
        assert sum(1 for g in report.gaps if g.peers_with == 0) == case["zero"]
    for code, units in case.get("contacts", {}).items():
        assert [u.label for u in next(g for g in report.gaps if g.notation == code).units] == units


def test_gaps_of_a_real_measure_name_its_units(graph):
    report = graph.gaps(graph.zone("fz-b"))
    warehouse = next(g for g in report.gaps if g.measure.label == "跨境电商零售进口退货中心仓模式")
    assert sorted(u.label for u in warehouse.units) == ["商务部", "海关总署"]
    assert warehouse.peers_with == 0


def test_gaps_command_lists_the_contact(cli):
    result = cli("gaps", "样例·福州乙开发区", "--limit", "3", "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert [g["notation"] for g in report["gaps"]] == ["S06", "S07", "S08"]
    assert report["gaps"][0]["units"][0]["label"] == "福建省财政厅"
    assert report["unnamed"] == 298


# --- diffusion --------------------------------------------------------------------------------

def test_diffusion_orders_zones_by_date_with_shared_ranks(graph):
    expect = EXPECT["diffusion"]
    assert len(graph.diffusion()) == expect["replicated_measures"]
    [c01] = graph.diffusion(graph.measure("C01"))
    assert [[_local(a.zone.id), a.rank] for a in c01.adoptions] == expect["C01"]
    assert sorted(_local(z.id) for z in c01.leaders) == ["zone-nd-b", "zone-qz-d"]
    [c08] = graph.diffusion(graph.measure("样例举措C08：“多规合一”改革第8项"))
    assert [[_local(a.zone.id), a.rank] for a in c08.adoptions] == expect["C08"]
    [s01] = graph.diffusion(graph.measure("sample:measure-s01"))
    assert len(s01.adoptions) == expect["S01_adopters"]
    assert sorted(_local(z.id) for z in s01.leaders) == expect["S01_leaders"]


def test_diffusion_command_for_one_measure(cli):
    result = cli("diffusion", "C01", "--format", "csv")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "rank,zone,label,date,year,evidence,days_after_first"
    assert lines[1] == "1,sample:zone-nd-b,样例·宁德乙开发区,2021-01-26,2021,sample-2021-nd-b.csv:4,0"
    assert lines[-1].startswith("21,sample:zone-qz-c,")
    assert len(lines) == 23


# --- centrality -------------------------------------------------------------------------------

def test_centrality_counts_leads_and_reach(graph):
    expect = EXPECT["centrality"]
    zones = {_local(c.node.id): c for c in graph.centrality(of="zone")}
    for zone, leads in expect["leads"].items():
        assert zones[zone].leads == leads
    assert sum(c.leads for c in zones.values()) == expect["total_leads"]
    units = {_local(c.node.id): c for c in graph.centrality(of="unit")}
    for unit, (measures, reached, rows) in expect["units"].items():
        assert (units[unit].measures, units[unit].zones, units[unit].replications) == (measures, reached, rows)


def test_centrality_command(cli):
    result = cli("centrality", "--of", "unit", "--format", "json")
    assert result.code == 0, result.err
    assert {row["node"]["curie"] for row in json.loads(result.out)} >= {"unit:fj-drc", "unit:fj-doc"}


# --- a small graph whose every number can be worked out on paper --------------------------------

FIXTURE = """
@prefix pkb: <https://w3id.org/policykb/def#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix eli: <http://data.europa.eu/eli/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix status: <https://w3id.org/policykb/concept/status/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <https://example.org/> .

ex:z1 a pkb:InnovationPromotionPilotZone ; skos:prefLabel "甲区"@zh ; skos:notation "z1" ; pkb:inProvince ex:p .
ex:z2 a pkb:InnovationPromotionPilotZone ; skos:prefLabel "乙区"@zh ; skos:notation "z2" ; pkb:inProvince ex:p .
ex:b a pkb:MeasureBatch ; eli:id_local "批次1" ; eli:passed_by ex:issuer ; pkb:itemCount 10 .
ex:entry a pkb:CatalogueEntry ; pkb:lists ex:b ; pkb:catalogueSeq 1 .
ex:m1 a pkb:Measure ; skos:notation "M1" ; skos:prefLabel "举措一"@zh ; pkb:publishedIn ex:b ; pkb:responsibleUnit ex:u1 .
ex:m2 a pkb:Measure ; skos:notation "M2" ; skos:prefLabel "举措二"@zh ; pkb:publishedIn ex:b ; pkb:responsibleUnit ex:u2 .
ex:r1 a pkb:Replication ; pkb:zone ex:z1 ; pkb:measure ex:m1 ; pkb:year 2021 ; dcterms:date "2021-03-01"^^xsd:date .
ex:r2 a pkb:Replication ; pkb:zone ex:z2 ; pkb:measure ex:m1 ; pkb:year 2021 ; pkb:replicationStatus status:replicated .
ex:r3 a pkb:Replication ; pkb:zone ex:z2 ; pkb:measure ex:m2 ; pkb:year 2021 ;
    pkb:replicationStatus status:not-replicated ; pkb:reasonNotReplicated "缺少承接主体" .
ex:r4 a pkb:Replication ; pkb:zone ex:z1 ; pkb:measure ex:m2 ; pkb:year 2020 .
"""


@pytest.fixture
def small():
    store = OxigraphStore()
    ontology = Layout.bundled().ontology / "policykb.ttl"
    store.put("ontology/policykb.ttl", parse_turtle(ontology))
    store.put("kb/fixture.ttl", parse_turtle_text(FIXTURE, "fixture.ttl"))
    return store, ReplicationGraph(store)


def test_not_replicated_rows_never_count(small):
    _, graph = small
    z2 = graph.zone("乙区")
    assert [m.notation for m in graph.measures(z2)] == ["M1"]  # r2 is status:replicated, r3 is 否
    [gap] = graph.gaps(z2).gaps
    assert (gap.notation, gap.peers_with, gap.reported_not_replicated) == ("M2", 1, "缺少承接主体")
    assert [u.id for u in gap.units] == ["https://example.org/u2"]
    coverage = {c.zone.label: (c.replicated, c.share_of_named, c.share_of_items) for c in graph.coverage()}
    assert coverage == {"甲区": (2, Decimal("1.0000"), Decimal("0.2000")), "乙区": (1, Decimal("0.5000"), Decimal("0.1000"))}


def test_an_undated_adoption_ranks_with_the_first_of_its_year(small):
    _, graph = small
    [m1] = graph.diffusion(graph.measure("M1"))
    assert [(a.zone.label, a.rank) for a in m1.adoptions] == [("甲区", 1), ("乙区", 1)]
    [m2] = graph.diffusion(graph.measure("M2"))
    assert [(a.zone.label, a.rank, a.year) for a in m2.adoptions] == [("甲区", 1, 2020)]


def test_betweenness_and_degree_in_a_small_network(small):
    # network: 甲区–M1, 乙区–M1, 甲区–M2, M1–u1, M2–u2 (a tree of 6 nodes; normalised by (6−1)(6−2)/2 = 10 pairs)
    # 甲区 lies on the paths between {M2, u2} and {M1, 乙区, u1}: 6 pairs → 0.6; degree 2/5 = 0.4.
    _, graph = small
    zones = {c.node.label: c for c in graph.centrality(of="zone")}
    assert (zones["甲区"].betweenness, zones["甲区"].degree) == (0.6, 0.4)
    assert (zones["乙区"].betweenness, zones["乙区"].degree) == (0.0, 0.2)
    assert (zones["甲区"].leads, zones["乙区"].leads) == (2, 1)  # M1 shared (same year, 乙区 undated), M2
    units = {c.node.id: c for c in graph.centrality(of="unit")}
    assert (units["https://example.org/u1"].zones, units["https://example.org/u1"].replications) == (2, 2)
    assert (units["https://example.org/u2"].zones, units["https://example.org/u2"].degree) == (1, 0.2)


def test_the_graph_follows_the_store(small):
    store, graph = small
    z2 = graph.zone("z2")
    assert [m.notation for m in graph.measures(z2)] == ["M1"]
    # same number of triples, one value changed: 否 becomes 是
    store.put("kb/fixture.ttl", parse_turtle_text(FIXTURE.replace("status:not-replicated", "status:replicated"),
                                                  "fixture.ttl"))
    assert [m.notation for m in graph.measures(z2)] == ["M1", "M2"]
    store.remove("kb/fixture.ttl")
    with pytest.raises(UsageError):
        graph.zone("z2")
