"""The Zhejiang 2022 sample data: the economic observation cube, the replication status table (附件3) and
the report of measures not replicated, against hand counts in tests/data/."""

from __future__ import annotations

import csv
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from conftest import read_yaml
from policykb.kb.layout import Layout
from policykb.ledgers.importer import prepare
from policykb.ledgers.vocabulary import Vocabulary
from policykb.namespace import PKB, SAMPLE, expand_iri
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

EXPECTED = read_yaml("zhejiang-2022-expected.yaml")
TABLE = read_yaml("replication-table.yaml")
NOT_REPLICATED = read_yaml("not-replicated-2022.yaml")

_CUBE = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX qb:  <http://purl.org/linked-data/cube#>
SELECT ?area ?year ?measure ?value WHERE {
  ?o a qb:Observation ; qb:dataSet ?set ; pkb:refArea ?area ; pkb:refYear ?year ; ?measure ?value .
  ?set qb:structure/qb:component/qb:measure ?measure .
}"""


def _observations(kb) -> dict[tuple[str, int], dict[str, Decimal]]:
    """(area local name, year) -> {measure local name: value}: only what the cube holds."""
    found: dict[tuple[str, int], dict[str, Decimal]] = {}
    for row in kb.query(_CUBE):
        key = (str(row.area).rsplit("/", 1)[1], int(row.year))
        found.setdefault(key, {})[str(row.measure).split("#")[1]] = row.value.toPython()
    return found


# --- the observation cube ---------------------------------------------------------------------

def test_the_knowledge_base_with_the_observations_validates(cli):
    result = cli("validate")
    assert result.code == 0, result.err
    assert "0 violation(s)" in result.err


def test_observations_are_a_data_cube_of_sample_data(kb):
    structure = list(kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        PREFIX qb:  <http://purl.org/linked-data/cube#>
        SELECT ?set ?dimension ?measure ?unit WHERE {
          ?set a qb:DataSet ; qb:structure pkb:ZoneEconomyStructure ; pkb:sampleData true .
          pkb:ZoneEconomyStructure qb:component ?c .
          OPTIONAL { ?c qb:dimension ?dimension }
          OPTIONAL { ?c qb:measure ?measure . ?measure pkb:unitMeasure ?unit } }"""))
    # one data set per sample statistics table (kb/ledgers/sample/sample-202?-zj-statistics.*)
    assert {str(r.set) for r in structure} == {f"https://w3id.org/policykb/sample/ledger/sample-{y}-zj-statistics"
                                               for y in (2021, 2022)}
    assert {str(r.dimension).split("#")[1] for r in structure if r.dimension} == {"refArea", "refYear"}
    units = {str(r.measure).split("#")[1]: str(r.unit).rsplit("/", 1)[1] for r in structure if r.measure}
    assert units == {"taxRevenue": "wan-yuan", "landArea": "mu", "rdSpending": "wan-yuan",
                     "operatingRevenue": "wan-yuan", "importExport": "wan-yuan", "foreignCapital": "wan-usd",
                     "energyUse": "tce", "industrialValueAdded": "wan-yuan"}
    unmarked = kb.query("""
        PREFIX pkb: <https://w3id.org/policykb/def#>
        PREFIX qb:  <http://purl.org/linked-data/cube#>
        SELECT ?o WHERE { ?o a qb:Observation . FILTER NOT EXISTS { ?o pkb:sampleData true } }""")
    assert list(unmarked) == []


def test_the_gaps_in_the_observations_are_the_ones_the_expectations_rely_on(kb):
    cube = _observations(kb)
    years = {}
    for area, year in cube:
        years.setdefault(area, set()).add(year)
    assert years == {"zone-zj-a": {2021, 2022}, "zone-zj-b": {2021, 2022}, "zone-zj-c": {2021, 2022},
                     "zone-zj-d": {2021, 2022}, "zone-zj-e": {2022}, "zhejiang": {2021, 2022}}
    assert cube[("zone-zj-c", 2022)]["landArea"] == 0
    assert "industrialValueAdded" not in cube[("zone-zj-d", 2021)]
    assert "foreignCapital" not in cube[("zhejiang", 2022)] and "importExport" in cube[("zhejiang", 2022)]
    assert all(len(values) == 8 for (area, _), values in cube.items() if area != "zhejiang" and
               (area, _) != ("zone-zj-d", 2021))


BAD_OBSERVATIONS = [  # (year, measures, words of the message); 2022 repeats zj-e's own observation of 2022
    (2017, "pkb:taxRevenue -5.0 ;", "not below 0"),
    (2018, "pkb:taxRevenue 5 ;", "written as a decimal"),
    (2019, "pkb:taxRevenue 5.0 , 6.0 ;", "one number"),
    (2022, "", "also describes sample:zone-zj-e in 2022"),
]


def test_bad_observations_are_reported_with_their_file_and_line(cli, kb_dir):
    text = ("@prefix pkb: <https://w3id.org/policykb/def#> .\n@prefix qb: <http://purl.org/linked-data/cube#> .\n")
    lines = {}
    for year, values, message in BAD_OBSERVATIONS:
        text += "\n"
        lines[message] = text.count("\n") + 1
        text += (f"<https://w3id.org/policykb/sample/observation/bad-{year}> a qb:Observation ;\n"
                 "    qb:dataSet <https://w3id.org/policykb/sample/ledger/sample-2022-zj-statistics> ;\n"
                 f"    pkb:refArea <https://w3id.org/policykb/sample/zone-zj-e> ; pkb:refYear {year} ;\n"
                 f"    {values}\n    pkb:sampleData true .\n")
    (kb_dir / "kb" / "sample" / "bad-observations.ttl").write_text(text, encoding="utf-8")
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    for message, line in lines.items():
        assert re.search(rf"kb/sample/bad-observations.ttl:{line}: violation: .*\n  [^\n]*{re.escape(message)}",
                         result.err), (message, result.err)


# --- the hand computations --------------------------------------------------------------------

class NotComputable(Exception):
    pass


def _indicators(cube, zone: str, year: int) -> dict[str, Decimal | str]:
    """The seven indicators of attachment 4, as tests/data/zhejiang-2022-expected.yaml defines them."""
    this, before, province = cube.get((zone, year), {}), cube.get((zone, year - 1)), cube.get(("zhejiang", year), {})

    def get(values, name, reason):
        if values is None:
            raise NotComputable("missing-previous-year")
        if name not in values:
            raise NotComputable(reason)
        return values[name]

    def div(a, b):
        if b == 0:
            raise NotComputable("division-by-zero")
        return a / b

    def intensity(values):
        return div(get(values, "energyUse", "missing-observation"), get(values, "industrialValueAdded", "missing-observation"))

    formulas = {
        "zj1": lambda: div(this["taxRevenue"], this["landArea"]),
        "zj2": lambda: div(div(this["rdSpending"], this["landArea"]), div(this["operatingRevenue"], this["landArea"])) * 100,
        "zj3": lambda: div(this["importExport"], get(province, "importExport", "missing-province-total")) * 100,
        "zj4": lambda: (div(this["importExport"], get(before, "importExport", "missing-observation")) - 1) * 100,
        "zj5": lambda: div(this["foreignCapital"], get(province, "foreignCapital", "missing-province-total")) * 100,
        "zj6": lambda: (div(this["foreignCapital"], get(before, "foreignCapital", "missing-observation")) - 1) * 100,
        "zj7": lambda: div(intensity(before) - intensity(this), intensity(before)) * 100,
    }
    found = {}
    for code, formula in formulas.items():
        try:
            found[code] = formula()
        except NotComputable as reason:
            found[code] = str(reason)
    return found


def _ranks(values: dict[str, Decimal]) -> dict[str, int]:
    """Descending; equal values share a rank and the next is skipped (1, 2, 2, 4)."""
    return {zone: 1 + sum(other > value for other in values.values()) for zone, value in values.items()}


def test_the_expected_indicator_values_follow_from_the_observations(kb):
    assert EXPECTED["year"] == 2022 and list(EXPECTED["indicators"]) == [f"zj{i}" for i in range(1, 8)]
    cube = _observations(kb)
    exact = {}
    for zone, expected in EXPECTED["zones"].items():
        got = _indicators(cube, zone.split(":")[1], EXPECTED["year"])
        for code, want in expected.items():
            if "not_computable" in want:
                assert got[code] == want["not_computable"], (zone, code)
            else:
                assert str(got[code].quantize(Decimal("0.01"), ROUND_HALF_UP)) == want["value"], (zone, code)
                exact.setdefault(code, {})[zone] = got[code]
    for code, ranks in EXPECTED["ranks"].items():
        assert _ranks(exact.get(code, {})) == ranks, code


def test_the_expected_values_exercise_every_reason_and_half_up_rounding():
    reasons = {v["not_computable"] for zone in EXPECTED["zones"].values() for v in zone.values() if "not_computable" in v}
    assert reasons == {"division-by-zero", "missing-previous-year", "missing-province-total", "missing-observation"}
    assert EXPECTED["zones"]["sample:zone-zj-b"]["zj1"]["value"] == "12.35"  # 12.345: half even would give 12.34
    assert EXPECTED["zones"]["sample:zone-zj-e"]["zj3"]["value"] == "1.01"  # 1.005
    assert sorted(EXPECTED["ranks"]["zj4"].values()) == [1, 2, 2, 4]


# --- the replication status table (附件3) --------------------------------------------------------

def _write_table(path: Path, rows: list[list[str]]) -> None:
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)
    else:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)


def _table(case: dict) -> list[list[str]]:
    header = list(TABLE["base"])
    return [header] + [[str({**TABLE["base"], **row}[h]) for h in header] for row in case["rows"]]


def _term(value: str):
    return expand_iri(value) if re.fullmatch(r"[a-z]+:[\w./-]+", value) else value


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda c: c["name"])
def test_replication_table_import(cli, kb, kb_dir, case):
    name = "table-zj-a." + case.get("format", "csv")
    path = kb_dir / "kb" / "ledgers" / name
    _write_table(path, _table(case))
    args = ["import", path, "--kind", "replication", "--add", "--kb", kb_dir]
    year = case.get("year", 2022)
    if year is not None:
        args += ["--year", year]
    result = cli(*args)
    target = kb_dir / "kb" / "evidence" / "table-zj-a.ttl"
    if "error" in case:
        error = case["error"]
        where = f"kb/ledgers/{name}:{error['row']}" + (f":{error['column']}" if error["column"] else "")
        assert result.code == 1
        assert result.err.splitlines()[1].startswith(f"{where}: "), result.err
        assert error["says"] in result.err and "hint:" in result.err
        assert not target.exists()  # nothing written
        return
    assert result.code == 0, result.err
    graph = Graph().parse(target)
    assert len(set(graph.subjects(PKB.ledgerRow, None))) == case["items"]
    columns = Vocabulary(kb).columns
    for row, cells in case.get("records", {}).items():
        item = URIRef(f"{SAMPLE}evidence/table-zj-a/r{row}")
        for column, value in cells.items():
            assert [_term(value)] == [o if isinstance(o, URIRef) else str(o)
                                      for o in graph.objects(item, columns[column].prop)], (row, column)
    for column in case.get("checked", []):
        assert list(graph.subject_objects(columns[column].prop)) == [], column


def test_tables_are_imported_all_or_nothing(cli, kb_dir):
    good, bad = kb_dir / "kb" / "ledgers" / "good-zj.csv", kb_dir / "kb" / "ledgers" / "bad-zj.csv"
    _write_table(good, _table({"rows": [{}]}))
    _write_table(bad, _table({"rows": [{"领域": "办税"}]}))
    result = cli("import", good, bad, "--year", "2022", "--kind", "replication", "--kb", kb_dir)
    assert result.code == 1 and "kb/ledgers/bad-zj.csv:2:领域:" in result.err
    assert not (kb_dir / "kb" / "evidence" / "good-zj.ttl").exists()


SAMPLE_TABLES = ["sample-2022-zj-a.csv", "sample-2022-zj-b.csv", "sample-2022-zj-c.xlsx", "sample-2022-zj-d.csv",
                 "sample-2022-zj-e.csv"]


@pytest.mark.parametrize("table", SAMPLE_TABLES + ["sample-2022-zj-reports.csv"])
def test_the_bundled_evidence_is_what_importing_the_sample_tables_gives(kb, table):
    layout = Layout.bundled()
    options = {"year": 2022, "kind": "replication"} if table in SAMPLE_TABLES else {}
    prepared = prepare(kb, layout.kb / "ledgers" / "sample" / table, Vocabulary(kb), **options)
    bundled = Graph().parse(layout.kb / "evidence" / f"{Path(table).stem}.ttl")
    assert isomorphic(prepared.graph, bundled)


# --- the report of measures not replicated ----------------------------------------------------

@pytest.mark.parametrize("case", NOT_REPLICATED, ids=lambda c: " ".join(c["args"]))
def test_not_replicated_grouped_by_reason(cli, case):
    result = cli("not-replicated", *case["args"], "--format", "json")
    assert result.code == 0, result.err
    got = [[r["reason"], r["count"], r["zones"], r["measures"]] for r in json.loads(result.out)]
    assert got == case["reasons"]
    assert sum(r[1] for r in got) == case["total"]


def test_not_replicated_table_joins_names(cli):
    result = cli("not-replicated", "--year", "2022", "--zone", "sample:zone-zj-c")
    assert result.code == 0, result.err
    assert "不具备实施条件" in result.out and "ZJ01、ZJ05" in result.out
    assert "3 row(s) of sample:zone-zj-c marked not replicated in 2022, under 2 reason(s)" in result.err


def test_not_replicated_of_an_unknown_zone_suggests_one(cli):
    result = cli("not-replicated", "--year", "2022", "--zone", "zj-f")
    assert result.code == 2
    assert "no zone 'zj-f'" in result.err and "did you mean" in result.err


@pytest.mark.parametrize("command", ["not-replicated", "duties"])
def test_report_commands_have_help(capsys, command):
    from policykb.cli import main

    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert "--format {table,csv,tsv,md,json}" in capsys.readouterr().out
