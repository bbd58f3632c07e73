"""The query library and `policykb query`: every query answers as counted by hand, parameters are bound safely."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import read_yaml
from policykb.errors import QueryError
from policykb.kb.layout import Layout
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
    result = execute(kb.store, prepare(query.text, name), bind(query, {k: str(v) for k, v in params.items()}))
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


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['query']}{c['params'] or ''}")
def test_library_query_answers_as_counted_by_hand(kb, case):
    if "trace" in case:
        kb = _with_trace(case["trace"])
    rows = _rows(kb, case["query"], case["params"])
    assert len(rows) == case["rows"]
    for column, total in case.get("sums", {}).items():
        assert sum(r[column] for r in rows) == total
    columns = case.get("columns")
    got = [[r[c] for c in columns] for r in rows] if columns else None
    if "expect" in case:
        assert got == case["expect"]
    if "expect_set" in case:
        assert sorted(got, key=repr) == sorted(case["expect_set"], key=repr)
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
    assert params == {"zone": ("iri", True), "year": ("integer", True)}


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


@pytest.mark.parametrize("value", ['sample:zone-fz-b> } UNION { ?s ?p ?o } #', "sample:zone-fz-b}", 'x" ;'])
def test_an_iri_parameter_holding_query_syntax_is_refused(cli, value):
    result = cli("query", "replication-counts", "--param", f"zone={value}")
    assert result.code == 1
    assert "must be an IRI" in result.err


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
