"""Explanation traces of scores: as plain data (JSON), as text for auditors, and as PROV-O (Turtle).

Every number carries its rule (file:line), its clause IRI and the evidence it was derived from; items
looked at and not counted carry the reason. Given the `Sources` of an evaluation (provenance.py), a
trace also quotes each clause's words, the knowledge-base facts each counted row's conditions read,
every outcome considered and why it was given or set aside, and the digests of every input. The data
form is what renderers lay out; the Turtle form loads back into the knowledge base
(queries/zone-score-trace.rq reads it).
"""

from __future__ import annotations

import re
from decimal import Decimal

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, XSD

from ..namespace import PKB, SCORE, bind_prefixes, curie
from ..rules import expr
from .evaluate import Evaluation, IndicatorScore, ItemLine, ZoneScore
from .provenance import FactRead, FileDigest, Inputs, Sources


def scores_table(evaluation: Evaluation) -> list[dict]:
    """One plain row per zone: the score command's JSON (and, flattened, its table and CSV)."""
    rows = []
    for z in evaluation.zones:
        row = {"zone": curie(z.zone.iri), "label": z.zone.label, "sample": z.zone.sample,
               "total": z.total, "indicators": {}, "eligible": z.eligible, "rank": z.rank, "outcome": z.outcome}
        for ind in z.indicators:
            row["indicators"][ind.code] = ind.points if not ind.formula else ind.value
        if evaluation.scheme.levels:
            row["subtotals"] = {code: z.subtotals[code] for code in z.subtotals
                                if not any(lv.code == code and lv.parent for lv in evaluation.scheme.levels)}
        if z.exclusion:
            row["excluded_by"] = z.exclusion
        if z.self_total is not None:
            row["self_total"] = z.self_total
        if any(i.formula for i in z.indicators):
            row["not_computable"] = {i.code: i.not_computable for i in z.indicators if i.not_computable}
            row["indicator_ranks"] = {i.code: i.rank for i in z.indicators}
        rows.append(row)
    return rows


def zone_trace(evaluation: Evaluation, zone: ZoneScore, sources: Sources | None = None) -> dict:
    """Everything an auditor needs to check one zone's score line by line (with `sources`: the clause
    words, the facts read, the outcomes considered and the digests of the inputs)."""
    scheme = evaluation.scheme
    quote = _quoter(sources)
    data = {
        "zone": curie(zone.zone.iri), "label": zone.zone.label, "sample": zone.zone.sample,
        "scheme": scheme.id, "scheme_name": scheme.name, "rule_file": scheme.file, "year": evaluation.year,
        "source": str(scheme.source), "source_text": quote(scheme.source), "total": zone.total,
        "self_total": zone.self_total, "eligible": zone.eligible, "no_data": zone.no_data, "rank": zone.rank,
        "outcome": zone.outcome,
        "indicators": [_indicator(ind, evaluation.year, quote, sources) for ind in zone.indicators],
    }
    if scheme.levels:
        data["subtotals"] = dict(zone.subtotals)
    if zone.total is not None and zone.indicators and zone.indicators[0].points is not None:
        data["sum"] = " + ".join(_s(i.points) for i in zone.indicators) + f" = {_s(zone.total)}"
    if scheme.exclusion:
        data["exclusion"] = {"rule": scheme.exclusion.id, "condition": scheme.exclusion.condition.text,
                             "source": str(scheme.exclusion.source), "source_text": quote(scheme.exclusion.source),
                             "applies": not zone.eligible, "interpretation": scheme.exclusion.interpretation,
                             "facts": [_fact(f) for f in (sources.facts.get(zone.zone.iri, ()) if sources else ())]}
    if scheme.ranking:
        data["ranking"] = {"by": scheme.ranking.by, "ties": scheme.ranking.ties, "rank": zone.rank,
                           "rank_from_bottom": zone.rank_from_bottom,
                           "source": str(scheme.ranking.source) if scheme.ranking.source else None,
                           "interpretation": scheme.ranking.interpretation}
    if scheme.outcomes:
        chosen = next((o for o in scheme.outcomes if o.id == zone.outcome), None)
        data["outcome_rule"] = None if chosen is None else {
            "id": chosen.id, "name": chosen.name, "condition": chosen.condition.text, "source": str(chosen.source),
            "source_text": quote(chosen.source), "amount_max": chosen.amount_max,
            "interpretation": chosen.interpretation}
        data["precedence"] = [o.id for o in scheme.outcomes]
        data["outcomes"] = outcomes_considered(evaluation, zone)
    if scheme.composite and zone.total is not None:
        data["composite"] = scheme.composite
    if sources is not None:
        data["inputs"] = _inputs(sources.inputs, zone.zone.iri)
    return data


def outcomes_considered(evaluation: Evaluation, zone: ZoneScore) -> list[dict]:
    """Every outcome of the scheme, in its declared precedence, with whether its condition held for the
    zone, whether it was given, and why (the values its condition read, or why none was considered)."""
    found = []
    values = {"rank": zone.rank, "rank_from_bottom": zone.rank_from_bottom, "total": zone.total}
    for outcome in evaluation.scheme.outcomes:
        held = outcome.id in zone.outcomes_met
        given = outcome.id == zone.outcome
        read = {f.path: values.get(f.path) for f in expr.fields_of(outcome.condition.tree)}
        shown = ", ".join(f"{k} = {_s(v)}" for k, v in read.items())
        if not zone.eligible:
            why = "not considered: the zone is excluded from the ranking"
        elif zone.no_data:
            why = f"not considered: no evidence item of the zone is dated {evaluation.year} (no data)"
        elif given:
            why = f"holds ({shown}): given"
        elif held:
            why = (f"holds ({shown}) but set aside: {zone.outcome} comes first in the declared precedence "
                   f"({', '.join(o.id for o in evaluation.scheme.outcomes)})")
        else:
            why = f"does not hold ({shown})"
        found.append({"id": outcome.id, "name": outcome.name, "condition": outcome.condition.text,
                      "source": str(outcome.source), "held": held, "given": given, "values": read, "why": why})
    return found


def _quoter(sources: Sources | None):
    def quote(iri) -> str | None:
        if sources is None or iri is None:
            return None
        found = sources.clause(iri)
        return found.text if found else None
    return quote


def _fact(f: FactRead) -> dict:
    return {"field": f.field, "value": f.value, "about": curie(f.resource), "file": f.file, "line": f.line,
            "query": f.query}


def _digest(d: FileDigest) -> dict:
    out = {"path": d.path, "sha256": d.sha256}
    if d.imported is not None:
        out["imported"] = d.imported  # a ledger's digest when it was imported
    return out


def _inputs(inputs: Inputs, zone: str | None = None) -> dict:
    """The digests as data; with a zone, only that zone's ledgers."""
    ledgers = inputs.ledgers_of(zone) if zone is not None else inputs.ledgers
    return {"policykb": inputs.version, "at": inputs.at, "rules": _digest(inputs.rules),
            "ledgers": [_digest(d) for d in ledgers],
            "knowledge_base": [_digest(d) for d in inputs.knowledge_base],
            "fact_queries": [_digest(d) for d in inputs.fact_queries]}


def _indicator(ind: IndicatorScore, year: int, quote=lambda iri: None, sources: Sources | None = None) -> dict:
    out = {"code": ind.code, "name": ind.name, "rule": ind.rule, "source": ind.source, "source_text": quote(ind.source)}
    if ind.formula:
        out.update({"formula": ind.formula, "value": ind.value, "exact": ind.exact, "unit": ind.unit,
                    "rank": ind.rank, "not_computable": ind.not_computable, "arithmetic": ind.arithmetic,
                    "observations": [{"term": o.term, "observation_of": curie(o.area), "year": o.year, "value": o.value,
                                      "source": _figure_source(o.source)} for o in ind.observations]})
    else:
        out.update({
            "max": ind.max, "cap": ind.cap, "points_before_cap": ind.raw, "points": ind.points,
            "arithmetic": ind.arithmetic, "self_score": ind.self_score, "difference": ind.difference,
            "counted": [_item(line.item) | {"units": line.units, "points": line.points,
                                             "facts": [_fact(f) for f in _facts(sources, line)]}
                        for line in ind.items if line.counted],
            "not_counted": [_item(line.item) | {"reason": line.reason} for line in ind.items
                            if not line.counted and not line.outside_window],
            "outside_window": _outside(ind.items, year),
            "awards": [{"id": a.id, "name": a.name, "condition": a.condition, "points": a.points, "given": a.given,
                        "tier": a.tier, "evidence": [curie(e) for e in a.evidence], "reason": a.reason}
                       for a in ind.awards],
        })
    out["interpretation"] = ind.interpretation
    return out


def _facts(sources: Sources | None, line: ItemLine) -> tuple[FactRead, ...]:
    return sources.facts.get(line.item.id, ()) if sources is not None else ()


def _outside(lines: tuple[ItemLine, ...], year: int) -> dict | None:
    """Rows dated outside the window, summarised: how many, of which years (they are never listed one by one)."""
    outside = [line.item.year for line in lines if line.outside_window]
    if not outside:
        return None
    return {"rows": len(outside), "years": sorted(set(outside)),
            "reason": f"the rule counts items of {year} only (当年)"}


def _item(item) -> dict:
    return {"evidence": curie(item.id), "kind": item.kind, "year": item.year, "label": item.label,
            "ledger_file": item.ledger_file, "ledger_row": item.ledger_row}


def _figure_source(source) -> dict | None:
    """Where an imported figure came from, as data: table, row, column, as written, the conversion."""
    if source is None:
        return None
    return {"table": source.table, "row": source.row, "column": source.column, "header": source.header,
            "as_written": source.written, "unit_as_written": source.written_unit, "factor": source.factor,
            "exchange_rate": source.rate, "rate_applied": source.rate_applied, "value": source.value,
            "unit": source.unit}


def _figure_text(f: dict) -> str:
    """kb/…/统计表.xlsx row 4, column C 税收（亿元）: 6 亿元 × 10000 = 60000 万元 (× the row's rate, if any)."""
    column = f"column {f['column']} {f['header']}" if f.get("column") else f"column {f['header']}"
    written = f"{_s(f['as_written'])} {f['unit_as_written']}"
    steps = f" × {_s(f['factor'])}" if f["factor"] != 1 or f.get("exchange_rate") is not None else ""
    if f.get("exchange_rate") is not None:
        steps += f" {f['rate_applied']} {_s(f['exchange_rate'])} (the row's exchange rate, yuan per US dollar)"
    how = f"{written}{steps} = {_s(f['value'])} {f['unit'] or ''}".rstrip() if steps else f"{written} as written"
    return f"{f['table']} row {f['row']}, {column}: {how}"


def _s(value) -> str:
    if value is None:
        return "—"
    text = format(Decimal(value).normalize(), "f")
    return text


def text_trace(data: dict) -> str:
    """The trace as text an auditor reads top to bottom."""
    lines = [f"{data['label']} ({data['zone']}){'  [SAMPLE DATA]' if data['sample'] else ''}",
             f"scheme {data['scheme']} ({data['scheme_name']}), year {data['year']}, rules {data['rule_file']}",
             f"source {data['source']}" + (f"  {_q(data['source_text'])}" if data.get("source_text") else ""), ""]
    for ind in data["indicators"]:
        clause = [f"  {_q(ind['source_text'])}"] if ind.get("source_text") else []
        if "formula" in ind:
            head = f"{ind['code']} {ind['name']}: " + (f"{_s(ind['value'])} {ind['unit'] or ''}".rstrip()
                                                       if ind["value"] is not None else f"not computable ({ind['not_computable']})")
            lines += [head, f"  rule {ind['rule']}  clause {ind['source']}", *clause, f"  formula {ind['formula']}",
                      f"  {ind['arithmetic']}"]
            for o in ind["observations"]:
                lines.append(f"  uses {o['term']} = {_s(o['value'])} (observation of {o['observation_of']}, {o['year']})")
                if o.get("source"):
                    lines.append(f"    from {_figure_text(o['source'])}")
            if ind["rank"] is not None:
                lines.append(f"  rank {ind['rank']}")
        else:
            head = f"{ind['code']} {ind['name']}: {_s(ind['points'])} point(s)"
            if ind["points_before_cap"] != ind["points"]:
                head += f" (before the cap of {_s(ind['cap'])}: {_s(ind['points_before_cap'])})"
            lines += [head, f"  rule {ind['rule']}  clause {ind['source']}", *clause, f"  {ind['arithmetic']}"]
            for item in ind["counted"]:
                pts = f" → {_s(item['points'])}" if item["points"] is not None else ""
                units = f" × {_s(item['units'])}" if item["units"] not in (None, Decimal(1)) else ""
                lines.append(f"  + {_where(item)} {item['label']}{units}{pts}")
                if item.get("facts"):
                    lines.append("      " + "; ".join(_fact_text(f) for f in item["facts"]))
            for award in ind["awards"]:
                mark = "+" if award["given"] else "·"
                tail = f" ({award['reason']})" if award["reason"] else ""
                lines.append(f"  {mark} {award['id']} {award['name']}: {_s(award['points'])} if {award['condition']}{tail}")
            for item in ind["not_counted"]:
                lines.append(f"  - {_where(item)} {item['label']}: not counted, {item['reason']}")
            outside = ind.get("outside_window")
            if outside:
                lines.append(f"  - {outside['rows']} row(s) dated {', '.join(str(y) for y in outside['years'])}: "
                             f"not counted, outside the window ({outside['reason']})")
            if ind["self_score"] is not None:
                lines.append(f"  self-assessed {_s(ind['self_score'])}, audited {_s(ind['points'])}, "
                             f"difference {_s(ind['difference'])}")
        if ind.get("interpretation"):
            lines.append(f"  interpretation: {ind['interpretation']}")
        lines.append("")
    if "sum" in data:
        lines.append(f"total {data['sum']}")
    elif data["total"] is not None:
        lines.append(f"composite {_s(data['total'])}")
    if data.get("self_total") is not None:
        lines.append(f"self-assessed total {_s(data['self_total'])}, difference {_s(data['self_total'] - data['total'])}")
    exclusion = data.get("exclusion")
    if exclusion and exclusion["applies"]:
        lines.append(f"excluded from ranking and rewards: {exclusion['condition']} ({exclusion['source']})")
        if exclusion.get("source_text"):
            lines.append(f"  {_q(exclusion['source_text'])}")
        if exclusion.get("facts"):
            lines.append("  " + "; ".join(_fact_text(f) for f in exclusion["facts"]))
        lines.append(f"  interpretation: {exclusion['interpretation']}")
    if data.get("no_data"):
        lines.append(f"no data: no evidence item of the zone is dated {data['year']}; it is scored but takes no place, "
                     "and is neither rewarded nor asked to rectify (rules/README.md, No data)")
    if data.get("ranking") and data["rank"] is not None:
        lines.append(f"rank {data['rank']} ({data['ranking']['ties']} ties; {data['ranking']['rank_from_bottom']} from the bottom)")
    if data.get("outcomes"):
        lines.append(f"outcomes, in the declared precedence ({', '.join(data['precedence'])}; the first that holds is given):")
        lines += [f"  {o['id']} {o['name']}: {o['condition']} — {o['why']}" for o in data["outcomes"]]
    rule = data.get("outcome_rule")
    if rule:
        lines.append(f"outcome {rule['id']} {rule['name']}: {rule['condition']} ({rule['source']})")
        if rule.get("source_text"):
            lines.append(f"  {_q(rule['source_text'])}")
    elif data.get("ranking"):
        lines.append(f"outcome {data['outcome']}")
    if data.get("inputs"):
        lines += ["", *inputs_text(data["inputs"])]
    return "\n".join(lines) + "\n"


def inputs_text(inputs: dict) -> list[str]:
    """The digests section of a trace: what the score was computed from."""
    lines = [f"computed by policykb {inputs['policykb']} at {inputs['at']} from (sha256):",
             f"  {inputs['rules']['sha256'] or 'not found'}  {inputs['rules']['path']}"]
    for group in ("ledgers", "knowledge_base", "fact_queries"):
        lines += [f"  {d['sha256'] or 'not found'}  {d['path']}" for d in inputs[group]]
    for d in inputs["ledgers"]:
        if d.get("imported") and d["imported"] != d["sha256"]:
            lines.append(f"  note: {d['path']} was {'changed' if d['sha256'] else 'deleted or moved'} after it was "
                         f"imported (imported as {d['imported']}): the rows above are the rows as imported; import it "
                         "again to score what it says now (policykb validate names the rows that differ)")
    return lines


def _q(text: str) -> str:
    return f"“{text}”"


def _fact_text(f: dict) -> str:
    via = f"{f['query']} on " if f.get("query") else ""
    where = f"{f['file']}:{f['line']}" if f.get("file") and f.get("line") else (f.get("file") or "not in the knowledge base")
    value = "(none)" if f["value"] is None else _s(f["value"]) if isinstance(f["value"], Decimal) else (
        str(f["value"]).lower() if isinstance(f["value"], bool) else str(f["value"]))
    return f"{f['field']} = {value} ({via}{f['about']}, {where})"


def _where(item: dict) -> str:
    if item["ledger_file"]:
        return f"{item['ledger_file']} row {item['ledger_row']}"
    return item["evidence"]


# ---------------------------------------------------------------------------------------------
# PROV-O
# ---------------------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^\w-]+", "-", text).strip("-")


def _dec(value) -> Literal:
    return Literal(format(Decimal(value).normalize(), "f") if Decimal(value) == Decimal(value).to_integral_value()
                   else format(Decimal(value), "f"), datatype=XSD.decimal)


def trace_graph(evaluation: Evaluation, zones: list[ZoneScore], sources: Sources | None = None) -> Graph:
    """The scores of the given zones as PROV-O: a pkb:Evaluation activity that generated one pkb:ZoneScore
    per zone, each with pkb:IndicatorScore entities derived from the clause and the evidence counted. With
    `sources`: the clauses' words, the outcomes that held, and the activity's inputs with their digests."""
    scheme = evaluation.scheme
    graph = Graph()
    bind_prefixes(graph)
    graph.bind("prov", PROV)
    run = URIRef(f"{SCORE}{_slug(scheme.id)}/{evaluation.year}")
    graph.add((run, RDF.type, PKB.Evaluation))
    graph.add((run, RDFS.label, Literal(f"{scheme.name} {evaluation.year}", lang="zh")))
    graph.add((run, PKB.schemeId, Literal(scheme.id)))
    graph.add((run, PKB.evaluationYear, Literal(evaluation.year, datatype=XSD.integer)))
    graph.add((run, PKB.ruleFile, Literal(scheme.file)))
    graph.add((run, PROV.used, scheme.source))
    if sources is not None:
        graph.add((run, PROV.endedAtTime, Literal(sources.inputs.at, datatype=XSD.dateTime)))
        graph.add((run, PKB.softwareVersion, Literal(sources.inputs.version)))
        wanted = {z.zone.iri for z in zones}
        ledgers = {p for iri in wanted for p in sources.inputs.zone_ledgers.get(iri, ())}
        for digest in sources.inputs.all():
            if digest.role != "ledger" or digest.path in ledgers:
                add_input(graph, run, URIRef(f"{run}/input/{digest.path}"), digest)
        for clause in sources.clauses.values():
            graph.add((URIRef(clause.iri), PKB.text, Literal(clause.text, lang="zh")))
    for zone in zones:
        node = URIRef(f"{run}/{_slug(zone.zone.code)}")
        graph.add((node, RDF.type, PKB.ZoneScore))
        graph.add((node, PROV.wasGeneratedBy, run))
        graph.add((node, PKB.scoredZone, URIRef(zone.zone.iri)))
        graph.add((node, PKB.evaluationYear, Literal(evaluation.year, datatype=XSD.integer)))
        graph.add((node, PKB.eligible, Literal(zone.eligible)))
        graph.add((node, PKB.outcome, Literal(zone.outcome)))
        if zone.zone.sample:
            graph.add((node, PKB.sampleData, Literal(True)))
        if zone.total is not None:
            graph.add((node, PKB.totalPoints, _dec(zone.total)))
        if zone.rank is not None:
            graph.add((node, PKB.place, Literal(zone.rank, datatype=XSD.integer)))
        if not zone.eligible and scheme.exclusion:
            graph.add((node, PKB.excludedBy, scheme.exclusion.source))
        if zone.no_data:
            graph.add((node, PKB.noData, Literal(True)))
        for outcome in zone.outcomes_met:
            graph.add((node, PKB.outcomeMet, Literal(outcome)))
        for ind in zone.indicators:
            _indicator_node(graph, node, ind)
    return graph


def _indicator_node(graph: Graph, zone_node: URIRef, ind: IndicatorScore) -> None:
    node = URIRef(f"{zone_node}/{_slug(ind.code)}")
    graph.add((zone_node, PKB.indicatorScore, node))
    graph.add((node, RDF.type, PKB.IndicatorScore))
    graph.add((node, PKB.code, Literal(ind.code)))
    graph.add((node, RDFS.label, Literal(ind.name, lang="zh")))
    graph.add((node, PKB.clause, URIRef(ind.source)))
    graph.add((node, PROV.wasDerivedFrom, URIRef(ind.source)))
    graph.add((node, PKB.ruleLocation, Literal(ind.rule)))
    graph.add((node, PKB.arithmetic, Literal(ind.arithmetic)))
    if ind.interpretation:
        graph.add((node, PKB.interpretation, Literal(ind.interpretation)))
    if ind.points is not None:
        graph.add((node, PKB.points, _dec(ind.points)))
        graph.add((node, PKB.pointsBeforeCap, _dec(ind.raw)))
    if ind.cap is not None:
        graph.add((node, PKB.cap, _dec(ind.cap)))
    if ind.self_score is not None:
        graph.add((node, PKB.selfAssessedPoints, _dec(ind.self_score)))
    if ind.value is not None:
        graph.add((node, PKB.value, _dec(ind.value)))
    if ind.not_computable:
        graph.add((node, PKB.notComputable, Literal(ind.not_computable)))
    for line in ind.items:
        if line.counted:
            graph.add((node, PROV.wasDerivedFrom, URIRef(line.item.id)))
        else:
            skipped = BNode()
            graph.add((node, PKB.notCounted, skipped))
            graph.add((skipped, RDF.type, PKB.ItemNotCounted))
            graph.add((skipped, PKB.evidenceItem, URIRef(line.item.id)))
            graph.add((skipped, PKB.why, Literal(line.reason)))
    for award in ind.awards:
        if award.given:
            for e in award.evidence:
                graph.add((node, PROV.wasDerivedFrom, URIRef(e)))


def add_input(graph: Graph, activity: URIRef, node: URIRef, digest: FileDigest) -> None:
    """One input file of an evaluation as a prov:Entity the activity used, with its path and SHA-256."""
    graph.add((activity, PROV.used, node))
    graph.add((node, RDF.type, PROV.Entity))
    graph.add((node, PKB.path, Literal(digest.path)))
    graph.add((node, PKB.inputRole, Literal(digest.role)))
    if digest.sha256:
        graph.add((node, PKB.sha256, Literal(digest.sha256)))
