"""The vocabulary page: docs/vocabulary.md is what `policykb docs vocabulary` writes, it lists every class and
property of the ontology, and the ontology says which classes each property links — truthfully."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import rdflib.namespace
from policykb.kb.layout import Layout
from policykb.kb.glossary import Term, Vocabulary, vocabulary
from policykb.report.vocabulary import markdown, page_html
from rdflib import Graph, Literal
from rdflib.namespace import OWL, RDF, RDFS

# rdflib's closed namespaces (SDO, XSD) are named through rdflib.namespace: pytest, looking for fixtures among a
# test module's names, would ask them for attributes they do not have and warn

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "vocabulary.md"
PKB = "https://w3id.org/policykb/def#"


@pytest.fixture(scope="module")
def terms(kb) -> Vocabulary:
    return vocabulary(kb)


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(Layout.bundled().ontology / "policykb.ttl")


def _local(iri) -> str:
    return str(iri)[len(PKB):]


def test_the_committed_page_is_what_the_command_writes(terms):
    assert DOC.read_text(encoding="utf-8") == markdown(terms), (
        "docs/vocabulary.md is out of date: run `policykb docs vocabulary --out docs/vocabulary.md`")


def test_the_page_lists_every_class_and_property_of_the_ontology(ontology):
    text = DOC.read_text(encoding="utf-8")
    classes = {_local(c) for c in ontology.subjects(RDF.type, OWL.Class)}
    properties = {_local(p) for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
                  for p in ontology.subjects(RDF.type, kind)}
    assert {"Measure", "Zone"} <= classes and {"inCity", "measure", "ledgerColumn"} <= properties
    listed_classes = set(re.findall(r'^<a id="class-(\w+)"></a>$', text, re.M))
    listed_properties = set(re.findall(r'^<a id="property-(\w+)"></a>$', text, re.M))
    assert listed_classes == classes
    assert listed_properties == properties
    terms_part = text.split("\n## Concept schemes\n")[0]
    headings = re.findall(r"^### pkb:(\w+)$", terms_part, re.M)
    assert sorted(headings) == sorted([*classes, *properties])


def test_the_page_lists_the_prefixes_that_queries_may_use_undeclared():
    from policykb.namespace import PREFIXES

    text = DOC.read_text(encoding="utf-8")
    for prefix, namespace in PREFIXES.items():
        assert f"| `{prefix}:` | `{namespace}` |" in text
    assert "`policykb query --file` and the SPARQL endpoint predeclare these prefixes" in text


def test_every_property_says_which_classes_it_links(ontology):
    missing = []
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty):
        for prop in ontology.subjects(RDF.type, kind):
            domain = set(ontology.objects(prop, RDFS.domain)) | set(ontology.objects(prop, rdflib.namespace.SDO.domainIncludes))
            range_ = set(ontology.objects(prop, RDFS.range)) | set(ontology.objects(prop, rdflib.namespace.SDO.rangeIncludes))
            if not domain or not range_:
                missing.append(_local(prop))
            if len(set(ontology.objects(prop, RDFS.domain))) > 1 or len(set(ontology.objects(prop, RDFS.range))) > 1:
                missing.append(f"{_local(prop)} (several rdfs:domain or rdfs:range: write schema:…Includes)")
    assert missing == []


def test_the_knowledge_base_uses_every_property_within_its_domain_and_range(kb, ontology):
    """Each statement's subject is of (a subclass of) a domain class, its object of a range class or datatype;
    xsd:integer values are decimals too. rdfs:Resource and rdf:Property domains accept anything."""
    types: dict = {}
    for row in kb.query("SELECT ?x ?type WHERE { ?x a ?type }"):
        types.setdefault(row.x, set()).update(ontology.transitive_objects(row.type, RDFS.subClassOf))
    uses = kb.query("SELECT ?p ?s ?o WHERE { ?s ?p ?o FILTER (STRSTARTS(STR(?p), STR(pkb:))) }")
    anything = {RDFS.Resource, RDF.Property, OWL.Class}
    wrong = set()
    for row in uses:
        prop, subject, value = row.p, row.s, row.o
        domain = set(ontology.objects(prop, RDFS.domain)) | set(ontology.objects(prop, rdflib.namespace.SDO.domainIncludes))
        range_ = set(ontology.objects(prop, RDFS.range)) | set(ontology.objects(prop, rdflib.namespace.SDO.rangeIncludes))
        if not domain:
            continue  # not a property of the ontology (test_every_property_says_which_classes_it_links)
        if not domain & anything and not types.get(subject, set()) & domain:
            wrong.add((_local(prop), "subject", str(subject)))
        if isinstance(value, Literal):
            if not _fits(value, range_):
                wrong.add((_local(prop), "value", f"{value!r}"))
        elif not range_ & anything and not types.get(value, set()) & range_:
            wrong.add((_local(prop), "value", str(value)))
    assert sorted(wrong) == []


def _fits(value: Literal, range_: set) -> bool:
    """A literal is in a datatype range when its datatype is the range's or one derived from it (an integer is
    a decimal), or when its value lies in the range's value space (102 is a nonNegativeInteger)."""
    xsd = rdflib.namespace.XSD
    datatype = value.datatype or (RDF.langString if value.language else xsd.string)
    if datatype in range_ or (datatype == xsd.integer and xsd.decimal in range_):
        return True
    return datatype == xsd.integer and xsd.nonNegativeInteger in range_ and value.toPython() >= 0


def test_in_city_says_it_links_zones_and_counties(terms):
    entry = next(t for t in terms.properties if t.curie == "pkb:inCity")
    assert (entry.domain, entry.domain_is_one_of, entry.range) == (("pkb:County", "pkb:Zone"), True,
                                                                    ("pkb:PrefectureLevelArea",))
    assert "queries/zones-in-city.rq" in entry.definition
    # kb/places/places.ttl: the real subjects of pkb:inCity in IRI order start with the county place:fuqing
    assert (entry.example.subject, entry.example.value, entry.example.file) == ("place:fuqing", "place:fuzhou",
                                                                                 "kb/places/places.ttl")
    shapes = {c.shape: c.rules for c in entry.constraints}
    assert shapes == {"shape:County": ("exactly 1", "each a pkb:PrefectureLevelArea"),
                      "shape:LocatedZone": ("exactly 1", "each a pkb:PrefectureLevelArea")}


def test_a_class_entry_has_labels_constraints_and_an_example(terms):
    entry = next(t for t in terms.classes if t.curie == "pkb:Measure")
    assert (entry.label_zh, entry.label_en, entry.parents) == ("可复制创新举措", "replicable measure", ("prov:Entity",))
    assert entry.properties == ("pkb:field", "pkb:publishedIn", "pkb:responsibleUnit", "pkb:scope", "pkb:seq")
    assert entry.values_of == ("pkb:measure",)
    by_path = {c.path: c.rules for c in entry.constraints}  # ontology/shapes.ttl, shape:Measure
    assert by_path == {
        "pkb:publishedIn": ("exactly 1", "each a pkb:MeasureBatch"),
        "skos:prefLabel": ("at least 1",),
        "pkb:scope": ("at most 1", "each a skos:Concept", "conforms to shape:ScopeConcept (skos:inScheme includes pkb:ScopeScheme)"),
        "pkb:responsibleUnit": ("each a org:Organization",),
    }
    # the real measures (kb/measures/reference-measures.ttl) come before the SAMPLE ones; the first IRI is
    # measure:gf-2018-12-bonded-ore-blending
    assert (entry.example.subject, entry.example.subject_label, entry.example.sample) == (
        "measure:gf-2018-12-bonded-ore-blending", "保税混矿监管创新", False)


def test_a_leading_group_needs_exactly_one_leader(terms):
    entry = next(t for t in terms.classes if t.curie == "pkb:LinkageZoneLeadingGroup")
    rules = {c.path: c.rules for c in entry.constraints}
    assert rules["^org:postIn"] == ("exactly 1 with org:role includes https://w3id.org/policykb/concept/group-role/leader",)
    assert rules["^pkb:leadingGroup"] == ("exactly 1", "each a pkb:LinkageInnovationZone")
    assert entry.checked_by == ("shape:Organization (on org:Organization)",)


def test_scope_codes_are_listed_with_what_ledgers_may_write(terms):
    scheme = next(s for s in terms.schemes if s.curie == "pkb:ScopeScheme")
    assert [(c.code, c.label_zh, c.also_written) for c in scheme.concepts] == [
        ("cross", "跨区域、跨部门、跨层级", ("跨区域", "跨区域跨部门跨层级")),  # pkb:ledgerAlias in the ontology
        ("special", "专项", ()),
    ]


# --- HTML ---------------------------------------------------------------------------------------------

class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.tags, self.open = [], [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])
        if tag not in ("meta", "br"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing open"


def test_the_html_page_has_an_entry_for_every_term_and_every_link_lands(terms):
    page = _Page()
    page.feed(page_html(terms))
    assert page.open == []
    assert len(page.ids) == len(set(page.ids))
    entries = {i for i in page.ids if i.startswith(("class-", "property-"))}
    assert len(entries) == len(terms.classes) + len(terms.properties)
    assert set(page.links) <= set(page.ids)
    assert "script" not in page.tags


def test_text_from_the_knowledge_base_is_escaped(terms):
    hostile = Term(iri=PKB + "X", curie="pkb:X", kind="class", label_zh="<b>粗</b>", label_en="a | b",
                   definition='</p><script>alert(1)</script> *not emphasis* [not](link)', also=(), parents=(),
                   children=(), domain=(), domain_is_one_of=False, range=(), range_is_one_of=False, inverse="",
                   annotations=(), sources=(), constraints=(), checked_by=(), example=None)
    page = Vocabulary(terms.title, terms.version, "", terms.prefixes, (hostile,), (), (), ())
    text = page_html(page)
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;b&gt;粗&lt;/b&gt;" in text
    md = markdown(page)
    assert "\\</p>\\<script>alert(1)\\</script> \\*not emphasis\\* \\[not\\](link)" in md


# --- the command --------------------------------------------------------------------------------------

def test_the_command_writes_markdown_and_html(cli, tmp_path, ontology):
    result = cli("docs", "vocabulary", "--out", tmp_path / "v.md")
    assert result.code == 0, result.err
    assert (tmp_path / "v.md").read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
    classes = len(set(ontology.subjects(RDF.type, OWL.Class)))
    properties = len({p for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
                      for p in ontology.subjects(RDF.type, kind)})
    assert f"wrote {tmp_path / 'v.md'}: {classes} classes, {properties} properties" in result.err
    result = cli("docs", "vocabulary", "--format", "html", "--out", tmp_path / "v.html")
    assert result.code == 0, result.err
    text = (tmp_path / "v.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<section class="term" id="property-inCity">' in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.html", "v.md"]  # no temporary file left behind


def test_the_command_refuses_a_folder_that_does_not_exist(cli, tmp_path):
    result = cli("docs", "vocabulary", "--out", tmp_path / "missing" / "v.md")
    assert result.code == 2
    assert "the folder" in result.err and "does not exist" in result.err


def test_the_readme_lists_the_prefixes_and_says_queries_need_not_declare_them():
    from policykb.namespace import PREFIXES

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `(\w+):` \| `([^`]+)` \|", readme, re.M))
    assert listed == {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}
    assert "have these\nprefixes predeclared" in readme and "(library queries and `--file`)" in readme
