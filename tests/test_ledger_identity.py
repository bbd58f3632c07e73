"""One ledger per zone and year, ledgers recorded by a path inside the knowledge base (or by name) and their
SHA-256, `policykb validate` noticing a ledger edited or deleted after its import, scope claims, and the
template an office fills in."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

from openpyxl import load_workbook
from rdflib import Graph, Literal, URIRef

from policykb.ledgers.vocabulary import Vocabulary
from policykb.namespace import PKB, SCOPE

SAMPLE = "kb/ledgers/sample"
FZ_B = "sample-2021-fz-b"


def snapshot(directory: Path) -> dict:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def evidence(kb_dir: Path, name: str) -> Graph:
    return Graph().parse(kb_dir / "kb" / "evidence" / f"{name}.ttl")


def score(cli, kb_dir: Path, zone: str = "fz-b") -> dict:
    result = cli("score", "--kb", kb_dir, "--scheme", "fujian-2021", "--year", "2021", "--zone", zone, "--format", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    return rows[0] if isinstance(rows, list) else rows


def test_reimporting_a_bundled_ledger_gives_its_evidence_byte_for_byte(cli, kb_dir):
    before = snapshot(kb_dir / "kb")
    result = cli("import", "--kb", kb_dir, kb_dir / SAMPLE / f"{FZ_B}.csv")
    assert result.code == 0, result.err
    assert snapshot(kb_dir / "kb") == before


def test_a_corrected_ledger_under_a_new_name_needs_replace_or_add(cli, kb_dir, tmp_path):
    v2 = tmp_path / f"{FZ_B}-v2.csv"
    shutil.copy(kb_dir / SAMPLE / f"{FZ_B}.csv", v2)
    total = score(cli, kb_dir)["total"]
    before = snapshot(kb_dir / "kb")
    refused = cli("import", "--kb", kb_dir, v2)
    assert refused.code == 1
    assert (f"样例·福州乙开发区 2020 (1 item), 样例·福州乙开发区 2021 (60 items) already have a ledger: "
            f"{SAMPLE}/{FZ_B}.csv (kb/evidence/{FZ_B}.ttl); an office keeps one ledger per zone and year") in refused.err
    assert "give --replace" in refused.err and "or --add" in refused.err
    assert snapshot(kb_dir / "kb") == before
    replaced = cli("import", "--kb", kb_dir, "--replace", v2)
    assert replaced.code == 0, replaced.err
    assert f"replaces {SAMPLE}/{FZ_B}.csv (kb/evidence/{FZ_B}.ttl) for 样例·福州乙开发区 2020 (1 item)" in replaced.err
    assert not (kb_dir / "kb" / "evidence" / f"{FZ_B}.ttl").exists()  # the new ledger took its place
    assert len(set(evidence(kb_dir, f"{FZ_B}-v2").subjects(PKB.ledgerRow, None))) == 61
    assert score(cli, kb_dir)["total"] == total  # the same rows: the same score, not twice the rows


def test_a_second_ledger_kept_on_purpose_is_added_with_add(cli, kb_dir, tmp_path):
    second = tmp_path / "fz-b-2021-funds.csv"
    second.write_text("开发区,年度,类型,事项名称,金额（元）\nfz-b,2021,财政支持,省级专项资金,1000000\n", encoding="utf-8")
    before = score(cli, kb_dir)
    result = cli("import", "--kb", kb_dir, "--add", second)
    assert result.code == 0, result.err
    assert f"added beside {SAMPLE}/{FZ_B}.csv (kb/evidence/{FZ_B}.ttl) for 样例·福州乙开发区 2021" in result.err
    assert (kb_dir / "kb" / "evidence" / f"{FZ_B}.ttl").exists()
    # B9: 1,500,000 + 800,000 in fz-b's ledger and 1,000,000 here = 3,300,000 yuan → 3 points (2 before)
    assert before["indicators"]["B9"] == 2 and score(cli, kb_dir)["indicators"]["B9"] == 3


def test_two_ledgers_of_one_run_for_the_same_zone_and_year_need_add(cli, kb_dir, tmp_path):
    one, two = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (one, two):
        path.write_text("开发区,年度,类型,事项名称,层级\nfz-b,2022,体制机制,机制,市级\n", encoding="utf-8")
    result = cli("import", "--kb", kb_dir, one, two)
    assert result.code == 1
    assert f"{two}: this ledger and {one} both hold 样例·福州乙开发区 2022; an office keeps one ledger per zone and year" \
        in result.err
    assert cli("import", "--kb", kb_dir, "--add", one, two).code == 0


def test_a_header_only_ledger_does_not_wipe_the_evidence_of_its_earlier_import(cli, kb_dir):
    ledger = kb_dir / SAMPLE / f"{FZ_B}.csv"
    ledger.write_text(ledger.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    before = snapshot(kb_dir / "kb")
    result = cli("import", "--kb", kb_dir, ledger)
    assert result.code == 1
    assert ("the ledger has no rows, and importing it would delete the evidence its earlier import holds: "
            f"样例·福州乙开发区 2020 (1 item), 样例·福州乙开发区 2021 (60 items) in kb/evidence/{FZ_B}.ttl") in result.err
    assert f"to remove that evidence on purpose, delete kb/evidence/{FZ_B}.ttl" in result.err
    assert snapshot(kb_dir / "kb") == before


def test_a_ledger_is_recorded_by_its_path_in_the_knowledge_base_or_by_name_with_its_digest(cli, kb_dir, tmp_path):
    outside = tmp_path / "clerk" / "我的文件夹" / "fz-b-2022.csv"
    outside.parent.mkdir(parents=True)
    outside.write_text("开发区,年度,类型,事项名称,层级\nfz-b,2022,体制机制,机制,市级\n", encoding="utf-8")
    inside = kb_dir / "kb" / "ledgers" / "2022" / "fz-c-2022.csv"
    inside.parent.mkdir(parents=True)
    inside.write_text("开发区,年度,类型,事项名称,层级\nfz-c,2022,体制机制,机制,县级\n", encoding="utf-8")
    assert cli("import", "--kb", kb_dir, outside, inside).code == 0
    for path, stored in ((outside, "fz-b-2022.csv"), (inside, "kb/ledgers/2022/fz-c-2022.csv")):
        graph = evidence(kb_dir, path.stem)
        ledger = next(graph.subjects(PKB.sha256, None))
        assert graph.value(ledger, PKB.sha256) == Literal(hashlib.sha256(path.read_bytes()).hexdigest())
        assert {str(f) for f in graph.objects(None, PKB.ledgerFile)} == {stored}
        assert set(graph.objects(None, PKB.fromLedger)) == {ledger}
        assert "clerk" not in (kb_dir / "kb" / "evidence" / f"{path.stem}.ttl").read_text(encoding="utf-8")


def test_validate_names_the_rows_of_a_ledger_edited_after_its_import(cli, kb_dir):
    ledger = kb_dir / SAMPLE / f"{FZ_B}.csv"
    rows = list(csv.reader(ledger.open(encoding="utf-8")))
    assert rows[5][3] == "C01"  # spreadsheet row 6
    rows[5][3] = "C09"
    rows.append(["样例·福州乙开发区", "2021", "体制机制", "", "新机制", "市级"] + [""] * (len(rows[0]) - 6))
    with ledger.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    result = cli("validate", "--kb", kb_dir)
    assert result.code == 1
    assert (f"the ledger {SAMPLE}/{FZ_B}.csv was changed after it was imported (row 6 differs; row 63 is new): the "
            f"evidence in kb/evidence/{FZ_B}.ttl, and the scores and traces drawn from it, still hold the rows as "
            "they were; import it again") in result.err
    assert cli("import", "--kb", kb_dir, ledger).code == 0
    assert cli("validate", "--kb", kb_dir).code == 0


def test_validate_warns_of_a_ledger_deleted_after_its_import(cli, kb_dir):
    (kb_dir / SAMPLE / "sample-2021-zz-b.csv").unlink()
    result = cli("validate", "--kb", kb_dir, "--format", "json")
    assert result.code == 0  # the evidence still stands; it can only no longer be checked
    found = [v for v in json.loads(result.out) if v["shape"] == "ledger digest"]
    assert [(v["severity"], v["file"]) for v in found] == [("Warning", "kb/evidence/sample-2021-zz-b.ttl")]
    assert "the ledger kb/ledgers/sample/sample-2021-zz-b.csv was deleted or moved after it was imported" \
        in found[0]["message"]


def test_a_scope_the_knowledge_base_does_not_know_is_a_claim_that_validate_lists(cli, kb_dir, tmp_path):
    ledger = tmp_path / "fz-b-2022.csv"
    ledger.write_text("开发区,年度,类型,举措,范围\nfz-b,2022,复制推广,船舶证书三合一办理,跨区域\n", encoding="utf-8")
    result = cli("import", "--kb", kb_dir, ledger)
    assert result.code == 0, result.err
    item = URIRef("https://w3id.org/policykb/sample/evidence/fz-b-2022/r2")
    assert evidence(kb_dir, "fz-b-2022").value(item, PKB.scope) == SCOPE.cross  # recorded: the ledger's claim
    checked = cli("validate", "--kb", kb_dir, "--format", "json")
    assert checked.code == 0
    claims = [v for v in json.loads(checked.out) if v["shape"] == "queries/checks/scope-claimed.rq"]
    assert len(claims) == 1 and claims[0]["severity"] == "Warning"
    assert claims[0]["message"].startswith(
        "fz-b-2022.csv row 2 says that measure:gf-2018-12-ship-certificates-three-in-one is scope:cross, but the "
        "knowledge base gives the measure no scope, so only the ledger claims it")


def test_a_scope_that_agrees_with_the_knowledge_base_is_not_recorded_again(cli, kb_dir, tmp_path):
    ledger = tmp_path / "fz-b-2022.csv"
    ledger.write_text("开发区,年度,类型,举措,范围\nfz-b,2022,复制推广,C01,跨区域、跨部门、跨层级\n", encoding="utf-8")
    assert cli("import", "--kb", kb_dir, ledger).code == 0
    assert list(evidence(kb_dir, "fz-b-2022").objects(None, PKB.scope)) == []


def test_the_template_offers_drop_down_lists_and_imports_once_filled_in(cli, kb, kb_dir, tmp_path):
    template = tmp_path / "台账-2022.xlsx"
    assert cli("template", "--kb", kb_dir, template).code == 0
    book = load_workbook(template)
    sheet, lists = book["台账"], book["lists"]
    assert lists.sheet_state == "hidden"
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["开发区", "年度", "类型", "举措"] and len(header) == len(Vocabulary(kb).columns)
    choices = {}
    for validation in sheet.data_validations.dataValidation:
        column = header[_column(str(validation.sqref)) - 1]
        if validation.type == "list":
            ref = validation.formula1.split("!")[1].replace("$", "")
            first, last = ref.split(":")
            choices[column] = [lists[f"{first[0]}{r}"].value for r in range(int(first[1:]), int(last[1:]) + 1)]
    assert len(choices["类型"]) == 20 and "复制推广创新举措" in choices["类型"] and "媒体报道" in choices["类型"]
    assert sorted(choices["层级"]) == sorted(["国家级", "省级", "市级", "县级"])
    assert sorted(choices["范围"]) == sorted(["跨区域、跨部门、跨层级", "专项"])
    assert set(choices) == {"类型", "层级", "范围", "领域", "是否复制推广"}
    # a clerk fills in two rows with values picked from the lists
    row = {"开发区": "样例·福州乙开发区", "年度": 2022, "类型": "建立完善体制机制", "事项名称": "市级领导小组", "层级": "市级"}
    sheet.append([row.get(h) for h in header])
    row = {"开发区": "样例·福州乙开发区", "年度": 2022, "类型": "复制推广创新举措", "举措": "C01", "日期": "2022-03-01"}
    sheet.append([row.get(h) for h in header])
    book.save(template)
    result = cli("import", "--kb", kb_dir, template)
    assert result.code == 0, result.err
    graph = evidence(kb_dir, "台账-2022")
    assert len(set(graph.subjects(PKB.ledgerRow, None))) == 2


def _column(sqref: str) -> int:
    letters = "".join(c for c in sqref.split(":")[0] if c.isalpha())
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def test_ledgers_of_different_kinds_for_one_zone_and_year_are_two_ledgers(cli, kb_dir):
    """The Zhejiang office's ledger of reports received and a zone's replication table (附件3) both hold
    zj-a 2022, with different kinds of evidence: the table is imported beside the reports, no option needed."""
    (kb_dir / "kb" / "evidence" / "sample-2022-zj-a.ttl").unlink()  # as if the table had not been imported
    table = kb_dir / SAMPLE / "sample-2022-zj-a.csv"
    result = cli("import", "--kb", kb_dir, "--year", "2022", "--kind", "replication", table)
    assert result.code == 0, result.err
    assert "added beside" not in result.err and "replaces" not in result.err
    assert len(set(evidence(kb_dir, "sample-2022-zj-a").subjects(PKB.ledgerRow, None))) == 6
    reports = kb_dir / "kb" / "ledgers" / "zj-a-reports-2022.csv"  # but a second ledger of reports is one too many
    reports.write_text("联动创新区名称,年度,类型,季度,报送日期\nzj-a,2022,季度推进情况,4,2022-12-28\n", encoding="utf-8")
    refused = cli("import", "--kb", kb_dir, reports)
    assert refused.code == 1 and "样例·杭州甲联动创新区 2022 (7 items) already has a ledger: " \
        "kb/ledgers/sample/sample-2022-zj-reports.csv" in refused.err
