"""Rule test cases for office staff: given evidence rows → expected points (rules/<scheme>.tests.yaml).

A case lists ledger rows per zone (the same columns as a ledger, English names) and what the scheme
must give each zone: points per indicator, total, rank, outcome, eligibility. The rows replace all
evidence of the knowledge base for that case, so a case says everything its answer depends on; the
zones, measures and documents are those of the knowledge base. Only the zones a case names are scored
and ranked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from .errors import LedgerError, Location, RuleError
from .evaluate import evaluate
from .ledger import Ledger, LedgerRow, Vocabulary, to_graph, zone_index
from .load import KnowledgeBase
from .rules import Scheme

CASE_KEYS = ("name", "year", "evidence", "expect", "note")
EXPECT_KEYS = ("total", "rank", "outcome", "eligible", "self_total")
TEST_GRAPH = "rule-tests/case.ttl"


@dataclass(frozen=True)
class Failure:
    zone: str
    what: str
    expected: object
    got: object


@dataclass(frozen=True)
class CaseResult:
    file: str
    line: int
    name: str
    failures: tuple[Failure, ...]
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures and self.error is None


def test_file_for(rule_file: Path) -> Path:
    return rule_file.with_name(rule_file.stem + ".tests.yaml")


def load_cases(path: Path, shown: str) -> tuple[str, list[tuple[int, dict]]]:
    """The scheme id and the cases of a test file, each with its line number."""
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise RuleError(f"YAML syntax error: {exc.problem}", location=Location(shown, mark.line + 1, mark.column + 1),
                        hint="indent with spaces and write `key: value`") from None
    if not isinstance(data, dict) or "scheme" not in data or not isinstance(data.get("cases"), list):
        raise RuleError("a test file has `scheme:` and a list of `cases:`", location=Location(shown, 1),
                        hint="see rules/README.md, section Tests")
    case_nodes = next(v for k, v in root.value if k.value == "cases").value
    cases = []
    for node, case in zip(case_nodes, data["cases"]):
        line = node.start_mark.line + 1
        if not isinstance(case, dict):
            raise RuleError("a case is a mapping", location=Location(shown, line), hint=f"keys: {', '.join(CASE_KEYS)}")
        unknown = set(case) - set(CASE_KEYS)
        if unknown:
            raise RuleError(f"unknown key {sorted(unknown)[0]!r} in a case", location=Location(shown, line),
                            hint=f"a case's keys are: {', '.join(CASE_KEYS)}")
        for key in ("name", "year", "evidence", "expect"):
            if key not in case:
                raise RuleError(f"the case has no {key!r}", location=Location(shown, line),
                                hint="each case needs name, year, evidence and expect")
        cases.append((line, case))
    return str(data["scheme"]), cases


def run_cases(kb: KnowledgeBase, scheme: Scheme, path: Path, shown: str) -> list[CaseResult]:
    """Run every case of a test file against a knowledge base whose own evidence is set aside."""
    _, cases = load_cases(path, shown)
    vocabulary = Vocabulary(kb)
    zones = zone_index(kb)
    evidence_graphs = [n for n in kb.store.graph_names() if n.startswith("kb/evidence/")]
    saved = {name: kb.store.get(name) for name in evidence_graphs}
    try:
        for name in evidence_graphs:
            kb.store.remove(name)
        return [_run_case(kb, scheme, vocabulary, zones, shown, line, case) for line, case in cases]
    finally:
        if TEST_GRAPH in kb.store.graph_names():
            kb.store.remove(TEST_GRAPH)
        for name, graph in saved.items():
            kb.store.put(name, graph)


def _run_case(kb, scheme, vocabulary, zones, shown, line, case) -> CaseResult:
    name = str(case["name"])
    try:
        year = int(case["year"])
        rows, iris = [], {}
        for zone_name, zone_rows in (case["evidence"] or {}).items():
            iri, close = zones.find(str(zone_name))
            if iri is None:
                raise LedgerError(f"unknown zone {zone_name!r}", location=Location(shown, line),
                                  hint=f"did you mean {', '.join(close)}?" if close else "use a zone id such as fz-b")
            iris[str(zone_name)] = str(iri)
            for row in zone_rows or []:
                cells = {k: str(v) for k, v in row.items() if v is not None}
                cells.setdefault("zone", str(iri))
                cells.setdefault("year", str(year))
                rows.append(LedgerRow(len(rows) + 2, cells))
        for zone_name in case["expect"]:
            if str(zone_name) not in iris:
                iri, _ = zones.find(str(zone_name))
                if iri is None:
                    raise LedgerError(f"unknown zone {zone_name!r} under expect", location=Location(shown, line),
                                      hint="name the zones as under evidence")
                iris[str(zone_name)] = str(iri)
        columns = tuple(sorted({c for r in rows for c in r.cells}))
        ledger = Ledger(Path(f"{name}.csv"), f"{shown} case {name!r}", columns, tuple(rows))
        graph = to_graph(ledger, vocabulary, ledger_name=f"{shown}#line{line}")
        kb.store.put(TEST_GRAPH, graph)
        result = evaluate(kb, scheme, year, only=set(iris.values()))
    except (LedgerError, RuleError) as exc:
        return CaseResult(shown, line, name, (), str(exc))
    finally:
        if TEST_GRAPH in kb.store.graph_names():
            kb.store.remove(TEST_GRAPH)
    failures = []
    for zone_name, expected in case["expect"].items():
        got = result.zone(iris[str(zone_name)])
        for key, want in (expected or {}).items():
            if key in EXPECT_KEYS:
                have = getattr(got, key)
            else:
                try:
                    have = got.indicator(key).points
                except StopIteration:
                    failures.append(Failure(str(zone_name), key, want, "no such indicator"))
                    continue
            if not _same(want, have):
                failures.append(Failure(str(zone_name), key, want, have))
    return CaseResult(shown, line, name, tuple(failures))


def _same(want, have) -> bool:
    if isinstance(have, Decimal) or (isinstance(want, (int, float, str)) and isinstance(have, (int, Decimal))
                                     and not isinstance(have, bool) and not isinstance(want, bool)):
        try:
            return have is not None and Decimal(str(want)) == Decimal(have)
        except InvalidOperation:
            return False
    return want == have
