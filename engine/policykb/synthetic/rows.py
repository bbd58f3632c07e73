"""One synthetic zone's yearly ledger (台账): about 110 rows of every kind the Fujian rubric reads, written
the way the sample ledgers are (Chinese headers and kind names), with what real ledgers hold besides
countable rows: the same measure reported twice, rows of earlier years, measures outside the catalogue,
measures marked not replicated, city media, market-based hiring without a state-owned enterprise.

The rows are drawn from a generator seeded with the seed and the zone's number, so a zone's ledger does not
depend on the order in which zones are written or on how many processes write them; only the range of its
comprehensive-evaluation rank grows with the number of zones ranked.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from .world import LABEL, Measure, World, Zone, rng_for

# (column, header) in the order a ledger shows them; the headers are the Chinese ones office staff write
COLUMNS = (("zone", "开发区"), ("year", "年度"), ("kind", "类型"), ("measure", "举措"), ("item", "事项名称"),
           ("level", "层级"), ("scope", "范围"), ("count", "数量"), ("amount", "金额（元）"), ("date", "日期"),
           ("partner", "合作方"), ("rank", "排名"), ("previous_rank", "上年排名"), ("indicator", "指标"),
           ("self_score", "自评分"), ("status", "是否复制推广"), ("reason", "未复制推广原因"), ("note", "备注"))

# the kind column as kb/ledgers/README.md names the kinds in Chinese
KIND = {"mechanism": "体制机制", "work-plan": "工作方案", "ledger-system": "台账制度", "replication": "复制推广",
        "own-platform": "自建平台", "joint-platform": "共建平台", "soe-operation": "国企参与运营",
        "market-hiring": "市场化用人和薪酬", "fiscal-support": "财政支持", "provincial-delegation": "省级赋权",
        "city-delegation": "市级赋权", "own-innovation": "自主创新", "pilot-offer": "先行先试",
        "provincial-promotion": "发文推广", "media-report": "媒体报道", "comprehensive-ranking": "综合考评排名",
        "self-assessment": "自评分"}
CITY, COUNTY, PROVINCIAL, NATIONAL = "市级", "县级", "省级", "国家级"
CROSS, SPECIAL = "跨区域、跨部门、跨层级", "专项"
NOT_REPLICATED = "否"
REASONS = ("本地无相关业务", "上级业务系统尚未开通", "已有同类改革举措", "需省级部门统一部署")


def ledger_name(world: World, zone: Zone) -> str:
    """The ledger's file name without extension: its id once imported."""
    return f"synthetic-{world.year}-{zone.code.removeprefix('syn-')}"


class _Ledger:
    """Rows being drawn for one zone and year."""

    def __init__(self, world: World, zone: Zone):
        self.world, self.zone, self.year = world, zone, world.year
        self.rng = rng_for(world.seed, "ledger", zone.number)
        self.rows: list[dict[str, str]] = []

    def add(self, kind: str, year: int | None = None, dated: bool = True, **cells) -> None:
        year = year or self.year
        row = {"zone": self.zone.label, "year": str(year), "kind": KIND[kind]}
        if dated:
            row["date"] = self.day(year)
        row.update({k: str(v) for k, v in cells.items() if v not in (None, "")})
        self.rows.append(row)

    def day(self, year: int) -> str:
        return (date(year, 1, 1) + timedelta(days=self.rng.randrange(365))).isoformat()

    def earlier(self, chance: float) -> int:
        """The evaluation year, or with the given chance one or two years before it."""
        return self.year - self.rng.choice((1, 2)) if self.rng.random() < chance else self.year

    def pick(self, measures: tuple[Measure, ...], k: int, exclude: set = frozenset()) -> list[Measure]:
        """k measures without replacement, each drawn as often as its popularity says (Efraimidis–Spirakis)."""
        keyed = sorted(((self.rng.random() ** (1 / m.popularity), m.code, m) for m in measures if m.iri not in exclude),
                       reverse=True)
        return [m for _, _, m in keyed[:k]]


def zone_rows(world: World, zone: Zone) -> list[dict[str, str]]:
    """The zone's ledger for the world's year: rows of cells by column name."""
    ledger = _Ledger(world, zone)
    for section in (_mechanisms, _replications, _platforms, _support, _powers, _innovations, _recognition,
                    _ranking, _self_assessment):
        section(ledger)
    return ledger.rows


def _mechanisms(ledger: _Ledger) -> None:
    """B1–B3: city and county mechanisms, work plans and ledger systems, often set up in earlier years."""
    rng = ledger.rng
    for kind, thing, chances in (("mechanism", "复制推广工作领导小组", (1.0, 0.85)),
                                 ("work-plan", "创新推广先行区工作方案", (0.9, 0.7)),
                                 ("ledger-system", "复制推广台账（清单制+责任制+项目制）", (0.8, 0.75))):
        for level, chance in zip((CITY, COUNTY), chances):
            if rng.random() < chance:
                ledger.add(kind, ledger.earlier(0.4), item=f"{level}{thing}", level=level)
        if rng.random() < 0.15:  # the same level reported again: adds nothing
            ledger.add(kind, item=f"{CITY}{thing}（调整）", level=CITY)


def _replications(ledger: _Ledger) -> None:
    """B4/B5: catalogue measures by popularity, duplicates, earlier years, outside the catalogue, 否."""
    rng, world = ledger.rng, ledger.world
    catalogue = world.catalogue_measures
    picked = ledger.pick(catalogue, min(len(catalogue), rng.randint(20, 74)))
    dated = sorted(((ledger.day(ledger.year), m) for m in picked), key=lambda x: (x[0], x[1].code))
    for day, measure in dated:
        ledger.add("replication", dated=False, measure=measure.code, date=day)
    for measure in rng.sample(picked, min(len(picked), rng.randint(1, 3))):
        ledger.add("replication", measure=measure.code, note="同一举措再次报送")
    taken = {m.iri for m in picked}
    for measure in ledger.pick(catalogue, rng.randint(2, 5), exclude=taken):
        ledger.add("replication", ledger.year - 1, measure=measure.code)
    for measure in rng.sample(world.outside_measures, min(len(world.outside_measures), rng.randint(0, 2))):
        ledger.add("replication", measure=measure.code)
    for measure in ledger.pick(catalogue, rng.randint(1, 2), exclude=taken):
        ledger.add("replication", measure=measure.code, status=NOT_REPLICATED, reason=rng.choice(REASONS))


def _platforms(ledger: _Ledger) -> None:
    """B6–B8: own and joint platforms (to date, named once), SOE operation, market-based hiring."""
    rng, world = ledger.rng, ledger.world
    own = rng.randint(1, 5)
    for n in range(1, own + 1):
        ledger.add("own-platform", ledger.earlier(0.3), item=f"{LABEL}产业平台{n}号")
    if rng.random() < 0.3:
        ledger.add("own-platform", item=f"{LABEL}产业平台1号", note="重复报送")
    partners = [a.name for a in world.reference.ftz_areas] or [ledger.zone.city.name]
    for n in range(1, rng.randint(0, 2) + 1):
        ledger.add("joint-platform", ledger.earlier(0.3), item=f"{LABEL}共建平台{n}号", partner=rng.choice(partners))
    if rng.random() < 0.6:
        ledger.add("soe-operation", ledger.earlier(0.3), item=f"{LABEL}国有企业参与产业平台1号运营")
    if rng.random() < 0.5:  # counts only together with an SOE row
        ledger.add("market-hiring", item="平台公司实行市场化选人用人和薪酬制度")


def _support(ledger: _Ledger) -> None:
    """B9: the year's fiscal support, in yuan."""
    rng = ledger.rng
    for n in range(1, rng.randint(1, 4) + 1):
        ledger.add("fiscal-support", item=f"产业平台发展专项资金第{n}笔", amount=rng.randrange(100_000, 2_000_001, 10_000))
    if rng.random() < 0.3:
        ledger.add("fiscal-support", ledger.year - 1, item="上年度产业平台发展专项资金", amount=rng.randrange(100_000, 1_000_001, 10_000))


def _powers(ledger: _Ledger) -> None:
    """B10/B11: powers taken over from the province and the city; a blank count is one power."""
    rng = ledger.rng
    for kind, level, rows in (("provincial-delegation", "省级", rng.randint(1, 4)), ("city-delegation", "市级", rng.randint(1, 3))):
        for n in range(1, rows + 1):
            ledger.add(kind, item=f"{level}下放管理权限第{n}批", count=rng.choice(("", "1", "2", "3", "4")))


def _innovations(ledger: _Ledger) -> None:
    """B12–B15: own innovations and pilot offers, cross-cutting, special or of no stated scope."""
    rng = ledger.rng
    for kind, thing, rows in (("own-innovation", "自主探索创新举措", rng.randint(2, 5)),
                              ("pilot-offer", "提供先行先试举措", rng.randint(1, 4))):
        for n in range(1, rows + 1):
            scope = rng.choices((CROSS, SPECIAL, ""), weights=(4, 5, 1))[0]
            ledger.add(kind, item=f"{thing}第{n}组", scope=scope, count=rng.choice(("", "1", "2", "3")))


def _recognition(ledger: _Ledger) -> None:
    """B16/B17: promotions by the provincial FTZ office and media reports (city media do not count)."""
    rng = ledger.rng
    promotions = rng.randint(0, 3)
    for n in range(1, promotions + 1):
        ledger.add("provincial-promotion", item=f"省自贸办发文推广经验{n}", level=PROVINCIAL)
    if promotions and rng.random() < 0.2:
        ledger.add("provincial-promotion", item="省自贸办发文推广经验1", level=PROVINCIAL, note="同一经验再次报送")
    for n in range(1, rng.randint(8, 16) + 1):
        level = rng.choices((CITY, PROVINCIAL, NATIONAL), weights=(40, 45, 15))[0]
        ledger.add("media-report", item=f"发展红利报道{n}", level=level)


def _ranking(ledger: _Ledger) -> None:
    """B18: the year's place in the comprehensive evaluation, and last year's (sometimes unknown)."""
    rng = ledger.rng
    field = max(30, len(ledger.world.zones))
    rank = rng.randint(1, field)
    previous = "" if rng.random() < 0.1 else max(1, rank + rng.randint(-4, 14))
    ledger.add("comprehensive-ranking", dated=False, rank=rank, previous_rank=previous)
    if rng.random() < 0.05:  # a second ranking row for the year is not counted
        ledger.add("comprehensive-ranking", dated=False, rank=min(field, rank + 3), note="重复报送")


def _self_assessment(ledger: _Ledger) -> None:
    """自评分: the zone's own score for every third-level indicator, in half points up to its maximum."""
    rng = ledger.rng
    for indicator in ledger.world.reference.indicators:
        halves = int(indicator.max * 2)
        score = Decimal(rng.randint(halves // 3, halves)) / 2
        ledger.add("self-assessment", dated=False, indicator=indicator.code, self_score=_number(score))


def _number(value: Decimal) -> str:
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """A CSV ledger (UTF-8, Chinese headers), as office staff save one."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([header for _, header in COLUMNS])
        for row in rows:
            writer.writerow([row.get(column, "") for column, _ in COLUMNS])

