"""The organisation of the Zhejiang FTZ linkage innovation zones (issue 5; zj-ftzo-2022-0505 三（一）（二),
attachments 1 and 2): leading groups with their posts and member units, carrier platforms and work tasks,
in the ontology, the sample data (kb/sample/zhejiang-organisation.ttl), the shapes and the query library."""

from __future__ import annotations

import json
import re

import pytest
from policykb.kb.layout import Layout
from policykb.kb.validate import validate
from policykb.namespace import PKB, SAMPLE
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

ORGANISATION = Layout.bundled().kb / "sample" / "zhejiang-organisation.ttl"
NOTICE = "https://w3id.org/policykb/doc/zj-ftzo-2022-0505"
LEADER = URIRef("https://w3id.org/policykb/concept/group-role/leader")
SAMPLE_ZONES = ["zj-a", "zj-b", "zj-c", "zj-d", "zj-e"]
CITIES = {"zj-a": "杭州", "zj-b": "宁波", "zj-c": "温州", "zj-d": "嘉兴", "zj-e": "金华"}


def test_the_sample_organisation_validates(kb):
    assert validate(kb) == []


def test_new_terms_have_chinese_and_english_labels(kb):
    terms = ["LinkageZoneLeadingGroup", "CarrierPlatform", "WorkTask", "LeadingGroupRoleScheme", "officeTitle",
             "administers", "workTaskOf", "onPlatform", "implementsTask"]
    for name in terms:
        languages = {label.language for label in kb.ontology.objects(PKB[name], RDFS.label)}
        assert {"zh", "en"} <= languages, name
    for role in ("leader", "deputy-leader"):
        iri = URIRef(f"https://w3id.org/policykb/concept/group-role/{role}")
        assert {label.language for label in kb.ontology.objects(iri, SKOS.prefLabel)} == {"zh", "en"}


def test_every_resource_of_the_sample_file_is_marked_and_says_sample():
    graph = Graph().parse(ORGANISATION)
    described = set(graph.subjects(RDF.type, None))
    assert len(described) == 59  # 5 groups, 12 posts, 20 units, 10 platforms, 12 work tasks (the file's header)
    for resource in described:
        assert str(resource).startswith(str(SAMPLE)), resource
        assert (resource, PKB.sampleData, Literal(True)) in graph, resource
        labels = [str(label) for label in graph.objects(resource, SKOS.prefLabel) if label.language == "zh"]
        assert labels and all(label.startswith("样例·") for label in labels), resource


_GROUPS = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?group ?name (COUNT(DISTINCT ?leader) AS ?leaders) WHERE {
  ?zone pkb:leadingGroup ?group .
  ?group a pkb:LinkageZoneLeadingGroup ; skos:prefLabel ?name . FILTER (lang(?name) = "zh")
  OPTIONAL { ?leader org:postIn ?group ; org:role <https://w3id.org/policykb/concept/group-role/leader> ;
                     pkb:officeTitle ?title }
} GROUP BY ?group ?name"""


@pytest.mark.parametrize("zone", SAMPLE_ZONES)
def test_each_sample_zone_has_one_leading_group_with_one_leader(kb, zone):
    rows = list(kb.query(_GROUPS, {"zone": SAMPLE[f"zone-{zone}"]}))
    assert len(rows) == 1
    assert str(rows[0].name) == f"样例·{CITIES[zone]}甲联动创新区建设工作领导小组"
    assert int(rows[0].leaders) == 1


def test_work_tasks_implement_the_key_tasks_of_the_notice(kb):
    rows = kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        SELECT ?task ?key WHERE { ?task a pkb:WorkTask ; pkb:implementsTask ?key }""")
    keys = {}
    for row in rows:
        keys.setdefault(str(row.task), set()).add(str(row.key))
    assert len(keys) == 12
    assert set().union(*keys.values()) == {f"{NOTICE}/task/{n}" for n in range(1, 6)}  # every key task is used


# --- bad input: each mistake is reported with its file, line and what to write --------------------

_PREFIXES = """@prefix pkb: <https://w3id.org/policykb/def#> .
@prefix sample: <https://w3id.org/policykb/sample/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix task: <https://w3id.org/policykb/doc/zj-ftzo-2022-0505/task/> .
"""

# (focus, Turtle, what the message says): each is written to one file, validated once.
BAD = [
    ("sample:work-task-bad-unit",
     'sample:work-task-bad-unit a pkb:WorkTask ; skos:prefLabel "样例·无责任单位"@zh ;\n'
     '    dcterms:description "样例：未填责任单位。"@zh ; pkb:workTaskOf sample:zone-zj-a ;\n'
     '    pkb:implementsTask task:1 ; pkb:onPlatform sample:platform-zj-a-etdz ; pkb:sampleData true .',
     "A work task needs at least one responsible unit (附件2 责任单位)"),
    ("sample:group-bad-zone",
     'sample:group-bad-zone a pkb:LinkageZoneLeadingGroup ; skos:prefLabel "样例·无片区领导小组"@zh ;\n'
     '    org:hasMember sample:unit-hangzhou-commerce ; pkb:sampleData true .\n'
     'sample:group-bad-zone-leader a org:Post ; skos:prefLabel "样例·无片区领导小组组长"@zh ;\n'
     '    org:postIn sample:group-bad-zone ; org:role <https://w3id.org/policykb/concept/group-role/leader> ;\n'
     '    pkb:officeTitle "市长"@zh ; pkb:sampleData true .',
     "A linkage zone's leading group belongs to exactly one linkage innovation zone (附件1 片区名称)"),
    ("sample:group-bad-leader",
     'sample:zone-zj-b-bis a pkb:LinkageInnovationZone ; skos:prefLabel "样例·宁波乙联动创新区"@zh ;\n'
     '    pkb:inCity <https://w3id.org/policykb/place/ningbo> ; pkb:leadingGroup sample:group-bad-leader ;\n'
     '    pkb:sampleData true .\n'
     'sample:group-bad-leader a pkb:LinkageZoneLeadingGroup ; skos:prefLabel "样例·无组长领导小组"@zh ;\n'
     '    org:hasMember sample:unit-ningbo-drc ; pkb:sampleData true .',
     "A leading group has exactly one leader (组长)"),
    ("sample:post-bad-person",
     'sample:post-bad-person a org:Post ; skos:prefLabel "样例·写了人名的副组长"@zh ;\n'
     '    org:postIn sample:group-zj-e ; org:role <https://w3id.org/policykb/concept/group-role/deputy-leader> ;\n'
     '    pkb:officeTitle "副市长"@zh ; org:heldBy sample:person-x ; pkb:sampleData true .',
     "Do not name the person who holds a post"),
    ("sample:platform-bad",
     'sample:platform-bad a pkb:CarrierPlatform , pkb:DevelopmentZone ; skos:prefLabel "样例·无片区平台"@zh ;\n'
     '    pkb:inCity <https://w3id.org/policykb/place/wenzhou> ; pkb:sampleData true .',
     "A carrier platform is named by the linkage innovation zone it carries"),
    ("sample:work-task-bad-platform",
     'sample:work-task-bad-platform a pkb:WorkTask ; skos:prefLabel "样例·他区平台"@zh ;\n'
     '    dcterms:description "样例：平台属于另一片区。"@zh ; pkb:workTaskOf sample:zone-zj-c ;\n'
     '    pkb:implementsTask task:4 ; pkb:responsibleUnit sample:unit-wenzhou-commerce ;\n'
     '    pkb:onPlatform sample:platform-zj-d-etdz ; pkb:sampleData true .',
     "The carrier platform sample:platform-zj-d-etdz is not one of the carrier platforms of the task's zone "
     "sample:zone-zj-c"),
    ("sample:work-task-bad-member",
     'sample:work-task-bad-member a pkb:WorkTask ; skos:prefLabel "样例·非成员单位"@zh ;\n'
     '    dcterms:description "样例：责任单位不是成员单位。"@zh ; pkb:workTaskOf sample:zone-zj-c ;\n'
     '    pkb:implementsTask task:5 ; pkb:responsibleUnit sample:unit-jinhua-drc ;\n'
     '    pkb:onPlatform sample:platform-zj-c-etdz ; pkb:sampleData true .',
     "The responsible unit sample:unit-jinhua-drc is not a member unit (成员单位) of the leading group "
     "sample:group-zj-c"),
    ("sample:work-task-bad-key",
     'sample:work-task-bad-key a pkb:WorkTask ; skos:prefLabel "样例·无重点任务"@zh ;\n'
     '    dcterms:description "样例：未写落实哪项重点任务。"@zh ; pkb:workTaskOf sample:zone-zj-c ;\n'
     '    pkb:responsibleUnit sample:unit-wenzhou-drc ; pkb:onPlatform sample:platform-zj-c-etdz ;\n'
     '    pkb:sampleData true .',
     "A work task names the key task of the notice it implements (二、重点任务)"),
]


def test_organisation_mistakes_are_reported_with_file_line_and_message(cli, kb_dir):
    text = _PREFIXES + "".join(f"\n{turtle}\n" for _focus, turtle, _message in BAD)
    lines = {focus: next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith(f"{focus} "))
             for focus, _turtle, _message in BAD}  # where the focus is first described
    (kb_dir / "kb" / "sample" / "bad-organisation.ttl").write_text(text, encoding="utf-8")
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    for focus, _turtle, message in BAD:
        pattern = rf"kb/sample/bad-organisation\.ttl:{lines[focus]}: violation: {re.escape(focus)} [^\n]*\n  [^\n]*{re.escape(message)}"
        assert re.search(pattern, result.err), (focus, result.err)
    assert f"{len(BAD)} violation(s)" in result.err  # nothing else is reported, and the bundled data stays valid


def test_removing_a_responsible_unit_from_the_sample_is_reported(cli, kb_dir):
    path = kb_dir / "kb" / "sample" / "zhejiang-organisation.ttl"
    text = path.read_text(encoding="utf-8")
    line = "    pkb:responsibleUnit sample:unit-hangzhou-drc ;\n"
    assert text.count(line) == 1
    path.write_text(text.replace(line, ""), encoding="utf-8")
    task_line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("sample:work-task-zj-a-3 "))
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    assert (f"kb/sample/zhejiang-organisation.ttl:{task_line}: violation: sample:work-task-zj-a-3 "
            "(样例·承接省级管理权限下放) — pkb:responsibleUnit") in result.err
    assert "1 violation(s)" in result.err


# --- the query ------------------------------------------------------------------------------------

def test_query_lists_a_zones_organisation(cli):
    result = cli("query", "linkage-zone-organisation", "--param", "zone=sample:zone-zj-b", "--format", "json")
    assert result.code == 0, result.err
    [row] = json.loads(result.out)
    assert (row["group"], row["leader"], row["deputies"], row["members"]) == (
        str(SAMPLE["group-zj-b"]), "常务副市长", 1, 4)
    assert set(row["platforms"].split("、")) == {"样例·宁波甲经济技术开发区", "样例·宁波甲临空经济示范区"}
    assert set(row["tasks"].split("；")) == {"（一）样例·复制推广“证照分离”改革经验",
                                             "（三）样例·临空经济领域“一事一议”申请赋权"}


def test_query_zone_parameter_must_name_a_zone(cli):
    result = cli("query", "linkage-zone-organisation", "--param", "zone=sample:zone-zj-a> } UNION { ?s ?p ?o } #")
    assert result.code == 1
    assert "parameter zone: no zone 'sample:zone-zj-a> } UNION { ?s ?p ?o } #' in the knowledge base" in result.err
