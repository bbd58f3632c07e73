"""The query library and `policykb query`: every query answers as counted by hand, parameters are bound safely."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import read_yaml
from policykb.errors import QueryError
from rdflib import URIRef
from policykb.kb.layout import Layout
from policykb.kb.names import indexes
from policykb.kb.queries import (
    UpdateRefused,
    bind,
    execute,
    library,
    parse_query_file,
    plain,
    prepare,
)

CASES = read_yaml("queries.yaml")
QUERIES = Path(__file__).resolve().parents[1] / "queries"


def _rows(kb, name: str, params: dict) -> list[dict]:
    query = library(kb.layout.queries)[name]  # parsed once: policykb.queries caches query files
    bindings = bind(query, {k: str(v) for k, v in params.items()}, indexes(kb))
    result = execute(kb.store, prepare(query.text, name), bindings)
    return [{str(v): plain(row[v]) for v in result.vars} for row in result]


def test_every_library_query_has_a_hand_counted_case():
    named = {path.stem for path in QUERIES.glob("*.rq")}
    assert named - {case["query"] for case in CASES} == set()


def _with_trace(setup: dict):
    """A fresh knowledge base holding the PROV-O trace of one zone's score (as `policykb explain --format
    turtle` writes it), for the queries that read traces."""
    from policykb.kb.layout import Layout
    from policykb.kb.load import load
    from policykb.scoring.evaluate import evaluate
    from policykb.scoring.explain import trace_graph
    from policykb.scoring.schemes import read_scheme

    fresh = load(Layout.bundled(), store="memory")
    scheme = read_scheme(fresh, fresh.layout.rules / f"{setup['scheme']}.yaml")
    result = evaluate(fresh, scheme, setup["year"])
    fresh.store.put("kb/scores/trace.ttl", trace_graph(result, [result.zone(setup["zone"])]))
    return fresh


def _exact(rows: list) -> list:
    """Expected rows with YAML's floats (59.6) as the exact decimals queries answer with."""
    return [[Decimal(str(v)) if isinstance(v, float) else v for v in row] for row in rows]


def _with_published(setup: dict, directory: Path):
    """A copy of the knowledge base in which `policykb publish` has written a result, loaded again."""
    import shutil

    from policykb.cli import main
    from policykb.kb.layout import bundled_root
    from policykb.kb.load import load

    for name in ("kb", "ontology", "rules", "queries"):
        shutil.copytree(bundled_root() / name, directory / name)
    assert main(["publish", "--kb", str(directory), "--scheme", setup["scheme"], "--year", str(setup["year"]),
                 "--date", setup["date"]]) == 0
    return load(Layout.at(directory))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['query']}{c['params'] or ''}")
def test_library_query_answers_as_counted_by_hand(kb, case, tmp_path):
    if "trace" in case:
        kb = _with_trace(case["trace"])
    if "published" in case:
        kb = _with_published(case["published"], tmp_path)
    rows = _rows(kb, case["query"], case["params"])
    assert len(rows) == case["rows"]
    for column, total in case.get("sums", {}).items():
        assert sum(r[column] for r in rows) == total
    columns = case.get("columns")
    got = [[r[c] for c in columns] for r in rows] if columns else None
    if "expect" in case:
        assert got == _exact(case["expect"])
    if "expect_set" in case:
        assert sorted(got, key=repr) == sorted(_exact(case["expect_set"]), key=repr)
    for column, values in case.get("contains", {}).items():
        assert set(values) <= {r[column] for r in rows}
    for column, values in case.get("excludes", {}).items():
        assert not set(values) & {r[column] for r in rows}


# --- the command line -------------------------------------------------------------------------

def test_query_command_prints_json_rows(cli):
    result = cli("query", "replication-counts", "--param", "zone=sample:zone-fz-b", "--format", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [(r["year"], r["replications"], r["measures"]) for r in rows] == [(2020, 1, 1), (2021, 6, 6), (2021, 8, 7)]
    assert "3 row(s)" in result.err


def test_query_command_table_shows_prefixed_names(cli):
    result = cli("query", "zones-inside-ftz")
    assert result.code == 0, result.err
    assert "sample:zone-pt-a" in result.out and "样例·平潭主园区" in result.out


def test_query_list_names_every_query_with_its_parameters(cli):
    result = cli("query", "--list", "--format", "json")
    assert result.code == 0, result.err
    listed = {q["name"]: q for q in json.loads(result.out)}
    assert set(listed) == {p.stem for p in QUERIES.glob("*.rq")}
    params = {p["name"]: (p["type"], p["required"]) for p in listed["zone-replications-in-year"]["params"]}
    assert params == {"zone": ("zone", True), "year": ("integer", True)}


def test_query_show_prints_the_text(cli):
    result = cli("query", "measures-not-replicated", "--show")
    assert result.code == 0
    assert "MINUS" in result.out and "# title: Measures nobody replicated" in result.out


def test_unknown_query_name_suggests_the_closest(cli):
    result = cli("query", "zones-inside-ftzz")
    assert result.code == 2
    assert "did you mean zones-inside-ftz" in result.err


def test_missing_required_parameter_says_which(cli):
    result = cli("query", "zone-replications-in-year", "--param", "zone=sample:zone-fz-b")
    assert result.code == 1
    assert "needs the parameter year (integer)" in result.err


def test_parameter_of_the_wrong_type_is_refused(cli):
    result = cli("query", "zone-replications-in-year", "--param", "zone=sample:zone-fz-b", "--param", "year=2021; DROP")
    assert result.code == 1
    assert "must be a whole number" in result.err


# --- parameters are bound, never pasted -------------------------------------------------------

LABEL_QUERY = """# title: Zone by label
# param: label (string, required): the Chinese label
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?zone WHERE { ?zone skos:prefLabel ?name . FILTER (str(?name) = ?label) }
"""


INJECTIONS = [
    '样例·福州甲开发区" ) } UNION { ?zone ?p ?o } #',
    "x' } ; DROP ALL ; { '",
    '"}; INSERT DATA { <urn:x> <urn:y> <urn:z> } #',
    "{ ?zone ?p ?o }",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_string_parameter_cannot_change_the_query(kb, tmp_path, value):
    path = tmp_path / "label.rq"
    path.write_text(LABEL_QUERY, encoding="utf-8")
    query = parse_query_file(path)

    def zones(label: str) -> list[str]:
        return [str(r.zone) for r in execute(kb.store, prepare(query.text), bind(query, {"label": label}))]

    assert zones("样例·福州甲开发区") == ["https://w3id.org/policykb/sample/zone-fz-a"]
    assert zones(value) == []  # the value is one literal that no label equals
    assert value.rstrip(" #") not in query.text


def test_a_string_parameter_cannot_change_the_query_from_the_command_line(cli, tmp_path):
    path = tmp_path / "label.rq"
    path.write_text(LABEL_QUERY, encoding="utf-8")
    result = cli("query", "--file", path, "--param", f"label={INJECTIONS[0]}", "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == []


@pytest.mark.parametrize("value", ['doc:fj-ftzo-2021-1/att1> } UNION { ?s ?p ?o } #', "doc:x}", 'x" ;'])
def test_an_iri_parameter_holding_query_syntax_is_refused(cli, value):
    result = cli("query", "catalogue-documents", "--param", f"catalogue={value}")
    assert result.code == 1
    assert "must be an IRI" in result.err


@pytest.mark.parametrize("value", ['sample:zone-fz-b> } UNION { ?s ?p ?o } #', "sample:zone-fz-b}", 'x" ;'])
def test_a_zone_parameter_holding_query_syntax_names_no_zone(cli, value):
    result = cli("query", "replication-counts", "--param", f"zone={value}")
    assert result.code == 1
    assert f"parameter zone: no zone {value!r} in the knowledge base" in result.err


def test_bound_iri_is_a_term_not_text(kb):
    query = library(kb.layout.queries)["zones-replicating-measure"]
    with pytest.raises(QueryError):
        bind(query, {"measure": "sample:measure-c01> } ?x ?y ?z {"})


# --- syntax errors and refusals -----------------------------------------------------------------

def test_syntax_error_names_file_line_and_column(cli, tmp_path):
    path = tmp_path / "broken.rq"
    path.write_text("PREFIX pkb: <https://w3id.org/policykb/def#>\nSELECT ?m\nWHERE {\n  ?m a pkb:Measure\n"
                    "  FILTER (?m = \n}\n", encoding="utf-8")
    result = cli("query", "--file", path)
    assert result.code == 1
    assert f"{path}:5:" in result.err or f"{path}:6:" in result.err, result.err
    assert "SPARQL syntax error" in result.err and "hint:" in result.err


def test_unknown_prefix_names_its_line_and_column(tmp_path):
    with pytest.raises(QueryError) as caught:
        prepare("SELECT ?z\nWHERE {\n  ?z foo:bar ?y }\n", "mine.rq")
    assert str(caught.value).startswith("mine.rq:3:6: unknown prefix foo:")


def test_update_is_refused_not_run(kb):
    with pytest.raises(UpdateRefused):
        prepare("INSERT DATA { <urn:a> <urn:b> <urn:c> }")


@pytest.mark.parametrize("text, message", [
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE <http://127.0.0.1:9/sparql> is refused"),
    ("SELECT * FROM <http://127.0.0.1:9/data.ttl> WHERE { ?s ?p ?o }", "holds no graph <http://127.0.0.1:9/data.ttl>"),
])
def test_queries_that_would_connect_out_are_refused(cli, tmp_path, text, message):
    path = tmp_path / "remote.rq"
    path.write_text(text + "\n", encoding="utf-8")
    result = cli("query", "--file", path)
    assert result.code == 1
    assert message in result.err


def test_from_a_graph_of_the_knowledge_base_restricts_the_query(kb):
    from rdflib import Graph

    ftz = Graph().parse(Layout.bundled().kb / "zones" / "ftz.ttl")
    result = execute(kb.store, prepare("SELECT (COUNT(*) AS ?n) FROM <urn:policykb:graph:kb/zones/ftz.ttl> "
                                       "WHERE { ?s ?p ?o }"))
    assert int(next(iter(result)).n) == len(ftz)


def test_construct_from_a_file_prints_turtle(cli, tmp_path):
    path = tmp_path / "construct.rq"
    path.write_text("PREFIX pkb: <https://w3id.org/policykb/def#>\n"
                    "CONSTRUCT { ?z pkb:withinFTZArea ?a } WHERE { ?z pkb:withinFTZArea ?a }\n", encoding="utf-8")
    result = cli("query", "--file", path)
    assert result.code == 0, result.err
    assert "sample:zone-fz-a pkb:withinFTZArea zone:fj-ftz-fuzhou" in result.out
    assert "5 triple(s)" in result.err  # fz-a, pt-host and three Fuzhou zones lie wholly within an area


# --- parameters people can type: codes, names, labels ------------------------------------------

@pytest.mark.parametrize("measure", ["C01", "c01", "sample:measure-c01", "https://w3id.org/policykb/sample/measure-c01",
                                     "<https://w3id.org/policykb/sample/measure-c01>", "样例举措C01：国际贸易“单一窗口”改革第1项"])
def test_a_measure_parameter_takes_its_iri_code_or_name(kb, measure):
    rows = _rows(kb, "zones-replicating-measure", {"measure": measure})
    assert len(rows) == 22 and rows[0]["zone"] == "https://w3id.org/policykb/sample/zone-nd-b"


@pytest.mark.parametrize("args, message, hint", [
    (["zones-replicating-measure", "-p", "measure=C0l"], "parameter measure: no measure 'C0l' in the knowledge base",
     "did you mean 'C10', 'C09', 'C08'? write the measure's IRI, its prefixed name (sample:measure-c01), its code (C01)"),
    (["replication-counts", "-p", "zone=样例·福州已开发区"], "parameter zone: no zone '样例·福州已开发区' in the knowledge base",
     "did you mean '样例·福州甲开发区', '样例·福州乙开发区', '样例·福州丙开发区'?"),
    (["zones-in-city", "-p", "city=福州县"], "parameter city: no place '福州县' in the knowledge base",
     "did you mean '福州', '福州市'?"),
    (["measures-of-unit", "-p", "unit=省自贸办"], "parameter unit: '省自贸办' names more than one unit: unit:fj-ftzo, unit:zj-ftzo",
     "write the prefixed name of the unit you mean"),
])
def test_a_name_that_is_not_in_the_knowledge_base_gets_suggestions(cli, args, message, hint):
    result = cli("query", *args)
    assert result.code == 1
    assert message in result.err and hint in result.err, result.err


def test_a_zone_parameter_does_not_take_a_unit(cli):
    result = cli("query", "replication-counts", "-p", "zone=unit:fj-drc")
    assert result.code == 1
    assert "parameter zone: no zone 'unit:fj-drc' in the knowledge base" in result.err


CITY_QUERY = """# title: Zones of a city by its name
# param: city (string@zh): the city's Chinese name
PREFIX pkb:  <https://w3id.org/policykb/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?zone WHERE { ?place skos:prefLabel ?city . ?zone pkb:inCity ?place ; pkb:sampleData true } ORDER BY ?zone
"""


def test_a_string_parameter_with_a_language_tag_matches_the_label(cli, tmp_path):
    """`-p city=福州市` against skos:prefLabel "福州市"@zh: declared (string@zh), the value is bound as "福州市"@zh."""
    path = tmp_path / "city.rq"
    path.write_text(CITY_QUERY, encoding="utf-8")
    result = cli("query", "--file", path, "-p", "city=福州市", "--format", "json")
    assert result.code == 0, result.err
    assert [r["zone"] for r in json.loads(result.out)] == [
        f"https://w3id.org/policykb/sample/zone-fz-{x}" for x in "abcd"]


def test_a_plain_string_parameter_matches_labels_through_str(cli, tmp_path):
    """Declared (string), the value is a plain literal: it equals STR("福州市"@zh), never "福州市"@zh itself, and an
    empty answer says so."""
    plain_query = CITY_QUERY.replace("(string@zh)", "(string)")
    path = tmp_path / "city.rq"
    path.write_text(plain_query, encoding="utf-8")
    result = cli("query", "--file", path, "-p", "city=福州市", "--format", "json")
    assert result.code == 0 and json.loads(result.out) == []
    assert 'note: parameter city is the plain string "福州市"' in result.err and "STR(?label) = ?city" in result.err

    path.write_text(plain_query.replace("?place skos:prefLabel ?city .", "?place skos:prefLabel ?name . FILTER (STR(?name) = ?city)"),
                    encoding="utf-8")
    result = cli("query", "--file", path, "-p", "city=福州市", "--format", "json")
    assert result.code == 0 and len(json.loads(result.out)) == 4
    assert "note:" not in result.err


@pytest.mark.parametrize("declaration", ["city (iri@zh)", "city (string@)", "city (place@en)", "city (town)"])
def test_a_malformed_parameter_type_names_the_line(tmp_path, declaration):
    path = tmp_path / "bad.rq"
    path.write_text(f"# title: x\n# param: {declaration}: the city\nSELECT * WHERE {{ ?s ?p ?o }}\n", encoding="utf-8")
    with pytest.raises(QueryError) as caught:
        parse_query_file(path, "bad.rq")
    assert str(caught.value).startswith("bad.rq:2: malformed parameter declaration")
    assert "string@zh" in caught.value.hint


def test_without_a_knowledge_base_a_zone_parameter_takes_an_iri_only(kb):
    query = library(kb.layout.queries)["replication-counts"]
    assert bind(query, {"zone": "sample:zone-fz-b"}) == {"zone": URIRef("https://w3id.org/policykb/sample/zone-fz-b")}
    with pytest.raises(QueryError, match="must be an IRI"):
        bind(query, {"zone": "fz-b"})


def test_an_engine_failure_while_the_answer_is_read_is_an_error_not_a_traceback(cli, monkeypatch, tmp_path):
    """The store hands rows over as the engine produces them; a failure then still names the query file."""
    from policykb.cli import querycmds

    def failing(*args, **kwargs):
        class Answer:
            vars = ["m"]

            def __iter__(self):
                raise RuntimeError("evaluation stopped")
        return Answer()

    monkeypatch.setattr(querycmds, "execute", failing)
    path = tmp_path / "any.rq"
    path.write_text("SELECT ?m WHERE { ?m a pkb:Measure }\n", encoding="utf-8")
    result = cli("query", "--file", path)
    assert result.code == 1
    assert result.err.startswith(f"{path}: the query cannot be evaluated: evaluation stopped") and "hint:" in result.err
