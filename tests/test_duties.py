"""Reporting duties (section 三 of the Zhejiang 2022 notice) as rules over the knowledge base: the duties
declared in rules/zhejiang-2022.yaml, their statuses on fixed days (tests/data/duties-2022.yaml), and the
mistakes a duty can have (tests/data/bad-duties.yaml)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest
import yaml
from conftest import read_yaml
from policykb.errors import Location, RuleError, RuleErrors
from policykb.namespace import PKB, expand_iri
from policykb.rules.duties import Duty, load_duties, parse_duties
from policykb.scoring.duties import duty_status
from policykb.scoring.schemes import vocabulary_of
from rdflib import URIRef

STATUSES = read_yaml("duties-2022.yaml")
BAD = read_yaml("bad-duties.yaml")
SAMPLE_ZONES = [str(expand_iri(f"sample:zone-zj-{z}")) for z in "abcde"]
MECHANISM = "https://w3id.org/policykb/doc/zj-ftzo-2022-0505/mechanism/"


def bundled_rules():
    from policykb.kb.layout import Layout

    return Layout.bundled().rules


@pytest.fixture(scope="module")
def duties(kb):
    return load_duties(kb.layout.rules / "zhejiang-2022.yaml", vocabulary_of(kb).kinds, shown="rules/zhejiang-2022.yaml")


def test_the_scheme_declares_the_three_duties_of_section_3(duties):
    got = [(d.id, str(d.source), d.kind, d.evidence_class, d.every, d.due_days, d.due_on) for d in duties]
    assert got == [
        ("quarterly-progress", MECHANISM + "2", "progress-report", PKB.ProgressReport, "quarter", 0, None),
        ("quarterly-information", MECHANISM + "3", "information-report", PKB.InformationReport, "quarter", 0, None),
        ("annual-summary", MECHANISM + "4", "annual-summary", PKB.AnnualSummary, "year", None, (12, 31)),
    ]
    assert all(d.interpretation for d in duties)  # the notice gives no quarterly deadline: the reading is written down
    lines = (bundled_rules() / "zhejiang-2022.yaml").read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.strip() == "- id: quarterly-progress")
    assert duties[0].location == Location("rules/zhejiang-2022.yaml", line, 5)


def test_a_rule_loader_can_hand_over_the_duties_node(duties, kb):
    text = (kb.layout.rules / "zhejiang-2022.yaml").read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert [k.value for k, _ in root.value] == ["scheme", "indicators", "duties"]
    node = dict((k.value, v) for k, v in root.value)["duties"]
    assert parse_duties(node, "rules/zhejiang-2022.yaml", vocabulary_of(kb).kinds) == duties


def test_periods_and_due_dates(duties):
    progress, _, summary = duties
    assert [(p.label, p.due) for p in progress.periods(2022)] == [
        ("2022-Q2", date(2022, 6, 30)), ("2022-Q3", date(2022, 9, 30)), ("2022-Q4", date(2022, 12, 31))]
    assert [p.label for p in progress.periods(2023)] == ["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4"]
    assert [(p.label, p.due) for p in summary.periods(2022)] == [("2022", date(2022, 12, 31))]
    later = Duty(**{**progress.__dict__, "due_days": 15, "starts": None})
    assert [p.due for p in later.periods(2024)] == [date(2024, 4, 15), date(2024, 7, 15), date(2024, 10, 15),
                                                   date(2025, 1, 15)]


@pytest.mark.parametrize("as_of", list(STATUSES), ids=str)
def test_statuses_as_worked_out_by_hand(kb, duties, as_of):
    expect = STATUSES[as_of]
    found = duty_status(kb, duties, SAMPLE_ZONES, 2022, as_of)
    got: dict[str, dict[str, list[str]]] = {}
    for s in found:
        got.setdefault(str(expand_iri(s.zone)), {}).setdefault(s.duty, []).append(s.status)
    assert got == {str(expand_iri(z)): statuses for z, statuses in expect["zones"].items()}
    assert dict(Counter(s.status for s in found)) == {k: v for k, v in expect["counts"].items() if v}
    by_key = {(s.zone, s.duty, s.period): s for s in found}
    for zone, duty, period, where in expect.get("evidence", []):
        status = by_key[(str(expand_iri(zone)), duty, period)]
        assert status.report.where == where
        assert status.source == str(next(d.source for d in duties if d.id == duty))
    for s in found:  # a report counts only once it was sent
        assert (s.report is None) == (s.status in ("overdue", "due"))
        assert s.report is None or s.report.date <= as_of


def test_every_zone_the_clauses_oblige_is_listed(kb, duties):
    found = duty_status(kb, duties, None, 2022, date(2023, 1, 31))
    zones = {s.zone for s in found}
    assert len(zones) == 11  # the 6 real and 5 sample linkage zones (各联动创新区)
    real = [s for s in found if s.zone == "https://w3id.org/policykb/zone/zj-linkage-hangzhou"]
    assert len(real) == 7 and {s.status for s in real} == {"overdue"}  # no report of it in the knowledge base


def test_a_clause_that_obliges_no_zone_is_a_rule_error(kb, duties):
    orphan = Duty(**{**duties[0].__dict__, "source": URIRef(MECHANISM + "6")})
    with pytest.raises(RuleError) as caught:
        duty_status(kb, [orphan], None, 2022, date(2023, 1, 31))
    assert caught.value.location == duties[0].location
    assert "no zone is obliged by the clause doc:zj-ftzo-2022-0505/mechanism/6" in str(caught.value)


@pytest.mark.parametrize("case", BAD, ids=lambda c: c["name"])
def test_a_mistake_in_a_duty_names_line_and_column(kb, tmp_path, case):
    path = tmp_path / "scheme.yaml"
    path.write_text(case["text"], encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_duties(path, vocabulary_of(kb).kinds, shown="rules/scheme.yaml")
    error = caught.value
    assert (error.location.file, error.location.line, error.location.column) == ("rules/scheme.yaml", case["line"],
                                                                               case["column"])
    assert case["says"] in error.message
    assert case["hint"] in error.hint


def test_several_bad_duties_are_reported_together(kb, tmp_path):
    texts = [case["text"].split("\n", 1)[1] for case in BAD[:2]]  # two bad duties in one file
    path = tmp_path / "scheme.yaml"
    path.write_text("duties:\n" + "".join(texts), encoding="utf-8")
    with pytest.raises(RuleErrors) as caught:
        load_duties(path, vocabulary_of(kb).kinds)
    assert [e.location.line for e in caught.value.errors] == [8, 12]


# --- the command ------------------------------------------------------------------------------

def test_duties_command_for_one_zone(cli):
    result = cli("duties", "--scheme", "zhejiang-2022", "--year", "2022", "--as-of", "2022-10-15", "--zone", "zj-b",
                 "--format", "csv")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "zone,label,duty,period,due,status,sent,evidence,clause"
    assert lines[1] == ("sample:zone-zj-b,样例·宁波甲联动创新区,quarterly-progress,2022-Q2,2022-06-30,late,2022-07-08,"
                        "kb/ledgers/sample/sample-2022-zj-reports.csv:9,doc:zj-ftzo-2022-0505/mechanism/2")
    assert lines[-1] == ("sample:zone-zj-b,样例·宁波甲联动创新区,annual-summary,2022,2022-12-31,due,,,"
                         "doc:zj-ftzo-2022-0505/mechanism/4")  # its summary of 2023-01-06 was not yet sent
    assert len(lines) == 8


def test_duties_command_json_keeps_the_structure(cli):
    result = cli("duties", "--scheme", "zhejiang-2022", "--year", "2022", "--as-of", "2023-01-31", "--format", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert len(rows) == 77  # 11 zones × (3 + 3 + 1)
    first = rows[0]
    assert first["zone"] == "https://w3id.org/policykb/sample/zone-zj-a" and first["due"] == "2022-06-30"
    assert first["report"] == {"evidence": "https://w3id.org/policykb/sample/evidence/sample-2022-zj-reports/r2",
                               "date": "2022-06-28", "ledger_file": "kb/ledgers/sample/sample-2022-zj-reports.csv",
                               "ledger_row": 2}


def test_duties_table_sums_up_on_stderr(cli):
    result = cli("duties", "--scheme", "zhejiang-2022", "--year", "2022", "--as-of", "2023-01-31", "--zone", "zj-c")
    assert result.code == 0, result.err
    assert "7 duty period(s) for 1 zone(s) as of 2023-01-31: 0 done, 0 late, 7 overdue, 0 due" in result.err


@pytest.mark.parametrize("args, code, says", [
    (["--scheme", "zhejiang", "--year", "2022"], 2, "did you mean zhejiang-2022?"),
    (["--scheme", "zhejiang-2022", "--year", "2022", "--zone", "fz-a"], 2, "no duty of the scheme zhejiang-2022 falls on sample:zone-fz-a"),
    (["--scheme", "zhejiang-2022", "--year", "2022", "--zone", "zj-x"], 2, "no zone 'zj-x'"),
])
def test_duties_command_usage_errors(cli, args, code, says):
    result = cli("duties", *args)
    assert result.code == code
    assert says in result.err


def test_a_date_that_is_not_one_is_a_usage_error(capsys):
    from policykb.cli import main

    with pytest.raises(SystemExit) as done:
        main(["duties", "--scheme", "zhejiang-2022", "--year", "2022", "--as-of", "2022-12-32"])
    assert done.value.code == 2
    assert "'2022-12-32' is not a date: write YYYY-MM-DD" in capsys.readouterr().err


def test_a_report_without_its_date_is_refused_at_import(cli, kb_dir):
    ledger = kb_dir / "kb" / "ledgers" / "reports.csv"
    ledger.write_text("联动创新区名称,年度,类型,季度,报送日期\nzj-c,2022,季度推进情况,2,2022-06-30\nzj-c,2022,信息专报,2,\n",
                      encoding="utf-8")
    result = cli("import", ledger, "--kb", kb_dir)
    assert result.code == 1
    assert result.err.splitlines()[1].startswith("kb/ledgers/reports.csv:3:报送日期: "), result.err
    assert "decides whether it was on time" in result.err
    assert not (kb_dir / "kb" / "evidence" / "reports.ttl").exists()
