"""The invented part of a synthetic knowledge base: pilot zones spread over the real Fujian cities (some
inside the real FTZ areas) and measures filling the real catalogue batches, planned from a seed.

Every choice is drawn from a random generator seeded with the seed and what is being drawn (a zone's
number, "measures"), so a zone's plan does not depend on how many zones are generated or in which
order: the same seed gives the same bytes, and the work grows linearly with the zones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS, XSD

from ..namespace import ELI, LEVEL, PKB, SCOPE, SYNTHETIC, bind_prefixes
from .reference import PROVINCE, City, Reference

LABEL = "合成样例·"  # every synthetic label starts so: synthetic sample data, never a statement of fact
MAX_ZONES = 10_000  # a country has about 2,600 development zones
OUTSIDE_ITEMS = 8  # measures of the synthetic batch that attachment 1's catalogue does not list
POPULARITY_SKEW = 1.1  # Zipf exponent: the k-th most popular measure is drawn 1/k^1.1 as often as the first


def rng_for(seed: int, *what) -> random.Random:
    """A generator for one thing to draw; string seeds are hashed with SHA-512, the same on every run."""
    return random.Random(":".join(["policykb-synthetic", str(seed), *map(str, what)]))


@dataclass(frozen=True)
class Zone:
    number: int
    iri: URIRef
    code: str
    label: str
    city: City
    level: URIRef
    within: URIRef | None  # the FTZ area the zone lies within
    overlaps: URIRef | None  # the FTZ area the zone lies partly within


@dataclass(frozen=True)
class Measure:
    iri: URIRef
    code: str
    label: str
    batch: URIRef
    scope: URIRef
    field: URIRef
    unit: URIRef | None
    in_catalogue: bool
    popularity: float  # relative weight with which a zone picks it among the measures in (or outside) the catalogue


@dataclass(frozen=True)
class World:
    """What one seed invents, and the reference data it points at."""

    seed: int
    year: int
    reference: Reference
    zones: tuple[Zone, ...]
    measures: tuple[Measure, ...]

    @property
    def catalogue_measures(self) -> tuple[Measure, ...]:
        return tuple(m for m in self.measures if m.in_catalogue)

    @property
    def outside_measures(self) -> tuple[Measure, ...]:
        return tuple(m for m in self.measures if not m.in_catalogue)


OUTSIDE_BATCH = SYNTHETIC["batch-outside"]


def plan(reference: Reference, zones: int, seed: int, year: int) -> World:
    return World(seed, year, reference, plan_zones(reference, zones, seed), plan_measures(reference, seed))


def plan_zones(reference: Reference, count: int, seed: int) -> tuple[Zone, ...]:
    """Zones dealt to the cities in turn (in an order shuffled by the seed); in a city with an FTZ area,
    every third zone lies inside it, alternately wholly and partly, so that any run with at least one
    zone per city has zones inside FTZ areas."""
    cities = list(reference.cities)
    rng_for(seed, "cities").shuffle(cities)
    width = len(str(MAX_ZONES))
    dealt: dict[URIRef, int] = {}
    out = []
    for number in range(1, count + 1):
        city = cities[(number - 1) % len(cities)]
        nth = dealt.get(city.iri, 0)
        dealt[city.iri] = nth + 1
        within = overlaps = None
        if city.ftz_area is not None and nth % 3 == 0:
            if (nth // 3) % 2 == 0:
                within = city.ftz_area.iri
            else:
                overlaps = city.ftz_area.iri
        level = LEVEL.national if rng_for(seed, "zone", number).random() < 0.2 else LEVEL.provincial
        out.append(Zone(number, SYNTHETIC[f"zone-{number:0{width}d}"], f"syn-{number:0{width}d}",
                        f"{LABEL}{city.name}开发区{number:0{width}d}", city, level, within, overlaps))
    return tuple(out)


def plan_measures(reference: Reference, seed: int) -> tuple[Measure, ...]:
    """As many measures in each catalogue batch as the catalogue gives it and the knowledge base does not
    name yet, plus a few in a synthetic batch outside the catalogue. A measure's scope is its field's
    typical scope four times in five."""
    rng = rng_for(seed, "measures")
    drafts = [(batch.iri, True) for batch in reference.batches for _ in range(batch.room)]
    drafts += [(OUTSIDE_BATCH, False)] * OUTSIDE_ITEMS
    order = list(range(sum(1 for _, inside in drafts if inside)))
    rng.shuffle(order)  # popularity rank of each catalogue measure
    width = max(3, len(str(len(drafts))))
    out = []
    for n, (batch, inside) in enumerate(drafts, 1):
        field = rng.choice(reference.fields)
        scope = field.typical_scope if field.typical_scope and rng.random() < 0.8 else rng.choice([SCOPE.cross, SCOPE.special])
        unit = rng.choice(reference.units) if reference.units else None
        popularity = 1 / (order[n - 1] + 1) ** POPULARITY_SKEW if inside else 1.0
        code = f"SYN-{n:0{width}d}"
        out.append(Measure(SYNTHETIC[f"measure-{n:0{width}d}"], code, f"{LABEL}{field.name}举措{code}", batch, scope,
                           field.iri, unit, inside, popularity))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Turtle of the invented zones and measures
# ---------------------------------------------------------------------------------------------

_BANNER = """# SYNTHETIC SAMPLE DATA written by `policykb generate --zones {zones} --seed {seed}`: invented {what}.
# Not statements of fact: every label starts with 合成样例· and every resource carries pkb:sampleData true.
# They point at real resources of the knowledge base (cities, FTZ areas, catalogue batches, units).

"""


def zones_graph(world: World) -> Graph:
    graph = _graph()
    for zone in world.zones:
        s = zone.iri
        graph.add((s, RDF.type, PKB.InnovationPromotionPilotZone))
        graph.add((s, SKOS.prefLabel, Literal(zone.label, lang="zh")))
        graph.add((s, SKOS.prefLabel, Literal(f"Synthetic sample zone {zone.code}", lang="en")))
        graph.add((s, SKOS.notation, Literal(zone.code)))
        graph.add((s, PKB.inCity, zone.city.iri))
        graph.add((s, PKB.inProvince, PROVINCE))
        graph.add((s, PKB.zoneLevel, zone.level))
        if zone.within is not None:
            graph.add((s, PKB.withinFTZArea, zone.within))
        if zone.overlaps is not None:
            graph.add((s, PKB.overlapsFTZArea, zone.overlaps))
        graph.add((s, PKB.sampleData, Literal(True)))
    return graph


def measures_graph(world: World) -> Graph:
    graph = _graph()
    outside = OUTSIDE_BATCH
    graph.add((outside, RDF.type, PKB.MeasureBatch))
    graph.add((outside, ELI.id_local, Literal(f"合成样例〔{world.year}〕1号")))
    graph.add((outside, ELI.title, Literal(f"{LABEL}目录外的复制推广举措文件", lang="zh")))
    graph.add((outside, ELI.title, Literal("Synthetic sample batch outside the attachment 1 catalogue", lang="en")))
    graph.add((outside, ELI.passed_by, world.reference.issuer))
    graph.add((outside, PKB.year, Literal(world.year, datatype=XSD.integer)))
    graph.add((outside, PKB.itemCount, Literal(OUTSIDE_ITEMS, datatype=XSD.integer)))
    graph.add((outside, PKB.sampleData, Literal(True)))
    for m in world.measures:
        graph.add((m.iri, RDF.type, PKB.Measure))
        graph.add((m.iri, SKOS.prefLabel, Literal(m.label, lang="zh")))
        graph.add((m.iri, SKOS.prefLabel, Literal(f"Synthetic sample measure {m.code}", lang="en")))
        graph.add((m.iri, SKOS.notation, Literal(m.code)))
        graph.add((m.iri, PKB.publishedIn, m.batch))
        graph.add((m.iri, PKB.scope, m.scope))
        graph.add((m.iri, PKB.field, m.field))
        if m.unit is not None:
            graph.add((m.iri, PKB.responsibleUnit, m.unit))
        graph.add((m.iri, PKB.sampleData, Literal(True)))
    return graph


def write_world(world: World, folder: Path) -> list[Path]:
    """kb/sample/synthetic-zones.ttl and synthetic-measures.ttl."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, what, graph in (("synthetic-zones.ttl", f"{len(world.zones)} innovation-promotion pilot zones", zones_graph(world)),
                              ("synthetic-measures.ttl", f"{len(world.measures)} measures and one batch document",
                               measures_graph(world))):
        path = folder / name
        banner = _BANNER.format(zones=len(world.zones), seed=world.seed, what=what)
        path.write_text(banner + graph.serialize(format="turtle"), encoding="utf-8")
        written.append(path)
    return written


def _graph() -> Graph:
    graph = Graph()
    bind_prefixes(graph)
    return graph
