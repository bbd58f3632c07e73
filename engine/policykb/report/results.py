"""Published results: a scheme's scores for a year frozen as Turtle under kb/results/ (`policykb publish`).

A file there is a named graph of the knowledge base like any other, so the endpoint and `policykb query`
answer from it (queries/zones-rewarded.rq). One plain-data model, `Result`, is built from an evaluation,
written as Turtle and read back; `diff.py` compares two of them. The Turtle is deterministic: no blank
nodes, every resource named from the scheme, year, zone and indicator, and the only date is the issue
date given on the command line, so the same inputs publish the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Mapping

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, XSD

from ..kb.layout import Layout
from ..namespace import BASE, PKB, bind_prefixes
from ..rules.source import RuleText
from ..scoring.evaluate import Evaluation, IndicatorScore, ZoneScore
from ..scoring.explain import add_input
from ..scoring.provenance import RESULTS_DIR, FileDigest, Inputs

RESULT = BASE + "result/"
RULE_SECTIONS = ("exclusion", "ranking", "outcomes")


@dataclass(frozen=True)
class CountedItem:
    evidence: str  # IRI
    where: str  # "kb/ledgers/…/sample-2021-fz-b.csv row 27", or the IRI when it has no ledger row
    units: Decimal | None = None  # the count or the amount the item stood for
    points: Decimal | None = None


@dataclass(frozen=True)
class IndicatorResult:
    code: str
    clause: str
    points: Decimal | None
    before_cap: Decimal | None = None
    self_score: Decimal | None = None
    arithmetic: str = ""
    awards: tuple[str, ...] = ()
    counted: tuple[CountedItem, ...] = ()


@dataclass(frozen=True)
class ZoneResult:
    zone: str  # IRI
    label: str
    code: str
    sample: bool
    total: Decimal | None
    self_total: Decimal | None
    rank: int | None
    rank_from_bottom: int | None
    outcome: str
    outcomes_met: tuple[str, ...]  # sorted: the precedence is the rule file's, kept with the outcomes rule
    eligible: bool
    no_data: bool
    indicators: tuple[IndicatorResult, ...]
    subtotals: Mapping[str, Decimal] = field(default_factory=dict)

    def indicator(self, code: str) -> IndicatorResult | None:
        return next((i for i in self.indicators if i.code == code), None)


@dataclass(frozen=True)
class Result:
    """Every zone's scores under a scheme for a year, with the rules and the digests they came from."""

    scheme: str
    scheme_name: str
    year: int
    issued: date | None
    rule_file: str
    version: str
    zones: tuple[ZoneResult, ...]
    rules: Mapping[str, RuleText]
    inputs: tuple[FileDigest, ...] = ()
    clauses: Mapping[str, str] = field(default_factory=dict)  # level code → clause IRI (F1, A1, …)
    exclusion_clause: str | None = None

    def zone(self, iri: str) -> ZoneResult | None:
        return next((z for z in self.zones if z.zone == iri), None)


def result_path(layout: Layout, scheme: str, year: int) -> Path:
    return layout.kb / RESULTS_DIR / f"{scheme}-{year}.ttl"


# ---------------------------------------------------------------------------------------------
# From an evaluation
# ---------------------------------------------------------------------------------------------

def from_evaluation(evaluation: Evaluation, inputs: Inputs, rules: Mapping[str, RuleText],
                    issued: date | None = None) -> Result:
    scheme = evaluation.scheme
    top = {lv.code for lv in scheme.levels if lv.parent is None}  # first-level subtotals, as the score table
    zones = tuple(_zone(z, top) for z in evaluation.zones)
    return Result(scheme.id, scheme.name, evaluation.year, issued, scheme.file, inputs.version, zones, dict(rules),
                  tuple(sorted(inputs.all(), key=_input_order)),
                  {lv.code: str(lv.source) for lv in scheme.levels if lv.parent is None},
                  str(scheme.exclusion.source) if scheme.exclusion else None)


def _input_order(d: FileDigest) -> tuple:
    return (d.role != "rules", d.role, d.path)


def _zone(z: ZoneScore, top: set[str]) -> ZoneResult:
    return ZoneResult(z.zone.iri, z.zone.label, z.zone.code, z.zone.sample, z.total, z.self_total, z.rank,
                      z.rank_from_bottom, z.outcome, tuple(sorted(z.outcomes_met)), z.eligible, z.no_data,
                      tuple(_indicator(i) for i in z.indicators),
                      {code: points for code, points in z.subtotals.items() if code in top})


def _indicator(ind: IndicatorScore) -> IndicatorResult:
    counted = tuple(CountedItem(line.item.id, where_of(line.item), line.units, line.points)
                    for line in ind.items if line.counted)
    return IndicatorResult(ind.code, ind.source, ind.points if ind.points is not None else ind.value, ind.raw,
                           ind.self_score, ind.arithmetic, tuple(sorted(a.id for a in ind.awards if a.given)), counted)


def where_of(item) -> str:
    if item.ledger_file:
        return f"{item.ledger_file} row {item.ledger_row}" if item.ledger_row else item.ledger_file
    return item.id


# ---------------------------------------------------------------------------------------------
# To Turtle and back
# ---------------------------------------------------------------------------------------------

def _dec(value: Decimal) -> Literal:
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return Literal(text, datatype=XSD.decimal)


def _int(value: int) -> Literal:
    return Literal(value, datatype=XSD.integer)


def base_of(scheme: str, year: int) -> str:
    return f"{RESULT}{scheme}/{year}"


def to_graph(result: Result) -> Graph:
    graph = Graph()
    bind_prefixes(graph)
    graph.bind("result", RESULT)
    base = base_of(result.scheme, result.year)
    node, run = URIRef(base), URIRef(f"{base}/evaluation")
    add = graph.add
    add((node, RDF.type, PKB.PublishedResult))
    add((node, RDFS.label, Literal(f"{result.scheme_name} {result.year} 评估结果", lang="zh")))
    add((node, PKB.schemeId, Literal(result.scheme)))
    add((node, DCTERMS.title, Literal(result.scheme_name, lang="zh")))
    add((node, PKB.evaluationYear, _int(result.year)))
    add((node, PROV.wasGeneratedBy, run))
    if result.issued:
        add((node, DCTERMS.issued, Literal(result.issued.isoformat(), datatype=XSD.date)))
    if any(z.sample for z in result.zones):
        add((node, PKB.sampleData, Literal(True)))
    add((run, RDF.type, PKB.Evaluation))
    add((run, PKB.schemeId, Literal(result.scheme)))
    add((run, PKB.evaluationYear, _int(result.year)))
    add((run, PKB.ruleFile, Literal(result.rule_file)))
    add((run, PKB.softwareVersion, Literal(result.version)))
    for digest in result.inputs:
        add_input(graph, run, URIRef(f"{base}/input/{digest.path}"), digest)
    for key, rule in result.rules.items():
        snap = URIRef(f"{base}/rule/{key}")
        add((snap, RDF.type, PKB.RuleSnapshot))
        add((snap, PKB.code, Literal(key)))
        add((snap, PKB.ruleLocation, Literal(f"{result.rule_file}:{rule.line}")))
        add((snap, PKB.ruleText, Literal(rule.text)))
        if key in RULE_SECTIONS:
            add((node, PKB.ruleSnapshot, snap))
    for zone in result.zones:
        _zone_nodes(graph, result, zone, node, run)
    return graph


def _zone_nodes(graph: Graph, result: Result, zone: ZoneResult, node: URIRef, run: URIRef) -> None:
    add = graph.add
    base = base_of(result.scheme, result.year)
    z = URIRef(f"{base}/zone/{zone.code}")
    add((z, RDF.type, PKB.ZoneScore))
    add((z, PKB.inResult, node))
    add((z, PROV.wasGeneratedBy, run))
    add((z, PKB.scoredZone, URIRef(zone.zone)))
    add((z, RDFS.label, Literal(zone.label, lang="zh")))
    add((z, PKB.evaluationYear, _int(result.year)))
    add((z, PKB.eligible, Literal(zone.eligible)))
    add((z, PKB.outcome, Literal(zone.outcome)))
    if zone.sample:
        add((z, PKB.sampleData, Literal(True)))
    if zone.no_data:
        add((z, PKB.noData, Literal(True)))
    if zone.total is not None:
        add((z, PKB.totalPoints, _dec(zone.total)))
    if zone.self_total is not None:
        add((z, PKB.selfAssessedTotal, _dec(zone.self_total)))
    if zone.rank is not None:
        add((z, PKB.place, _int(zone.rank)))
    if zone.rank_from_bottom is not None:
        add((z, PKB.placeFromBottom, _int(zone.rank_from_bottom)))
    for outcome in zone.outcomes_met:
        add((z, PKB.outcomeMet, Literal(outcome)))
    if not zone.eligible and result.exclusion_clause:
        add((z, PKB.excludedBy, URIRef(result.exclusion_clause)))
    for code, points in zone.subtotals.items():
        level = URIRef(f"{z}/{code}")
        add((z, PKB.indicatorScore, level))
        add((level, RDF.type, PKB.IndicatorScore))
        add((level, PKB.code, Literal(code)))
        add((level, PKB.points, _dec(points)))
        if code in result.clauses:
            add((level, PKB.clause, URIRef(result.clauses[code])))
    for ind in zone.indicators:
        i = URIRef(f"{z}/{ind.code}")
        add((z, PKB.indicatorScore, i))
        add((i, RDF.type, PKB.IndicatorScore))
        add((i, PKB.code, Literal(ind.code)))
        add((i, PKB.clause, URIRef(ind.clause)))
        add((i, PROV.wasDerivedFrom, URIRef(ind.clause)))
        add((i, PKB.arithmetic, Literal(ind.arithmetic)))
        if ind.code in result.rules:
            add((i, PKB.ruleSnapshot, URIRef(f"{base}/rule/{ind.code}")))
        if ind.points is not None:
            add((i, PKB.points, _dec(ind.points)))
        if ind.before_cap is not None:
            add((i, PKB.pointsBeforeCap, _dec(ind.before_cap)))
        if ind.self_score is not None:
            add((i, PKB.selfAssessedPoints, _dec(ind.self_score)))
        for award in ind.awards:
            add((i, PKB.awardGiven, Literal(award)))
        for n, item in enumerate(ind.counted, 1):
            c = URIRef(f"{i}/item/{n}")
            add((i, PROV.wasDerivedFrom, URIRef(item.evidence)))
            add((i, PKB.countedItem, c))  # a pkb:CountedItem by the property's range
            add((c, PKB.evidenceItem, URIRef(item.evidence)))
            add((c, RDFS.label, Literal(item.where)))
            if item.units is not None:
                add((c, PKB.units, _dec(item.units)))
            if item.points is not None:
                add((c, PKB.points, _dec(item.points)))


def to_turtle(result: Result) -> bytes:
    """The result as Turtle, with a header saying what the file is. Same result, same bytes."""
    header = (f"# The published result of {result.scheme} for {result.year}, written by `policykb publish`"
              f"{' on the issue date ' + result.issued.isoformat() if result.issued else ''}.\n"
              "# Do not edit: a changed result is published again with `policykb publish --replace`, which shows\n"
              "# the difference first; `policykb diff` compares the current rules and evidence with it.\n\n")
    return header.encode("utf-8") + to_graph(result).serialize(format="turtle", encoding="utf-8")


def _d(value) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def from_graph(graph: Graph, scheme: str, year: int) -> Result | None:
    """The result of `scheme` and `year` in a graph (a published file), or None when it holds none."""
    base = base_of(scheme, year)
    node = URIRef(base)
    if (node, RDF.type, PKB.PublishedResult) not in graph:
        return None
    run = graph.value(node, PROV.wasGeneratedBy)
    issued = graph.value(node, DCTERMS.issued)
    rules = {}
    for snap in graph.subjects(RDF.type, PKB.RuleSnapshot):
        key = str(graph.value(snap, PKB.code))
        location = str(graph.value(snap, PKB.ruleLocation))
        rules[key] = RuleText(key, int(location.rsplit(":", 1)[1]), str(graph.value(snap, PKB.ruleText)))
    inputs = tuple(sorted((FileDigest(str(graph.value(i, PKB.path)), _str(graph.value(i, PKB.sha256)),
                                      str(graph.value(i, PKB.inputRole)))
                           for i in graph.objects(run, PROV.used) if graph.value(i, PKB.path) is not None),
                          key=_input_order))
    zones = []
    for z in graph.subjects(PKB.inResult, node):
        zones.append(_read_zone(graph, z))
    zones.sort(key=lambda z: (z.rank is None, z.rank or 0, -(z.total or 0), z.code))
    clauses = {str(graph.value(i, PKB.code)): str(c) for i, c in graph.subject_objects(PKB.clause)
               if graph.value(i, PKB.arithmetic) is None}
    exclusion = next((str(c) for c in graph.objects(None, PKB.excludedBy)), None)
    return Result(scheme, str(graph.value(node, DCTERMS.title) or ""), year,
                  date.fromisoformat(str(issued)) if issued else None,
                  str(graph.value(run, PKB.ruleFile)), str(graph.value(run, PKB.softwareVersion)), tuple(zones),
                  rules, inputs, clauses, exclusion)


def _str(value) -> str | None:
    return str(value) if value is not None else None


def _read_zone(graph: Graph, z: URIRef) -> ZoneResult:
    v = graph.value
    indicators, subtotals = [], {}
    for i in graph.objects(z, PKB.indicatorScore):
        code = str(v(i, PKB.code))
        if v(i, PKB.arithmetic) is None:  # a level's subtotal (F1, A1)
            subtotals[code] = _d(v(i, PKB.points))
            continue
        counted = []
        for c in graph.objects(i, PKB.countedItem):
            counted.append((int(str(c).rsplit("/", 1)[1]), CountedItem(str(v(c, PKB.evidenceItem)), str(v(c, RDFS.label)),
                                                                         _d(v(c, PKB.units)), _d(v(c, PKB.points)))))
        indicators.append(IndicatorResult(code, str(v(i, PKB.clause)), _d(v(i, PKB.points)), _d(v(i, PKB.pointsBeforeCap)),
                                          _d(v(i, PKB.selfAssessedPoints)), str(v(i, PKB.arithmetic)),
                                          tuple(sorted(str(a) for a in graph.objects(i, PKB.awardGiven))),
                                          tuple(c for _, c in sorted(counted, key=lambda t: t[0]))))
    zone = v(z, PKB.scoredZone)
    rank, bottom = v(z, PKB.place), v(z, PKB.placeFromBottom)
    return ZoneResult(str(zone), str(v(z, RDFS.label) or ""), str(z).rsplit("/", 1)[1], bool(v(z, PKB.sampleData)), _d(v(z, PKB.totalPoints)),
                      _d(v(z, PKB.selfAssessedTotal)), int(rank) if rank is not None else None,
                      int(bottom) if bottom is not None else None, str(v(z, PKB.outcome)),
                      tuple(sorted(str(o) for o in graph.objects(z, PKB.outcomeMet))),
                      bool(v(z, PKB.eligible).toPython()), bool(v(z, PKB.noData)),
                      tuple(sorted(indicators, key=lambda i: _code_order(i.code))), subtotals)


def _code_order(code: str) -> tuple:
    head = code.rstrip("0123456789")
    tail = code[len(head):]
    return (head, int(tail) if tail else 0)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

def write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that a reader sees the old bytes or the new, never half: a temporary file in the same
    folder, then os.replace. (The journaled multi-file writer of kb/files.py will take this over.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a result or a page is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
