"""The filled-in 评估细则 form of one zone, as plain data laid out like attachment 2 of the rubric.

Attachment 2 of 闽自贸办〔2021〕1号 is a table 一级指标 / 二级指标 / 三级指标 / 分值 / 自评分 / 考评分 headed by
开发区名称 and 总评分 and closed by the 备注. The form fills it in: the clause words come from the
knowledge base (so the form reads as the rubric does), the points from the evaluation, and every row
where the zone's self-assessment and the audited score differ carries the reason from the trace.
Renderers (xlsx.py, pdf.py, pages.py) lay the same data out; nothing here is formatted for one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..scoring.evaluate import Evaluation, ZoneScore
from ..scoring.explain import zone_trace
from ..scoring.provenance import Sources

HEADERS = ("一级指标", "二级指标", "三级指标", "分值", "自评分", "考评分", "考评说明")


@dataclass(frozen=True)
class FormRow:
    first_code: str  # F1
    first: str  # 体制对接 15分
    second_code: str  # A1
    second: str  # A1. 建立完善复制推广工作机制，统筹开展相关工作
    code: str  # B1
    third: str  # B1. 市县两级建立完善体制机制…
    max: Decimal | None
    self_score: Decimal | None
    audited: Decimal | None
    reason: str | None = None  # why 自评分 and 考评分 differ, from the trace

    @property
    def differs(self) -> bool:
        return self.self_score is not None and self.audited is not None and self.self_score != self.audited


@dataclass(frozen=True)
class Form:
    title: str
    zone: str  # the zone's name
    zone_code: str
    zone_iri: str
    sample: bool
    year: int
    scheme: str
    total: Decimal | None
    self_total: Decimal | None
    max_total: Decimal | None
    rows: tuple[FormRow, ...]
    note: str | None  # 备注
    rank: int | None
    outcome: str
    outcome_name: str | None
    standing: str  # a sentence on the place and outcome, for the foot of the form
    trace: dict  # the zone's full trace (explain --format json), for the second sheet or section

    def spans(self, level: str) -> list[tuple[int, int]]:
        """(first row index, number of rows) of each run of rows sharing a first- or second-level indicator."""
        key = (lambda r: r.first_code) if level == "first" else (lambda r: r.second_code)
        runs: list[tuple[int, int]] = []
        for n, row in enumerate(self.rows):
            if runs and key(self.rows[runs[-1][0]]) == key(row):
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((n, 1))
        return runs


def number(value: Decimal | None) -> str:
    """Points as the form shows them: 12, 2.5, 0.6; blank when there is none."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def build_form(evaluation: Evaluation, zone: ZoneScore, sources: Sources) -> Form:
    scheme = evaluation.scheme
    trace = zone_trace(evaluation, zone, sources)
    levels = {lv.code: lv for lv in scheme.levels}

    def words(iri, fallback: str) -> str:
        found = sources.clause(iri)
        return found.text if found else fallback

    rows = []
    for ind, data in zip(zone.indicators, trace["indicators"]):
        second = levels.get(ind.parent) if ind.parent else None
        first = levels.get(second.parent) if second and second.parent else None
        row = FormRow(first.code if first else "", words(first.source, first.name) if first else "",
                      second.code if second else "", words(second.source, second.name) if second else "",
                      ind.code, words(ind.source, f"{ind.code}. {ind.name}"), ind.max, ind.self_score, ind.points)
        if row.differs:
            row = FormRow(**{**row.__dict__, "reason": difference_reason(data)})
        rows.append(row)
    note = words(scheme.exclusion.source, scheme.exclusion.name) if scheme.exclusion else None
    title = words(scheme.source, scheme.name)
    return Form(title, zone.zone.label, zone.zone.code, zone.zone.iri, zone.zone.sample, evaluation.year, scheme.id,
                zone.total, zone.self_total, scheme.total, tuple(rows), note, zone.rank, zone.outcome,
                zone.outcome_name, standing(zone), trace)


def standing(zone: ZoneScore) -> str:
    if not zone.eligible:
        return "不参与排名：自贸试验区范围内开发区不作为评估奖励对象（备注）"
    if zone.no_data:
        return "无当年数据：未参与排名，不奖励、不整改"
    shown = {"reward": "奖励", "rectify": "限期整改", "none": "无"}.get(zone.outcome, zone.outcome)
    return f"排名：第{zone.rank}名（倒数第{zone.rank_from_bottom}名）；结果运用：{zone.outcome_name or shown}"


def difference_reason(indicator: dict) -> str:
    """Why the audited points differ from the self-assessed ones: the arithmetic, and the rows not counted
    grouped by reason (rows outside the window by their count and years)."""
    parts = [f"考评：{indicator['arithmetic']}"]
    grouped: dict[str, list] = {}
    for item in indicator["not_counted"]:
        grouped.setdefault(item["reason"], []).append(item)
    for reason, items in grouped.items():
        parts.append(f"未计分 {_rows(items)}：{reason}")
    outside = indicator.get("outside_window")
    if outside:
        parts.append(f"未计分 {outside['rows']}行（{'、'.join(str(y) for y in outside['years'])}年）：非当年")
    return "；".join(parts)


def _rows(items: list[dict]) -> str:
    """Ledger rows as people cite them: 第6–8、13行 (per file when the items come from several)."""
    by_file: dict[str, list[int]] = {}
    for item in items:
        name = (item["ledger_file"] or "").rsplit("/", 1)[-1]
        if item["ledger_row"] is not None:
            by_file.setdefault(name, []).append(item["ledger_row"])
    parts = []
    for name, numbers in by_file.items():
        numbers = sorted(set(numbers))
        runs, start = [], numbers[0]
        for a, b in zip(numbers, numbers[1:] + [None]):
            if b != a + 1:
                runs.append(f"{start}" if start == a else f"{start}–{a}")
                start = b
        parts.append(("" if len(by_file) == 1 else f"{name} ") + f"第{'、'.join(runs)}行")
    return "；".join(parts) or f"{len(items)}项"
