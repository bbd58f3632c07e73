"""Explanation traces of scores: as plain data (JSON), as text for auditors, and as PROV-O (Turtle).

Every number carries its rule (file:line), its clause IRI and the evidence it was derived from; items
looked at and not counted carry the reason. The data form is what renderers lay out; the Turtle form
loads back into the knowledge base (queries/zone-score-trace.rq reads it).
"""

from __future__ import annotations

import re
from decimal import Decimal

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, XSD

from ..namespace import PKB, SCORE, bind_prefixes, curie
from .evaluate import Evaluation, IndicatorScore, ZoneScore


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


def zone_trace(evaluation: Evaluation, zone: ZoneScore) -> dict:
    """Everything an auditor needs to check one zone's score line by line."""
    scheme = evaluation.scheme
    data = {
        "zone": curie(zone.zone.iri), "label": zone.zone.label, "sample": zone.zone.sample,
        "scheme": scheme.id, "scheme_name": scheme.name, "rule_file": scheme.file, "year": evaluation.year,
        "source": str(scheme.source), "total": zone.total, "self_total": zone.self_total,
        "eligible": zone.eligible, "rank": zone.rank, "outcome": zone.outcome,
        "indicators": [_indicator(ind) for ind in zone.indicators],
    }
    if scheme.levels:
        data["subtotals"] = dict(zone.subtotals)
    if zone.total is not None and zone.indicators and zone.indicators[0].points is not None:
        data["sum"] = " + ".join(_s(i.points) for i in zone.indicators) + f" = {_s(zone.total)}"
    if scheme.exclusion:
        data["exclusion"] = {"rule": scheme.exclusion.id, "condition": scheme.exclusion.condition.text,
                             "source": str(scheme.exclusion.source), "applies": not zone.eligible,
                             "interpretation": scheme.exclusion.interpretation}
    if scheme.ranking:
        data["ranking"] = {"by": scheme.ranking.by, "ties": scheme.ranking.ties, "rank": zone.rank,
                           "rank_from_bottom": zone.rank_from_bottom,
                           "source": str(scheme.ranking.source) if scheme.ranking.source else None,
                           "interpretation": scheme.ranking.interpretation}
    if scheme.outcomes:
        chosen = next((o for o in scheme.outcomes if o.id == zone.outcome), None)
        data["outcome_rule"] = None if chosen is None else {
            "id": chosen.id, "name": chosen.name, "condition": chosen.condition.text, "source": str(chosen.source),
            "amount_max": chosen.amount_max, "interpretation": chosen.interpretation}
    if scheme.composite and zone.total is not None:
        data["composite"] = scheme.composite
    return data


def _indicator(ind: IndicatorScore) -> dict:
    out = {"code": ind.code, "name": ind.name, "rule": ind.rule, "source": ind.source}
    if ind.formula:
        out.update({"formula": ind.formula, "value": ind.value, "exact": ind.exact, "unit": ind.unit,
                    "rank": ind.rank, "not_computable": ind.not_computable, "arithmetic": ind.arithmetic,
                    "observations": [{"term": o.term, "observation_of": curie(o.area), "year": o.year, "value": o.value,
                                      "source": _figure_source(o.source)} for o in ind.observations]})
    else:
        out.update({
            "max": ind.max, "cap": ind.cap, "points_before_cap": ind.raw, "points": ind.points,
            "arithmetic": ind.arithmetic, "self_score": ind.self_score, "difference": ind.difference,
            "counted": [_item(line.item) | {"units": line.units, "points": line.points}
                        for line in ind.items if line.counted],
            "not_counted": [_item(line.item) | {"reason": line.reason} for line in ind.items if not line.counted],
            "awards": [{"id": a.id, "name": a.name, "condition": a.condition, "points": a.points, "given": a.given,
                        "tier": a.tier, "evidence": [curie(e) for e in a.evidence], "reason": a.reason}
                       for a in ind.awards],
        })
    out["interpretation"] = ind.interpretation
    return out


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
             f"source {data['source']}", ""]
    for ind in data["indicators"]:
        if "formula" in ind:
            head = f"{ind['code']} {ind['name']}: " + (f"{_s(ind['value'])} {ind['unit'] or ''}".rstrip()
                                                       if ind["value"] is not None else f"not computable ({ind['not_computable']})")
            lines += [head, f"  rule {ind['rule']}  clause {ind['source']}", f"  formula {ind['formula']}",
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
            lines += [head, f"  rule {ind['rule']}  clause {ind['source']}", f"  {ind['arithmetic']}"]
            for item in ind["counted"]:
                pts = f" → {_s(item['points'])}" if item["points"] is not None else ""
                units = f" × {_s(item['units'])}" if item["units"] not in (None, Decimal(1)) else ""
                lines.append(f"  + {_where(item)} {item['label']}{units}{pts}")
            for award in ind["awards"]:
                mark = "+" if award["given"] else "·"
                tail = f" ({award['reason']})" if award["reason"] else ""
                lines.append(f"  {mark} {award['id']} {award['name']}: {_s(award['points'])} if {award['condition']}{tail}")
            for item in ind["not_counted"]:
                lines.append(f"  - {_where(item)} {item['label']}: not counted, {item['reason']}")
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
        lines.append(f"  interpretation: {exclusion['interpretation']}")
    if data.get("ranking") and data["rank"] is not None:
        lines.append(f"rank {data['rank']} ({data['ranking']['ties']} ties; {data['ranking']['rank_from_bottom']} from the bottom)")
    rule = data.get("outcome_rule")
    if rule:
        lines.append(f"outcome {rule['id']} {rule['name']}: {rule['condition']} ({rule['source']})")
    elif data.get("ranking"):
        lines.append(f"outcome {data['outcome']}")
    return "\n".join(lines) + "\n"


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


def trace_graph(evaluation: Evaluation, zones: list[ZoneScore]) -> Graph:
    """The scores of the given zones as PROV-O: a pkb:Evaluation activity that generated one pkb:ZoneScore
    per zone, each with pkb:IndicatorScore entities derived from the clause and the evidence counted."""
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
