"""Rule test cases for office staff: given evidence rows → expected points (rules/<scheme>.tests.yaml).

A case lists ledger rows per zone (the same columns as a ledger, English names) and what the scheme
must give each zone: points per indicator, total, rank, outcome, eligibility. The rows replace all
evidence of the knowledge base for that case, so a case says everything its answer depends on; the
zones, measures and documents are those of the knowledge base. Only the zones a case names are scored
and ranked.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from ..errors import LedgerError, Location, RuleError
from ..kb.load import KnowledgeBase
from ..kb.names import norm as _norm
from ..kb.names import zone_index
from ..kb.store import OxigraphStore
from ..ledgers.convert import to_graph
from ..ledgers.read import Ledger, LedgerRow
from ..ledgers.vocabulary import Vocabulary
from ..namespace import curie
from ..rules import yamlfile
from ..rules.model import Scheme
from .evaluate import evaluate

CASE_KEYS = ("name", "year", "evidence", "expect", "note")
EXPECT_KEYS = ("total", "rank", "outcome", "eligible", "self_total")
TEST_GRAPH = "rule-tests/case.ttl"
NULL_TAG = "tag:yaml.org,2002:null"


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
    """The scheme id and the cases of a test file, each with its line number.

    A case's evidence rows come back as the text written in the file (`{"zone": [(line, cells)]}`):
    `status: no` stays the ledger word `no` rather than YAML's false, `count: 010` stays 010, exactly
    as the cells of a CSV ledger would read.
    """
    # read like a rule file: within its limits, with mistakes named in the words of rules/README.md
    root = yamlfile.load(path, shown)
    data = yaml.SafeLoader("").construct_document(root) if root is not None else None
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
        if isinstance(case["year"], bool) or not re.fullmatch(r"\d{4}", str(case["year"]).strip()):
            raise RuleError(f"year: {case['year']!r} is not a year", location=Location(shown, _line_of(node, "year")),
                            hint="write the evaluation year as digits, e.g. year: 2021")
        nodes = dict((k.value, v) for k, v in node.value)
        cases.append((line, {**case, "evidence": _evidence_rows(nodes["evidence"], shown),
                             "expect": _expectations(nodes["expect"], case["expect"], shown)}))
    return str(data["scheme"]), cases


def _line_of(case_node: yaml.MappingNode, key: str) -> int:
    return next((v.start_mark.line + 1 for k, v in case_node.value if k.value == key), case_node.start_mark.line + 1)


def _evidence_rows(node: yaml.Node, shown: str) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """`evidence:` as zone → [(line, cells)], each cell the text written (empty and null cells left out)."""
    if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise RuleError("evidence: write the rows per zone", location=Location(shown, node.start_mark.line + 1),
                        hint="write `fz-b:` and under it the zone's rows, each `- {kind: replication, measure: C01}`")
    out: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for zone_node, rows_node in node.value:
        rows = out.setdefault(str(zone_node.value), [])
        if isinstance(rows_node, yaml.ScalarNode) and rows_node.tag == NULL_TAG:
            continue
        if not isinstance(rows_node, yaml.SequenceNode):
            raise RuleError(f"evidence of {zone_node.value}: write a list of rows",
                            location=Location(shown, rows_node.start_mark.line + 1),
                            hint="write each row as `- {kind: replication, measure: C01}`")
        for row_node in rows_node.value:
            if not isinstance(row_node, yaml.MappingNode) or not all(
                    isinstance(v, yaml.ScalarNode) for _, v in row_node.value):
                raise RuleError("a row is a mapping of ledger columns to single values",
                                location=Location(shown, row_node.start_mark.line + 1),
                                hint="write e.g. `- {kind: replication, measure: C01, year: 2020}`")
            cells = {str(k.value): str(v.value).strip() for k, v in row_node.value
                     if v.tag != NULL_TAG and str(v.value).strip()}
            rows.append((row_node.start_mark.line + 1, cells))
    return out


def _expectations(node: yaml.Node, expect, shown: str) -> dict:
    if not isinstance(expect, dict) or not all(v is None or isinstance(v, dict) for v in expect.values()):
        raise RuleError("expect: write what each zone must get", location=Location(shown, node.start_mark.line + 1),
                        hint="write e.g. `fz-b: {B4: 2, total: 2, rank: 1, outcome: reward}`")
    return expect


def run_cases(kb: KnowledgeBase, scheme: Scheme, path: Path, shown: str) -> list[CaseResult]:
    """Run every case of a test file against a knowledge base whose own evidence is set aside."""
    scheme_id, cases = load_cases(path, shown)
    if scheme_id != scheme.id:
        raise RuleError(f"the test file is for the scheme {scheme_id!r}, not {scheme.id!r}", location=Location(shown, 1),
                        hint=f"write `scheme: {scheme.id}` in {shown}, or put the cases in rules/{scheme_id}.tests.yaml")
    vocabulary = Vocabulary(kb)
    zones = zone_index(kb)
    scratch = without_evidence(kb)
    try:
        return [_run_case(scratch, scheme, vocabulary, zones, shown, line, case) for line, case in cases]
    finally:
        scratch.close()


def without_evidence(kb: KnowledgeBase) -> KnowledgeBase:
    """A copy of the knowledge base in memory without its evidence graphs (kb/evidence/), for rule tests."""
    store = OxigraphStore()
    manifest = kb.store.manifest()
    kept = {name: source for name, source in kb.files.items() if not name.startswith("kb/evidence/")}
    for name in kept:
        store.put(name, kb.store.graph(name), manifest[name].digest if name in manifest else "")
    return KnowledgeBase(kb.layout, store, kept)


def _run_case(kb, scheme, vocabulary, zones, shown, line, case) -> CaseResult:
    name = str(case["name"])
    try:
        year = int(case["year"])
        if scheme.first_year and year < scheme.first_year:
            raise RuleError(f"the scheme {scheme.id} applies from {scheme.first_year}, not {year}",
                            location=Location(shown, line), hint=f"write year: {scheme.first_year} or later")
        rows, iris, lines = [], {}, {}
        for zone_name, zone_rows in case["evidence"].items():
            iri, close = zones.find(str(zone_name))
            if iri is None:
                raise LedgerError(f"unknown zone {zone_name!r}", location=Location(shown, line),
                                  hint=f"did you mean {', '.join(close)}?" if close else "use a zone id such as fz-b")
            iris[str(zone_name)] = str(iri)
            for row_line, row in zone_rows:
                cells = _columns(row, vocabulary, Location(shown, row_line))
                cells.setdefault("zone", curie(iri))
                cells.setdefault("year", str(year))
                number = len(rows) + 2
                lines[number] = row_line
                rows.append(LedgerRow(number, cells))
        for zone_name in case["expect"]:
            if str(zone_name) not in iris:
                iri, _ = zones.find(str(zone_name))
                if iri is None:
                    raise LedgerError(f"unknown zone {zone_name!r} under expect", location=Location(shown, line),
                                      hint="name the zones as under evidence")
                iris[str(zone_name)] = str(iri)
        columns = tuple(sorted({c for r in rows for c in r.cells}))
        ledger = Ledger(Path(f"{name}.csv"), f"{shown} case {name!r}", columns, tuple(rows))
        try:
            graph = to_graph(ledger, vocabulary, ledger_name=f"{shown}#line{line}")
        except LedgerError as exc:
            raise _at_row(exc, ledger.name, lines, shown) from None
        kb.store.put(TEST_GRAPH, graph)
        result = evaluate(kb, scheme, year, only=set(iris.values()))
        scored = {z.zone.iri for z in result.zones}
        outside = [n for n, iri in iris.items() if iri not in scored]
        if outside:
            raise RuleError(f"{outside[0]} is not a zone that the scheme {scheme.id} scores",
                            location=Location(shown, line),
                            hint=f"the scheme scores the zones of the class {curie(scheme.zones)}, e.g. fz-b")
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
                    failures.append(Failure(str(zone_name), key, want,
                                            f"no such indicator (or key: {', '.join(EXPECT_KEYS)})"))
                    continue
            if not _same(want, have):
                failures.append(Failure(str(zone_name), key, want, have))
    return CaseResult(shown, line, name, tuple(failures))


def _columns(row: dict[str, str], vocabulary: Vocabulary, where: Location) -> dict[str, str]:
    """A row's cells by canonical column name; a column may be written in English or as a ledger's Chinese header."""
    cells: dict[str, str] = {}
    for key, value in row.items():
        column = vocabulary.by_header.get(_norm(key))
        if column is None:
            close = difflib.get_close_matches(_norm(key), list(vocabulary.by_header), n=1)
            raise LedgerError(f"unknown column {key!r}", location=where,
                              hint=(f"did you mean {close[0]!r}? " if close else "")
                              + f"columns are: {', '.join(sorted(vocabulary.columns))}")
        if column.name in cells:
            raise LedgerError(f"column {column.name!r} appears twice in the row", location=where,
                              hint="keep one value per column")
        cells[column.name] = value
    return cells


def _at_row(exc: LedgerError, ledger_name: str, lines: dict[int, int], shown: str) -> LedgerError:
    """A bad cell's error pointed at the line of the test file where its row is written."""
    loc = exc.location
    if loc is not None and loc.file == ledger_name and loc.line in lines:
        return LedgerError(exc.message, location=Location(shown, lines[loc.line], loc.column), hint=exc.hint)
    return exc


def _same(want, have) -> bool:
    if isinstance(have, Decimal) or (isinstance(want, (int, float, str)) and isinstance(have, (int, Decimal))
                                     and not isinstance(have, bool) and not isinstance(want, bool)):
        try:
            return have is not None and Decimal(str(want)) == Decimal(have)
        except InvalidOperation:
            return False
    return want == have
