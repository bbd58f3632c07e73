"""Statistics tables (统计表): imported like ledgers, every figure converted exactly to the unit the ontology
records it in, a currency never converted without the table's own rate, and every figure's table, row,
column and conversion named by `policykb explain` — against the hand conversions of
tests/data/statistics.yaml and the hand computations of tests/data/zhejiang-2022-expected.yaml."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import read_yaml
from openpyxl import Workbook, load_workbook
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from test_import_transaction import _run_two_at_once, no_leftovers

from policykb.kb.layout import Layout, bundled_root
from policykb.ledgers.importer import prepare
from policykb.ledgers.units import Inexact, Units, convert, exact, split_unit
from policykb.ledgers.vocabulary import Vocabulary
from policykb.namespace import PKB, QB

CASES = read_yaml("statistics.yaml")
EXPECTED = read_yaml("zhejiang-2022-expected.yaml")
SAMPLE = "kb/ledgers/sample"
SAMPLE_TABLES = ("sample-2021-zj-statistics.csv", "sample-2022-zj-statistics.xlsx")
UNIT = "https://w3id.org/policykb/concept/unit-of-measure/"


def snapshot(directory: Path) -> dict:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def write_table(path: Path, rows: list[list]) -> Path:
    """A table as a clerk saves it: CSV as text, XLSX with numbers typed as numbers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".xlsx":
        book = Workbook()
        for row in rows:
            book.active.append([_typed(v) for v in row])
        book.save(path)
    else:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([["" if v is None else str(v) for v in row] for row in rows])
    return path


def _typed(value):
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except ArithmeticError:
            return value or None
        return int(number) if number == number.to_integral_value() else float(value)
    return value


def without_sample_figures(kb_dir: Path) -> None:
    for table in SAMPLE_TABLES:
        (kb_dir / "kb" / "evidence" / f"{Path(table).stem}.ttl").unlink()


def indicators(cli, kb_dir: Path) -> dict:
    """zone → indicator → (value, reason not computable, rank), as `policykb score --format json` gives them."""
    result = cli("score", "--kb", kb_dir, "--scheme", "zhejiang-2022", "--year", "2022", "--format", "json")
    assert result.code == 0, result.err
    return {row["zone"]: {code: (value, row["not_computable"].get(code), row["indicator_ranks"][code])
                          for code, value in row["indicators"].items()}
            for row in json.loads(result.out) if row["zone"].startswith("sample:")}


def hand_computed() -> dict:
    """The same, from tests/data/zhejiang-2022-expected.yaml."""
    found = {}
    for zone, codes in EXPECTED["zones"].items():
        found[zone] = {code: (float(want["value"]) if "value" in want else None, want.get("not_computable"),
                              (EXPECTED["ranks"][code] or {}).get(zone)) for code, want in codes.items()}
    return found


def figures(kb_dir: Path) -> dict:
    """(area, year) → measure → value of every observation in the knowledge base's files."""
    graph = Graph()
    for path in (kb_dir / "kb").rglob("*.ttl"):
        graph.parse(path)
    found: dict = {}
    for obs in graph.subjects(PKB.refArea, None):
        key = (str(graph.value(obs, PKB.refArea)), int(graph.value(obs, PKB.refYear)))
        found[key] = {str(p): Decimal(str(o)) for p, o in graph.predicate_objects(obs)
                      if isinstance(o, Literal) and str(p).startswith(str(PKB)) and p not in (PKB.refYear, PKB.ledgerRow,
                                                                                           PKB.ledgerFile, PKB.sampleData)}
    return found


# --- the sample tables ---------------------------------------------------------------------------

def test_the_sample_tables_imported_give_every_sample_zone_its_hand_computed_indicators(cli, kb_dir):
    without_sample_figures(kb_dir)
    before = indicators(cli, kb_dir)
    assert all(value is None for zone in before.values() for value, _reason, _rank in zone.values())
    result = cli("import", "--kb", kb_dir, *(kb_dir / SAMPLE / t for t in SAMPLE_TABLES))
    assert result.code == 0, result.err
    assert "imported 11 observation(s) from 2 statistics table(s)" in result.err
    assert indicators(cli, kb_dir) == hand_computed()


@pytest.mark.parametrize("table", SAMPLE_TABLES)
def test_the_bundled_figures_are_what_importing_the_sample_tables_gives(kb, table):
    layout = Layout.bundled()
    prepared = prepare(kb, layout.root / SAMPLE / table, Vocabulary(kb))
    assert prepared.result.table == "statistics" and prepared.errors == []
    assert isomorphic(prepared.graph, Graph().parse(layout.kb / "evidence" / f"{Path(table).stem}.ttl"))


def test_reimporting_the_sample_tables_changes_no_byte(cli, kb_dir):
    before = snapshot(kb_dir / "kb")
    result = cli("import", "--kb", kb_dir, *(kb_dir / SAMPLE / t for t in SAMPLE_TABLES))
    assert result.code == 0, result.err
    assert snapshot(kb_dir / "kb") == before


# --- units and currencies ------------------------------------------------------------------------

def test_a_table_in_other_units_and_currencies_gives_the_same_figures_and_indicators(cli, kb_dir):
    bundled = figures(kb_dir)
    without_sample_figures(kb_dir)
    tables = [write_table(kb_dir / "kb" / "ledgers" / "zj" / t["file"], t["rows"]) for t in CASES["converted"]]
    result = cli("import", "--kb", kb_dir, *tables)
    assert result.code == 0, result.err
    assert figures(kb_dir) == bundled  # 9.876 亿元 is recorded as 98760 万元, 24960 万美元 at 6.25 as 156000 万元, …
    assert indicators(cli, kb_dir) == hand_computed()
    checked = cli("validate", "--kb", kb_dir)
    assert checked.code == 0, checked.err


def test_explain_names_the_table_row_and_column_of_each_figure_with_its_unit_and_conversion(cli, kb_dir):
    without_sample_figures(kb_dir)
    tables = [write_table(kb_dir / "kb" / "ledgers" / "zj" / t["file"], t["rows"]) for t in CASES["converted"]]
    assert cli("import", "--kb", kb_dir, *tables).code == 0
    text = cli("explain", "zj-a", "--kb", kb_dir, "--scheme", "zhejiang-2022", "--year", "2022").out
    table = "kb/ledgers/zj/统计表-2022.xlsx"
    for line in [
        "  uses zone.tax_revenue = 60000 (observation of sample:zone-zj-a, 2022)\n"
        f"    from {table} row 2, column C 税收（亿元）: 6 亿元 × 10000 = 60000 万元",
        f"    from {table} row 2, column D 用地面积（亩）: 10000 亩 as written",
        "  uses zone.import_export = 156000 (observation of sample:zone-zj-a, 2022)\n"
        f"    from {table} row 2, column G 进出口总额（万美元）: 24960 万美元 × 1 × 6.25 (the row's exchange rate, "
        "yuan per US dollar) = 156000 万元",
        "  uses province.import_export = 2000000 (observation of place:zhejiang, 2022)\n"
        f"    from {table} row 7, column G 进出口总额（万美元）: 320000 万美元 × 1 × 6.25 (the row's exchange rate, "
        "yuan per US dollar) = 2000000 万元",
        "  uses zone.foreign_capital = 6000 (observation of sample:zone-zj-a, 2022)\n"
        f"    from {table} row 2, column H 实际使用外资（万元）: 37500 万元 × 1 ÷ 6.25 (the row's exchange rate, "
        "yuan per US dollar) = 6000 万美元",
        "  uses zone.previous.energy_use = 50000 (observation of sample:zone-zj-a, 2021)\n"
        "    from kb/ledgers/zj/统计表-2021.csv row 2, column I 规上工业能耗（万吨标准煤）: 5 万吨标准煤 × 10000 = 50000 吨标准煤",
    ]:
        assert line in text, line
    data = json.loads(cli("explain", "zj-a", "--kb", kb_dir, "--scheme", "zhejiang-2022", "--year", "2022",
                          "--format", "json").out)
    zj6 = next(i for i in data["indicators"] if i["code"] == "zj6")
    used = {o["term"]: o for o in zj6["observations"]}
    assert used["zone.previous.foreign_capital"]["source"] == {
        "table": "kb/ledgers/zj/统计表-2021.csv", "row": 2, "column": "H", "header": "实际使用外资（亿美元）",
        "as_written": 0.5, "unit_as_written": "亿美元", "factor": 10000, "exchange_rate": None, "rate_applied": None,
        "value": 5000, "unit": "万美元"}


def test_explain_on_the_bundled_knowledge_base_shows_the_sample_tables_conversions(cli):
    data = json.loads(cli("explain", "zj-b", "--scheme", "zhejiang-2022", "--year", "2022", "--format", "json").out)
    inputs = {d["path"]: d["sha256"] for d in data["inputs"]["ledgers"]}
    for table in SAMPLE_TABLES:  # the tables its figures came from are inputs of the trace, with their digests
        path = bundled_root() / SAMPLE / table
        assert inputs[f"{SAMPLE}/{table}"] == hashlib.sha256(path.read_bytes()).hexdigest()
    text = cli("explain", "zj-b", "--scheme", "zhejiang-2022", "--year", "2022").out
    assert ("    from kb/ledgers/sample/sample-2022-zj-statistics.xlsx row 3, column C 税收（亿元）: "
            "9.876 亿元 × 10000 = 98760 万元") in text
    assert ("    from kb/ledgers/sample/sample-2021-zj-statistics.csv row 3, column J 规上工业增加值（万元）: "
            "200000 万元 as written") in text


@pytest.mark.parametrize("case", CASES["conversions"], ids=lambda c: c["header"])
def test_each_unit_offices_write_converts_exactly(kb, tmp_path, case):
    header, row = ["地区", "年度", case["header"]], ["zj-a", "2023", case["cell"]]
    if "rate" in case:
        header, row = header + ["汇率（元/美元）"], row + [case["rate"]]
    prepared = prepare(kb, write_table(tmp_path / "zj-a-2023.csv", [header, row]), Vocabulary(kb))
    assert prepared.errors == []
    graph = prepared.graph
    (obs,) = graph.subjects(PKB.refArea, None)
    (source,) = graph.objects(obs, PKB.figureSource)
    measure = graph.value(source, PKB.figureOf)
    assert graph.value(obs, measure).toPython() == Decimal(case["recorded"])
    assert graph.value(source, PKB.conversionFactor).toPython() == Decimal(case["factor"])
    assert graph.value(source, PKB.valueAsWritten).toPython() == Decimal(case["cell"])
    assert str(graph.value(source, PKB.columnHeader)) == case["header"]
    rate = graph.value(source, PKB.exchangeRate)
    assert (rate.toPython() if rate is not None else None) == (Decimal(case["rate"]) if "rate" in case else None)


def test_conversions_are_exact_or_refused(kb):
    units = Units(kb.ontology)
    mu, ha, yi, wan = (units.by_iri[URIRef(UNIT + n)] for n in ("mu", "hectare", "yi-yuan", "wan-yuan"))
    assert convert(Decimal("0.3333"), units.conversion(yi, wan)) == Decimal("3333")
    assert convert(Decimal("300"), units.conversion(mu, ha)) == Decimal("20")  # 300 亩 ÷ 15
    with pytest.raises(Inexact):
        convert(Decimal("10000"), units.conversion(mu, ha))  # 666.66… 公顷: never rounded
    with pytest.raises(Inexact):
        exact(units.conversion(mu, ha).factor)  # 1/15
    assert units.conversion(mu, yi) is None  # an area is not money
    assert split_unit("税收（亿元）") == ("税收", "亿元") and split_unit("税收 (万元) *") == ("税收", "万元")
    assert split_unit("备注") == ("备注", None) and split_unit("汇率【元/美元】") == ("汇率", "元/美元")


# --- refusals: every problem named, nothing changed ---------------------------------------------------

@pytest.fixture(scope="module")
def shared_kb(tmp_path_factory) -> Path:
    """One copy of the bundled knowledge base for the refusals, which must leave it as it is."""
    target = tmp_path_factory.mktemp("statistics") / "project"
    for name in ("kb", "ontology", "rules", "queries"):
        shutil.copytree(bundled_root() / name, target / name)
    return target


@pytest.mark.parametrize("case", CASES["refusals"], ids=lambda c: c["name"])
def test_a_bad_table_is_refused_naming_the_row_and_header_and_nothing_changes(cli, shared_kb, tmp_path, case):
    before = snapshot(shared_kb / "kb")
    name = case.get("file", "统计表-2023.csv")
    table = write_table(tmp_path / name, case["rows"])
    result = cli("import", "--kb", shared_kb, *case.get("options", []), table)
    assert result.code == 1, result.err
    error = case["error"]
    where = str(table) + "".join(f":{part}" for part in (error["row"], error["column"]) if part is not None)
    lines = result.err.splitlines()
    assert lines[0].startswith(f"policykb: {case.get('problems', 1)} problem(s)"), result.err
    assert lines[1].startswith(f"{where}: "), result.err
    assert error["says"] in result.err and "hint:" in result.err
    if "hint" in case:
        assert case["hint"] in result.err
    assert snapshot(shared_kb / "kb") == before


def test_a_table_and_a_ledger_are_imported_all_or_nothing(cli, kb_dir, tmp_path):
    ledger = tmp_path / "fz-b-2022.csv"
    ledger.write_text("开发区,年度,类型,事项名称,层级\nfz-b,2022,体制机制,机制,市级\n", encoding="utf-8")
    table = write_table(tmp_path / "统计表-2023.csv", [["地区", "年度", "税收（万元）"], ["zj-a", "2023", "六万"]])
    before = snapshot(kb_dir / "kb")
    result = cli("import", "--kb", kb_dir, ledger, table)
    assert result.code == 1 and "统计表-2023.csv:2:税收（万元）: '六万' is not a number" in result.err
    assert snapshot(kb_dir / "kb") == before


def test_a_table_for_an_area_and_year_replaces_another_only_with_replace(cli, kb_dir, tmp_path):
    table = write_table(kb_dir / "kb" / "ledgers" / "zj" / "zj-a-2022.csv",
                        [["地区", "年度", "税收（亿元）", "用地面积（亩）"], ["样例·杭州甲联动创新区", "2022", "7.5", "10000"]])
    result = cli("import", "--kb", kb_dir, "--replace", table)
    assert result.code == 0, result.err
    assert ("replaces kb/ledgers/sample/sample-2022-zj-statistics.xlsx (kb/evidence/sample-2022-zj-statistics.ttl) "
            "for 样例·杭州甲联动创新区 2022") in result.err
    old = Graph().parse(kb_dir / "kb" / "evidence" / "sample-2022-zj-statistics.ttl")
    areas = {str(a).rsplit("/", 1)[1] for a in old.objects(None, PKB.refArea)}
    assert areas == {"zhejiang", "zone-zj-b", "zone-zj-c", "zone-zj-d", "zone-zj-e"}  # zj-a's row and its sources left
    assert not [s for s in old.subjects() if "/r2" in str(s)]
    zj1 = indicators(cli, kb_dir)["sample:zone-zj-a"]["zj1"]
    assert zj1[0] == 7.5  # 75000 万元 / 10000 亩, where the sample table gave 6
    assert cli("validate", "--kb", kb_dir).code == 0


def test_two_tables_for_one_area_and_year_imported_at_once_queue_and_the_second_is_refused(kb_dir, tmp_path):
    rows = [["地区", "年度", "税收（万元）"], ["样例·杭州甲联动创新区", "2023", "70000"]]
    first = write_table(tmp_path / "clerk-a" / "zj-a-2023-a.csv", rows)
    second = write_table(tmp_path / "clerk-b" / "zj-a-2023-b.csv", rows)
    results = _run_two_at_once(kb_dir, first, second)
    assert sorted(code for code, _err in results) == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "the figures of 样例·杭州甲联动创新区 2023 already come from another statistics table: zj-a-2023-" in loser
    written = [p.stem for p in (kb_dir / "kb" / "evidence").glob("zj-a-2023-*.ttl")]
    assert len(written) == 1 and written[0] in loser
    assert no_leftovers(kb_dir / "kb")


# --- digests ---------------------------------------------------------------------------------------

def test_validate_notices_a_table_changed_or_deleted_after_its_import(cli, kb_dir):
    table = kb_dir / SAMPLE / "sample-2021-zj-statistics.csv"
    assert cli("validate", "--kb", kb_dir).code == 0
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace("样例·宁波甲联动创新区,2021,90000", "样例·宁波甲联动创新区,2021,95000"), encoding="utf-8")
    changed = cli("validate", "--kb", kb_dir)
    assert changed.code == 1
    assert ("the statistics table kb/ledgers/sample/sample-2021-zj-statistics.csv was changed after it was imported "
            "(row 3 differs): the figures in kb/evidence/sample-2021-zj-statistics.ttl") in changed.err
    table.unlink()
    gone = cli("validate", "--kb", kb_dir)
    assert gone.code == 0
    assert ("the statistics table kb/ledgers/sample/sample-2021-zj-statistics.csv was deleted or moved after it was "
            "imported; its figures stay in kb/evidence/sample-2021-zj-statistics.ttl") in gone.err


def test_validate_names_the_rows_whose_units_changed_though_their_figures_did_not(cli, kb_dir):
    table = kb_dir / SAMPLE / "sample-2021-zj-statistics.csv"
    text = table.read_text(encoding="utf-8")
    # 税收 now in 亿元: 50000 万元 = 5 亿元, …; the figures recorded are the same, their sources are not (row 6, 全省,
    # gives no 税收)
    for before, after in (("税收（万元）", "税收（亿元）"), ("创新区,2021,50000,", "创新区,2021,5,"), ("创新区,2021,90000,", "创新区,2021,9,"),
                          ("创新区,2021,28000,", "创新区,2021,2.8,"), ("创新区,2021,18000,", "创新区,2021,1.8,")):
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    table.write_text(text, encoding="utf-8")
    changed = cli("validate", "--kb", kb_dir)
    assert changed.code == 1
    assert "kb/ledgers/sample/sample-2021-zj-statistics.csv was changed after it was imported (rows 2, 3, 4, 5 differ)" \
        in changed.err


# --- the template ------------------------------------------------------------------------------------

def test_the_statistics_template_has_units_and_a_list_of_zones_and_imports_once_filled_in(cli, kb, kb_dir, tmp_path):
    template = tmp_path / "统计表-2023.xlsx"
    assert cli("template", "--kb", kb_dir, "--statistics", template).code == 0
    book = load_workbook(template)
    sheet, lists = book["统计表"], book["lists"]
    header = [c.value for c in sheet[1]]
    assert header == ["地区", "年度", "税收（万元）", "用地面积（亩）", "研发投入（万元）", "经营收入（万元）", "进出口总额（万元）",
                      "实际使用外资（万美元）", "规上工业能耗（吨标准煤）", "规上工业增加值（万元）", "汇率（元/美元）", "备注"]
    (zones,) = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert str(zones.sqref).startswith("A2:")
    choices = [lists[f"A{r}"].value for r in range(1, lists.max_row + 1)]
    # every linkage zone (6 real, 5 sample: kb/zones/zhejiang-linkage-zones.ttl, kb/sample/zhejiang-zones.ttl), then 全省
    assert len(choices) == 12 and choices[-1] == "全省"
    assert "杭州联动创新区" in choices and "样例·金华甲联动创新区" in choices
    assert [r[0] for r in book["说明"].iter_rows(min_row=2, values_only=True)] == header
    csv_template = tmp_path / "统计表.csv"
    assert cli("template", "--kb", kb_dir, "--statistics", csv_template).code == 0
    assert next(csv.reader(open(csv_template, encoding="utf-8-sig"))) == header
    # a clerk fills in two rows, picking the areas from the list, and changes one unit to the one kept
    sheet["C1"] = "税收（亿元）"
    sheet.append(["样例·杭州甲联动创新区", 2023, 7, 10000])
    sheet.append(["全省", 2023, None, None, None, None, 2100000])
    book.save(template)
    result = cli("import", "--kb", kb_dir, template)
    assert result.code == 0, result.err
    graph = Graph().parse(kb_dir / "kb" / "evidence" / "统计表-2023.ttl")
    recorded = {str(graph.value(o, PKB.refArea)).rsplit("/", 1)[1]: (graph.value(o, PKB.taxRevenue), graph.value(o, PKB.importExport))
                for o in graph.subjects(PKB.refArea, None)}
    assert {area: tuple(v.toPython() if v is not None else None for v in values) for area, values in recorded.items()} \
        == {"zone-zj-a": (Decimal(70000), None), "zhejiang": (None, Decimal(2100000))}  # 7 亿元 = 70000 万元
    table = URIRef("https://w3id.org/policykb/sample/ledger/%E7%BB%9F%E8%AE%A1%E8%A1%A8-2023")
    assert (table, QB.structure, PKB.ZoneEconomyStructure) in graph


def test_a_statistics_table_is_told_from_a_ledger_by_its_header_row(kb, tmp_path):
    rows = [["2023年样例·浙江联动创新区主要经济指标"], ["地区", "年度", "tax_revenue（万元）", "备注"],
            ["zj-a", "2023", "70000", ""], ["注：样例数据"]]
    prepared = prepare(kb, write_table(tmp_path / "table.csv", rows), Vocabulary(kb))
    assert prepared.result.table == "statistics" and prepared.errors == []
    assert prepared.ledger.notes == ("row 1: skipped what stands above the header row (2023年样例·浙江联动创新区主要经济指标)",
                                     "row 4: skipped a note below the table (注：样例数据)")
    ledger = prepare(kb, write_table(tmp_path / "ledger.csv", [["开发区", "年度", "类型", "事项名称", "层级"],
                                                              ["fz-b", "2022", "体制机制", "机制", "市级"]]), Vocabulary(kb))
    assert ledger.result.table == "ledger" and ledger.errors == []


# --- the guide ----------------------------------------------------------------------------------------

GUIDE = (bundled_root() / "kb" / "ledgers" / "README.md").read_text(encoding="utf-8")


def test_the_guides_units_table_is_the_ontologys(kb):
    section = GUIDE.split("**Units.**", 1)[1].split("So `9.876`", 1)[0]
    listed = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and "(" in cells[1] and cells[0] != "kind":
            for unit in cells[1].split(", "):
                label, factor = unit.rstrip(")").split(" (")
                listed[label] = (cells[0], Decimal(factor))
    units = Units(kb.ontology)
    assert listed == {u.label: (units.kind_name(u.kind), Decimal(u.factor.numerator) / u.factor.denominator)
                      for u in units.by_iri.values()}


def test_the_guides_filled_in_example_is_the_sample_table():
    block = GUIDE.split("**A filled-in example.**", 1)[1].split("```csv\n", 1)[1].split("```", 1)[0]
    book = load_workbook(bundled_root() / SAMPLE / "sample-2022-zj-statistics.xlsx")
    sheet = [["" if v is None else str(v) for v in row] for row in book["统计表"].iter_rows(values_only=True)]
    assert list(csv.reader(block.splitlines())) == sheet
