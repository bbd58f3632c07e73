"""Evidence ledgers (台账): bad rows are refused with file, row, column and a hint, and nothing is written."""

from __future__ import annotations

import csv
import hashlib

import pytest
from conftest import read_yaml

from policykb.ledgers.vocabulary import Vocabulary

BAD = read_yaml("bad-ledgers.yaml")


def _write(path, rows):
    headers = list(dict.fromkeys(h for r in rows for h in r))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for r in rows:
            writer.writerow([r.get(h, "") for h in headers])


def _snapshot(directory):
    return {p.relative_to(directory): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", BAD["cases"], ids=lambda c: c["name"])
def test_a_bad_row_stops_the_import_with_row_column_and_hint(cli, kb_dir, tmp_path, case):
    ledger = tmp_path / "台账-2021.csv"
    _write(ledger, [BAD["good"], case["row"]])
    before = _snapshot(kb_dir / "kb")
    result = cli("import", ledger, "--kb", kb_dir, "--add")
    assert result.code == 1
    assert result.err.splitlines()[1].startswith(f"{ledger}:3:{case['column']}: "), result.err
    assert case["message"] in result.err
    assert "hint:" in result.err and str(case["hint"]) in result.err
    assert "1 problem(s) in 1 file; nothing was imported" in result.err
    assert _snapshot(kb_dir / "kb") == before  # nothing half-written


def test_a_good_ledger_imports_and_scores(cli, kb_dir, tmp_path):
    ledger = tmp_path / "台账-2021-fz-c.csv"
    _write(ledger, [BAD["good"], {**BAD["good"], "举措": "C02"}, {**BAD["good"], "举措": "C01"}])
    refused = cli("import", ledger, "--kb", kb_dir)  # fz-b's 2021 ledger is imported: a second one is on purpose only
    assert refused.code == 1 and "样例·福州乙开发区 2021 (60 items) already has a ledger" in refused.err
    result = cli("import", ledger, "--kb", kb_dir, "--add")
    assert result.code == 0, result.err
    written = kb_dir / "kb" / "evidence" / "台账-2021-fz-c.ttl"
    assert written.exists() and written.read_text(encoding="utf-8").count("a pkb:Replication") == 3
    explained = cli("explain", "fz-b", "--scheme", "fujian-2021", "--year", "2021", "--kb", kb_dir, "--format", "json")
    b4 = next(i for i in __import__("json").loads(explained.out)["indicators"] if i["code"] == "B4")
    # the new C01 and C02 rows duplicate what fz-b's own ledger already counts: still 7 measures, 14 before the cap
    assert b4["points_before_cap"] == 14
    assert sum("duplicate" in n["reason"] for n in b4["not_counted"]) == 4  # with row 13 of its own ledger


def test_two_ledgers_are_imported_all_or_nothing(cli, kb_dir, tmp_path):
    good, bad = tmp_path / "a.csv", tmp_path / "b.csv"
    _write(good, [BAD["good"]])
    _write(bad, [BAD["good"], BAD["cases"][0]["row"]])
    before = _snapshot(kb_dir / "kb")
    result = cli("import", good, bad, "--kb", kb_dir)
    assert result.code == 1 and f"{bad}:3:开发区" in result.err
    assert _snapshot(kb_dir / "kb") == before


def test_dry_run_checks_and_writes_nothing(cli, kb_dir, tmp_path):
    ledger = tmp_path / "a.csv"
    _write(ledger, [BAD["good"]])
    before = _snapshot(kb_dir / "kb")
    result = cli("import", ledger, "--kb", kb_dir, "--dry-run", "--add")
    assert result.code == 0 and "checked 1 evidence item" in result.err
    assert _snapshot(kb_dir / "kb") == before


def test_the_csv_template_has_the_chinese_header_of_every_column(cli, kb, tmp_path):
    out = tmp_path / "template.csv"
    assert cli("template", out).code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so that Excel reads it as UTF-8
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:4] == ["开发区", "年度", "类型", "举措"]
    assert {"事项名称", "层级", "范围", "数量", "金额（元）", "日期", "佐证材料", "自评分", "备注"} <= set(header)
    assert len(header) == len(Vocabulary(kb).columns) == 25


def test_another_ledger_of_the_same_name_does_not_silently_replace_evidence(cli, kb_dir, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    ledger = other / "sample-2021-fz-a.csv"  # the name of a bundled sample ledger, holding fz-b's rows
    _write(ledger, [BAD["good"]])
    before = _snapshot(kb_dir / "kb")
    result = cli("import", ledger, "--kb", kb_dir)
    assert result.code == 1
    assert "already holds the evidence of another ledger of the same name" in result.err
    assert "kb/ledgers/sample/sample-2021-fz-a.csv" in result.err and "--replace" in result.err
    assert _snapshot(kb_dir / "kb") == before
    assert cli("import", ledger, "--kb", kb_dir, "--replace").code == 0


def test_a_folder_without_a_knowledge_base_is_refused(cli, tmp_path):
    result = cli("info", "--kb", tmp_path)
    assert result.code == 1 and "holds no knowledge base" in result.err


def test_a_ledger_imported_twice_under_two_names_is_flagged(cli, kb_dir, tmp_path):
    import shutil

    copy = tmp_path / "fz-b-again.csv"
    shutil.copy(kb_dir / "kb" / "ledgers" / "sample" / "sample-2021-fz-b.csv", copy)
    assert cli("import", copy, "--kb", kb_dir, "--add").code == 0
    result = cli("validate", "--kb", kb_dir, "--format", "json")
    assert result.code == 0  # a warning: two equal rows may be two real items
    warnings = [w for w in __import__("json").loads(result.out) if w["shape"] == "queries/checks/evidence-repeated.rq"]
    assert len(warnings) == 61  # every row of fz-b's ledger (header = row 1, rows 2–62)
    assert any("fz-b-again.csv row 9 and kb/ledgers/sample/sample-2021-fz-b.csv row 9" in w["message"] for w in warnings)


def test_statements_about_evidence_in_another_file_are_a_violation(cli, kb_dir):
    # Scoring reads an evidence item from its own file only: a count written about fz-b's row 10 in a
    # hand-written file would change nothing, so validate names both files and exits 1.
    (kb_dir / "kb" / "sample" / "extra-facts.ttl").write_text(
        "@prefix pkb: <https://w3id.org/policykb/def#> .\n"
        "<https://w3id.org/policykb/sample/evidence/sample-2021-fz-b/r10> pkb:count 3 .\n",
        encoding="utf-8")
    result = cli("validate", "--kb", kb_dir, "--format", "json")
    assert result.code == 1
    found = [v for v in __import__("json").loads(result.out) if v["shape"] == "queries/checks/evidence-one-file.rq"]
    assert len(found) == 1
    assert found[0]["focus"].endswith("sample-2021-fz-b/r10")
    assert "described in kb/evidence/sample-2021-fz-b.ttl, and kb/sample/extra-facts.ttl says more" in found[0]["message"]
    assert "(pkb:count)" in found[0]["message"]
