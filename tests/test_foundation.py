"""The foundation: the ontology and knowledge base load, validate, and answer SPARQL about the catalogue."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import read_yaml
from policykb.errors import TurtleSyntaxError
from policykb.kb.layout import Layout
from policykb.kb.load import load
from policykb.kb.queries import library, run
from policykb.kb.store import OxigraphStore
from rdflib import Graph


def test_bundled_knowledge_base_validates(cli):
    result = cli("validate")
    assert result.code == 0, result.err
    assert "valid:" in result.err and "0 violation(s)" in result.err


def test_catalogue_query_lists_the_16_documents_with_their_counts(kb):
    expected = read_yaml("catalogue.yaml")
    query = library(kb.layout.queries)["catalogue-documents"]
    rows = list(run(kb.store, query))
    got = [
        {"seq": int(r.seq), "number": str(r.number), "items": int(r.items), "year": int(r.year),
         "section": str(r.section), "derived": bool(r.derived.toPython())}
        for r in rows
    ]
    want = [dict(e, derived=e.get("derived", False)) for e in expected["entries"]]
    assert got == want
    assert sum(r["items"] for r in got) == expected["total"] == 335
    for section, total in expected["sections"].items():
        assert sum(r["items"] for r in got if r["section"] == section) == total


def test_catalogue_rows_name_issuer_and_address(kb):
    rows = {str(r.number): r for r in run(kb.store, library(kb.layout.queries)["catalogue-documents"])}
    assert str(rows["商资函〔2017〕515号"].issuer).split("、") == sorted(
        ["商务部", "交通运输部", "国家工商行政管理总局", "国家质量监督检验检疫总局", "国家外汇管理局"],
        key=str(rows["商资函〔2017〕515号"].issuer).index)
    assert str(rows["闽政〔2017〕33号"].issuer) == "福建省人民政府"
    assert str(rows["闽科综〔2020〕2号"].page) == "https://www.china-fjftz.gov.cn/article/index/aid/14312.html"
    assert str(rows["国发〔2014〕65号"].page) == "http://www.gov.cn/zhengce/content/2015-01/29/content_9437.htm"


def test_rubric_rows_are_clauses_with_points_and_text(kb):
    rows = list(kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        SELECT ?code ?max ?text WHERE {
          ?c pkb:indicatorLevel 3 ; pkb:code ?code ; pkb:maxPoints ?max ; pkb:text ?text ;
             <http://data.europa.eu/eli/ontology#is_part_of>+ <https://w3id.org/policykb/doc/fj-ftzo-2021-1/att2> }"""))
    points = {str(r.code): int(r.max) for r in rows}
    assert points == {"B1": 5, "B2": 5, "B3": 5, "B4": 12, "B5": 8, "B6": 4, "B7": 3, "B8": 4, "B9": 4,
                      "B10": 10, "B11": 5, "B12": 6, "B13": 4, "B14": 3, "B15": 2, "B16": 5, "B17": 5, "B18": 10}
    assert sum(points.values()) == 100
    texts = {str(r.code): str(r.text) for r in rows}
    assert "每获得100万元支持得1分" in texts["B9"]
    assert "进步10名以上得7分" in texts["B18"]


def test_zhejiang_indicators_are_clauses(kb):
    rows = list(kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        PREFIX eli: <http://data.europa.eu/eli/ontology#>
        SELECT ?code ?title WHERE { ?c eli:is_part_of <https://w3id.org/policykb/doc/zj-ftzo-2022-0505/att4> ;
                                      pkb:code ?code ; eli:title ?title } ORDER BY ?code"""))
    assert [(str(r.code), str(r.title)) for r in rows] == [
        ("1", "亩均税收绝对值"), ("2", "亩均研发百分比"), ("3", "进出口总额占比"), ("4", "进出口总额增速"),
        ("5", "实际使用外资占比"), ("6", "实际使用外资增速"), ("7", "万元工业增加值能耗下降率")]


def test_units_named_in_the_fujian_tasks_are_loaded(kb):
    rows = kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        SELECT ?short WHERE { <https://w3id.org/policykb/doc/fj-ftzo-2021-1/task/3> pkb:responsibleUnit ?u .
                              OPTIONAL { ?u pkb:shortName ?short } }""")
    shorts = {str(r.short) for r in rows if r.short is not None}
    assert {"省发改委", "科技厅", "工信厅", "财政厅", "人社厅", "商务厅", "国资委"} <= shorts


def test_fields_named_as_examples_carry_their_scope(kb):
    rows = kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?label ?scope WHERE { ?f skos:inScheme pkb:FieldScheme ; skos:prefLabel ?label ;
                                        pkb:typicalScope/skos:notation ?scope . FILTER(lang(?label) = "zh") }""")
    by_scope = {}
    for r in rows:
        by_scope.setdefault(str(r.scope), set()).add(str(r.label))
    assert by_scope["cross"] == {"单一窗口", "多规合一", "证照分离", "投资管理制度改革", "工程建设项目审批改革", "综合治理与服务"}
    assert by_scope["special"] == {"企业用地", "环评", "用电", "用水", "消防", "办税", "进出口"}


def test_sample_data_is_marked_and_large_enough(kb):
    zones = kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        SELECT ?z ?inside WHERE { ?z a pkb:InnovationPromotionPilotZone ; pkb:sampleData true .
          BIND (EXISTS { ?z pkb:partOfZone*/(pkb:withinFTZArea|pkb:overlapsFTZArea) ?a } AS ?inside) }""")
    zones = list(zones)
    assert len(zones) >= 12
    assert sum(1 for r in zones if r.inside.toPython()) == 3
    scopes = kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?scope (COUNT(?m) AS ?n) WHERE { ?m a pkb:Measure ; pkb:sampleData true ; pkb:scope/skos:notation ?scope }
        GROUP BY ?scope""")
    counts = {str(r.scope): int(r.n) for r in scopes}
    assert counts == {"cross": 17, "special": 17}
    unmarked = kb.query("""
        SELECT ?s WHERE { ?s a ?t . FILTER(STRSTARTS(STR(?s), "https://w3id.org/policykb/sample/"))
                          FILTER NOT EXISTS { ?s <https://w3id.org/policykb/def#sampleData> true } }""")
    assert list(unmarked) == []


def test_info_counts_what_is_loaded(cli):
    result = cli("info", "--format", "json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["catalogue items"] == 335
    assert info["named measures"] == 49  # 5 real (shared/reference) + 34 Fujian sample + 10 Zhejiang sample
    assert info["units"] >= 20
    assert info["triples"] > 2000
    assert "rules/fujian-2021.yaml" in info["rule_files"]


# --- bad input ------------------------------------------------------------------------------

def test_broken_turtle_names_file_line_and_column(cli, kb_dir):
    bad = kb_dir / "kb" / "zones" / "broken.ttl"
    bad.write_text('@prefix pkb: <https://w3id.org/policykb/def#> .\n\n'
                   '<https://w3id.org/policykb/zone/x> pkb:inCity "unterminated .\n', encoding="utf-8")
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    assert re.search(r"kb/zones/broken\.ttl:3:\d+: Turtle syntax error", result.err), result.err
    assert "hint:" in result.err


def test_unbound_prefix_is_reported_with_its_line(cli, kb_dir):
    bad = kb_dir / "kb" / "zones" / "broken.ttl"
    bad.write_text('@prefix pkb: <https://w3id.org/policykb/def#> .\n'
                   'zone:x a pkb:DevelopmentZone .\n', encoding="utf-8")
    result = cli("info", "--kb", kb_dir)
    assert result.code == 1
    assert "kb/zones/broken.ttl:2:" in result.err
    assert "declare the prefix" in result.err


def test_failed_load_leaves_the_store_as_it_was(kb_dir):
    store = OxigraphStore()
    load(Layout.at(kb_dir), store=store)
    before = (store.graph_names(), store.triple_count())
    (kb_dir / "kb" / "zz-broken.ttl").write_text("this is not turtle\n", encoding="utf-8")
    with pytest.raises(TurtleSyntaxError):
        load(Layout.at(kb_dir), store=store)
    assert (store.graph_names(), store.triple_count()) == before


def _add(kb_dir: Path, name: str, text: str) -> None:
    prefixes = """@prefix pkb: <https://w3id.org/policykb/def#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix place: <https://w3id.org/policykb/place/> .
@prefix doc: <https://w3id.org/policykb/doc/> .
"""
    (kb_dir / "kb" / name).write_text(prefixes + text, encoding="utf-8")


def test_measure_without_document_is_rejected(cli, kb_dir):
    _add(kb_dir, "orphan.ttl", '\n<https://w3id.org/policykb/measure/orphan> a pkb:Measure ;\n'
                               '    skos:prefLabel "无出处的举措"@zh .\n')
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    assert "kb/orphan.ttl:6: violation: measure:orphan (无出处的举措) — pkb:publishedIn" in result.err
    assert "Every measure must belong to exactly one batch document" in result.err
    assert "add pkb:publishedIn doc:" in result.err


def test_zone_without_city_is_rejected(cli, kb_dir):
    _add(kb_dir, "cityless.ttl", '\n<https://w3id.org/policykb/zone/cityless> a pkb:DevelopmentZone ;\n'
                                 '    skos:prefLabel "无城市开发区"@zh .\n')
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    assert "kb/cityless.ttl:6: violation: zone:cityless (无城市开发区) — pkb:inCity" in result.err
    assert "Every zone must name the one city" in result.err


def test_zone_without_type_is_rejected(cli, kb_dir):
    _add(kb_dir, "untyped.ttl", '\n<https://w3id.org/policykb/zone/untyped> skos:prefLabel "无类型"@zh ;\n'
                                '    pkb:withinFTZArea <https://w3id.org/policykb/zone/fj-ftz-fuzhou> .\n')
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    assert "zone:untyped (无类型)" in result.err
    assert "Every zone needs a type" in result.err


def test_catalogue_counts_that_do_not_add_up_are_rejected(cli, kb_dir):
    path = kb_dir / "kb" / "catalogue" / "fujian-2021-catalogue.ttl"
    text = path.read_text(encoding="utf-8")
    assert "pkb:year 2016 ; pkb:itemCount 19 ;" in text
    path.write_text(text.replace("pkb:year 2016 ; pkb:itemCount 19 ;", "pkb:year 2016 ; pkb:itemCount 20 ;"), encoding="utf-8")
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    assert "add up to 145 items, but the section states 144" in result.err
    assert "add up to 336 items, but it states 335" in result.err
    assert re.search(r"kb/catalogue/fujian-2021-catalogue\.ttl:\d+: violation: .*att1/section-1", result.err)


def test_more_named_measures_than_the_batch_count_is_rejected(cli, kb, kb_dir):
    named = int(next(iter(kb.query(
        "SELECT (COUNT(?m) AS ?n) WHERE { ?m <https://w3id.org/policykb/def#publishedIn> "
        "<https://w3id.org/policykb/doc/mkz-2020-2> }"))).n)
    extra = 5 - named + 1  # one more than the 5 items of 闽科综〔2020〕2号
    lines = [f'\n<https://w3id.org/policykb/measure/extra-{i}> a pkb:Measure ; skos:prefLabel "额外{i}"@zh ;'
             f' pkb:publishedIn doc:mkz-2020-2 .' for i in range(extra)]
    _add(kb_dir, "extra.ttl", "\n".join(lines) + "\n")
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    assert "names 6 measures in this batch, more than the 5 items" in result.err


def test_unknown_kb_directory_is_a_clear_error(cli, tmp_path):
    result = cli("info", "--kb", tmp_path / "nowhere")
    assert result.code == 1
    assert "does not exist" in result.err


# --- vocabulary discipline --------------------------------------------------------------------

def test_every_pkb_term_used_in_code_is_defined_in_the_ontology(kb):
    import policykb

    engine = Path(policykb.__file__).parent
    used = set()
    for path in engine.rglob("*.py"):
        used |= set(re.findall(r"\bPKB\.([A-Za-z_][A-Za-z0-9_]*)", path.read_text(encoding="utf-8")))
    ontology = Graph()
    for path in kb.layout.ontology.glob("policykb.ttl"):
        ontology.parse(path)
    defined = {str(s).split("#", 1)[1] for s in ontology.subjects() if str(s).startswith("https://w3id.org/policykb/def#")}
    assert used, "the engine should refer to the vocabulary through PKB"
    assert used - defined == set()
