"""The replication network as a networkx graph, and the answers researchers ask of it.

Documents → measures → units, zones → replications → measures, zones → parent zones → FTZ areas →
cities: the graph is built from the store with a few SPARQL edge lists and rebuilt whenever the store's
content changes, so that replicated measures (with the path that proves each), coverage of the
catalogue, gaps, diffusion and centrality always follow the loaded knowledge base.

A replication counts when it has no pkb:replicationStatus or status:replicated; rows marked
status:not-replicated (the Zhejiang table's 否) are kept in the graph but never count.
"""

from __future__ import annotations

import difflib
import functools
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable

import networkx as nx
from rdflib import URIRef

from ..errors import UsageError
from ..namespace import STATUS, curie

REPLICATED = str(STATUS["replicated"])

# Edge lists, one simple pattern per predicate: cheap on every store (no OPTIONAL, no long joins).
_EDGES = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX eli: <http://data.europa.eu/eli/ontology#>
SELECT ?s ?p ?o WHERE {
  VALUES ?p { pkb:zone pkb:measure pkb:publishedIn eli:passed_by pkb:responsibleUnit pkb:partOfZone
              pkb:withinFTZArea pkb:overlapsFTZArea pkb:areaOf pkb:inCity pkb:inProvince pkb:scope pkb:field
              pkb:replicationStatus }
  ?s ?p ?o
}"""
_VALUES = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX eli: <http://data.europa.eu/eli/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?s ?p ?o WHERE {
  VALUES ?p { skos:prefLabel skos:altLabel skos:notation pkb:shortName eli:id_local eli:title pkb:year
              pkb:itemCount dcterms:date pkb:ledgerFile pkb:ledgerRow pkb:reasonNotReplicated }
  ?s ?p ?o
}"""
_TYPES = """
PREFIX pkb: <https://w3id.org/policykb/def#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?s ?type ?kind WHERE {
  { ?s a ?type . ?type rdfs:subClassOf* pkb:Zone . BIND ("zone" AS ?kind) }
  UNION { VALUES (?type ?kind) { (pkb:Measure "measure") (pkb:MeasureBatch "document") (pkb:Replication "replication") }
          ?s a ?type }
}"""
_CATALOGUE = """
PREFIX pkb: <https://w3id.org/policykb/def#>
SELECT ?batch ?seq WHERE { ?entry a pkb:CatalogueEntry ; pkb:lists ?batch ; pkb:catalogueSeq ?seq }"""

# RDF predicate -> (edge relation, reversed?): `pkb:zone` points from evidence to zone, the graph from zone to evidence.
_RELATIONS = {
    "pkb:zone": ("reported", True),
    "pkb:measure": ("measure", False),
    "pkb:publishedIn": ("published_in", False),
    "eli:passed_by": ("issued_by", False),
    "pkb:responsibleUnit": ("responsible_unit", False),
    "pkb:partOfZone": ("part_of", False),
    "pkb:withinFTZArea": ("within", False),
    "pkb:overlapsFTZArea": ("overlaps", False),
    "pkb:areaOf": ("area_of", False),
    "pkb:inCity": ("in_city", False),
    "pkb:inProvince": ("in_province", False),
    "pkb:scope": ("scope", False),
    "pkb:field": ("field", False),
    "pkb:replicationStatus": ("status", False),
}
_ATTRIBUTES = {
    "skos:prefLabel": "labels", "skos:altLabel": "alt_labels", "skos:notation": "notation",
    "pkb:shortName": "short_name", "eli:id_local": "number", "eli:title": "title", "pkb:year": "year",
    "pkb:itemCount": "items",
    "dcterms:date": "date", "pkb:ledgerFile": "ledger_file", "pkb:ledgerRow": "ledger_row",
    "pkb:reasonNotReplicated": "reason",
}
_MULTI = {"labels", "alt_labels", "title"}
PEERS = ("province", "city", "all")


@dataclass(frozen=True)
class Ref:
    """A resource as answers show it: full IRI, prefixed name, Chinese (else any) label, what it is."""

    id: str
    curie: str
    label: str
    kind: str


@dataclass(frozen=True)
class Evidence:
    """One replication row as imported: where it came from, when, and whether it counts."""

    id: str
    zone: str
    measure: str
    year: int | None
    date: date | None
    ledger_file: str | None
    ledger_row: int | None
    status: str | None
    counts: bool
    reason: str | None = None

    @property
    def where(self) -> str:
        """The ledger and row, as office staff find it: sample-2021-fz-b.csv:6."""
        if self.ledger_file:
            name = self.ledger_file.rsplit("/", 1)[-1]
            return f"{name}:{self.ledger_row}" if self.ledger_row is not None else name
        return curie(self.id)

    @property
    def when(self) -> str:
        return self.date.isoformat() if self.date else (str(self.year) if self.year is not None else "")


@dataclass(frozen=True)
class ReplicatedMeasure:
    """A measure a zone has replicated, with every counting evidence row and the path that proves it."""

    measure: Ref
    notation: str | None
    scope: Ref | None
    document: Ref | None
    issuers: tuple[Ref, ...]
    units: tuple[Ref, ...]
    catalogued: bool
    first_year: int | None
    first_date: date | None
    evidence: tuple[Evidence, ...]
    path: tuple[Ref, ...]  # zone → replication evidence → measure → catalogue document → issuing body


@dataclass(frozen=True)
class Share:
    """Replicated measures of one scope or one batch, against the named measures and (for a batch) its items."""

    key: str
    label: str
    replicated: int
    named: int
    items: int | None = None

    @property
    def share_of_named(self) -> Decimal | None:
        return _ratio(self.replicated, self.named)

    @property
    def share_of_items(self) -> Decimal | None:
        return _ratio(self.replicated, self.items) if self.items is not None else None


@dataclass(frozen=True)
class Coverage:
    """How much of the catalogue one zone has replicated.

    Most catalogue items are unnamed in the knowledge base (the source documents' annexes are not in it), and
    only named measures can be replicated: the share of all items is therefore a floor, the share of the named
    measures the fairer figure.
    """

    zone: Ref
    replicated: int  # distinct catalogue measures with counting evidence
    named: int  # named measures in the catalogue
    items: int  # items the catalogue lists (named or not)
    outside: int  # replicated measures whose batch the catalogue does not list
    by_scope: tuple[Share, ...]
    by_batch: tuple[Share, ...]

    @property
    def share_of_items(self) -> Decimal | None:
        return _ratio(self.replicated, self.items)

    @property
    def share_of_named(self) -> Decimal | None:
        return _ratio(self.replicated, self.named)


@dataclass(frozen=True)
class Gap:
    """A catalogue measure a zone has not replicated, how many comparable zones have, and whom to contact."""

    measure: Ref
    notation: str | None
    scope: Ref | None
    document: Ref | None
    peers_with: int
    units: tuple[Ref, ...]
    issuers: tuple[Ref, ...]
    reported_not_replicated: str | None  # the zone's reason, when its ledger says 否


@dataclass(frozen=True)
class GapReport:
    """The gaps of one zone against its comparable zones; unnamed catalogue items cannot be listed."""

    zone: Ref
    peers: tuple[Ref, ...]
    gaps: tuple[Gap, ...]
    named: int
    items: int

    @property
    def unnamed(self) -> int:
        return max(self.items - self.named, 0)


@dataclass(frozen=True)
class Adoption:
    """One zone's first counting replication of a measure, and its place in the order of adopters."""

    zone: Ref
    rank: int
    year: int | None
    date: date | None
    evidence: Evidence


@dataclass(frozen=True)
class Diffusion:
    """The order in which zones replicated one measure (by dcterms:date, else by year)."""

    measure: Ref
    notation: str | None
    scope: Ref | None
    adoptions: tuple[Adoption, ...]

    @property
    def leaders(self) -> tuple[Ref, ...]:
        return tuple(a.zone for a in self.adoptions if a.rank == 1)

    @property
    def first(self) -> Adoption | None:
        return self.adoptions[0] if self.adoptions else None

    @property
    def last(self) -> Adoption | None:
        return self.adoptions[-1] if self.adoptions else None

    @property
    def span_days(self) -> int | None:
        """Days from the first to the last adoption, when both are dated."""
        if self.first and self.last and self.first.date and self.last.date:
            return (self.last.date - self.first.date).days
        return None


@dataclass(frozen=True)
class Centrality:
    """A zone or unit in the replication network (zones – measures – responsible units).

    measures: distinct measures replicated (zone) or owned and replicated by someone (unit); zones: zones
    reached (unit) or zones sharing a measure (zone); replications: zone–measure pairs; leads: measures the zone
    adopted first (ties included); ahead_of: adoptions by other zones that came strictly later than the zone's;
    degree and betweenness: networkx centralities in the undirected zone–measure–unit network.
    """

    node: Ref
    measures: int
    zones: int
    replications: int
    leads: int
    ahead_of: int
    degree: float
    betweenness: float


def _ratio(part: int, whole: int | None) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def store_stamp(store) -> tuple:
    """What identifies the store's content: the digest of every graph's source (the store's manifest)."""
    return tuple(sorted((name, info.digest, info.triples) for name, info in store.manifest().items()))


def _current(method):
    """Refresh the graph from the store once per outermost public call (not on every inner lookup)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            self._refresh()
        self._local.depth = depth + 1
        try:
            return method(self, *args, **kwargs)
        finally:
            self._local.depth = depth

    return wrapper


class ReplicationGraph:
    """The knowledge base as a networkx MultiDiGraph, kept in step with a store.

    Nodes are IRIs with a `kind` (zone, measure, document, unit, replication, concept, place, …) and their
    literal values; edges carry a `rel` (reported, measure, published_in, issued_by, responsible_unit, part_of,
    within, overlaps, area_of, in_city, in_province, scope, field, status). Every public method first checks
    the store and rebuilds the graph when its content has changed.
    """

    def __init__(self, store):
        self.store = store
        self._stamp: tuple | None = None
        self._graph: nx.MultiDiGraph = nx.MultiDiGraph()
        self._catalogue: dict[str, int] = {}
        self._index: dict[str, dict[str, set[str]]] = {}
        self._local = threading.local()
        self._lock = threading.Lock()

    # ---- building -------------------------------------------------------------------------------

    @property
    @_current
    def nx(self) -> nx.MultiDiGraph:
        """The current networkx graph (rebuilt first if the store changed)."""
        return self._graph

    def _refresh(self) -> None:
        with self._lock:
            stamp = store_stamp(self.store)
            if stamp != self._stamp:
                self._build()
                self._stamp = stamp

    def _build(self) -> None:
        graph = nx.MultiDiGraph()
        for row in self.store.query(_TYPES):
            node = str(row.s)
            graph.add_node(node)
            data = graph.nodes[node]
            data.setdefault("types", set()).add(str(row.type))
            data["kind"] = str(row.kind)
        for row in self.store.query(_EDGES):
            rel, backwards = _RELATIONS[curie(row.p)]
            source, target = (str(row.o), str(row.s)) if backwards else (str(row.s), str(row.o))
            graph.add_edge(source, target, key=rel, rel=rel)
        for row in self.store.query(_VALUES):
            node = str(row.s)
            if node not in graph:
                continue
            key = _ATTRIBUTES[curie(row.p)]
            if key in _MULTI:
                graph.nodes[node].setdefault(key, []).append(row.o)
            else:
                graph.nodes[node][key] = row.o.toPython()
        catalogue: dict[str, int] = {}
        for row in self.store.query(_CATALOGUE):
            batch, seq = str(row.batch), int(row.seq)
            catalogue[batch] = min(seq, catalogue.get(batch, seq))
        for node, data in graph.nodes(data=True):
            data.setdefault("kind", _kind_by_edges(graph, node))
            data["label"] = _label(node, data)
            if data["kind"] == "replication":
                status = next((t for _, t, k in graph.out_edges(node, keys=True) if k == "status"), None)
                data["status"] = status
                data["counts"] = status is None or status == REPLICATED
        self._graph, self._catalogue, self._index = graph, catalogue, _name_index(graph)

    # ---- looking things up ----------------------------------------------------------------------

    def _ref(self, node: str) -> Ref:
        data = self._graph.nodes[node] if node in self._graph else {}
        return Ref(node, curie(URIRef(node)), data.get("label") or curie(URIRef(node)), data.get("kind", "unknown"))

    @_current
    def ref(self, node: str) -> Ref:
        """A node as answers show it."""
        return self._ref(node)

    @_current
    def zone(self, text: str) -> str:
        """The zone named by an IRI, prefixed name, local name, skos:notation or label."""
        return self._resolve(text, "zone")

    @_current
    def measure(self, text: str) -> str:
        """The measure named by an IRI, prefixed name, local name, skos:notation or label."""
        return self._resolve(text, "measure")

    def _resolve(self, text: str, kind: str) -> str:
        words = self._index.get(kind, {})
        hits = words.get(_norm(text), set())
        if len(hits) == 1:
            return next(iter(hits))
        if len(hits) > 1:
            names = ", ".join(sorted(curie(URIRef(h)) for h in hits))
            raise UsageError(f"{text!r} names more than one {kind}: {names}", hint=f"give the {kind}'s prefixed name")
        close = difflib.get_close_matches(_norm(text), list(words), n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise UsageError(f"no {kind} {text!r} in the knowledge base",
                         hint=hint + f"name a {kind} by its prefixed name (e.g. sample:zone-fz-b), code or Chinese label")

    def _targets(self, node: str | None, rel: str) -> list[str]:
        if node is None or node not in self._graph:
            return []
        return sorted(t for _, t, k in self._graph.out_edges(node, keys=True) if k == rel)

    def _sources(self, node: str, rel: str) -> list[str]:
        if node not in self._graph:
            return []
        return sorted(s for s, _, k in self._graph.in_edges(node, keys=True) if k == rel)

    def _one(self, node: str | None, rel: str) -> str | None:
        found = self._targets(node, rel)
        return found[0] if found else None

    def _refs(self, node: str | None, rel: str) -> tuple[Ref, ...]:
        return tuple(self._ref(t) for t in self._targets(node, rel))

    def _notation(self, node: str) -> str | None:
        value = self._graph.nodes[node].get("notation")
        return None if value is None else str(value)

    def _measure_order(self, measure: str) -> tuple:
        data = self._graph.nodes[measure]
        return (str(data.get("notation") or "~"), data.get("label", ""), measure)

    # ---- the replication relation ---------------------------------------------------------------

    def _evidence(self, replication: str) -> Evidence:
        data = self._graph.nodes[replication]
        when = data.get("date")
        return Evidence(
            id=replication, zone=(self._sources(replication, "reported") or [""])[0],
            measure=self._one(replication, "measure") or "", year=data.get("year"),
            date=when if isinstance(when, date) else None, ledger_file=data.get("ledger_file"),
            ledger_row=data.get("ledger_row"), status=data.get("status"), counts=bool(data.get("counts")),
            reason=data.get("reason"))

    @_current
    def replications(self, *, zone: str | None = None, measure: str | None = None, year: int | None = None,
                     counting: bool = True) -> list[Evidence]:
        """Replication evidence (counting rows only, by default) of a zone or measure, up to and in `year`."""
        if zone is not None:
            nodes = self._targets(zone, "reported")
        elif measure is not None:
            nodes = self._sources(measure, "measure")
        else:
            nodes = [n for n, d in self._graph.nodes(data=True) if d.get("kind") == "replication"]
        found = []
        for node in nodes:
            if self._graph.nodes[node].get("kind") != "replication":
                continue
            item = self._evidence(node)
            if not item.zone or not item.measure or (counting and not item.counts):
                continue
            if year is not None and (item.year is None or item.year > year):
                continue
            if (zone is None or item.zone == zone) and (measure is None or item.measure == measure):
                found.append(item)
        return sorted(found, key=_evidence_order)

    @_current
    def adopted(self, year: int | None = None) -> dict[str, dict[str, list[Evidence]]]:
        """zone -> measure -> its counting evidence rows, earliest first (up to and in `year`)."""
        table: dict[str, dict[str, list[Evidence]]] = {}
        for item in self.replications(year=year):
            table.setdefault(item.zone, {}).setdefault(item.measure, []).append(item)
        return table

    # ---- catalogue ------------------------------------------------------------------------------

    @_current
    def catalogue_items(self) -> int:
        """Items the catalogue lists: the sum of the listed batches' item counts (335 for the Fujian 2021 list)."""
        return sum(int(self._graph.nodes[b].get("items") or 0) for b in self._catalogue if b in self._graph)

    @_current
    def catalogue_measures(self) -> list[str]:
        """Named measures published in a batch the catalogue lists."""
        return sorted((n for n, d in self._graph.nodes(data=True)
                       if d.get("kind") == "measure" and self._one(n, "published_in") in self._catalogue),
                      key=self._measure_order)

    # ---- answers --------------------------------------------------------------------------------

    @_current
    def measures(self, zone: str, year: int | None = None) -> list[ReplicatedMeasure]:
        """The measures `zone` has replicated up to and in `year`, each with its proof path and scope."""
        found = []
        for measure, rows in self.adopted(year).get(zone, {}).items():
            document = self._one(measure, "published_in")
            issuers = self._refs(document, "issued_by")
            path = [self._ref(zone), self._ref(rows[0].id), self._ref(measure)]
            path += [self._ref(document)] if document else []
            path += list(issuers[:1]) if document else []
            scope = self._one(measure, "scope")
            found.append(ReplicatedMeasure(
                measure=self._ref(measure), notation=self._notation(measure),
                scope=self._ref(scope) if scope else None, document=self._ref(document) if document else None,
                issuers=issuers, units=self._refs(measure, "responsible_unit"),
                catalogued=document in self._catalogue, first_year=rows[0].year, first_date=rows[0].date,
                evidence=tuple(rows), path=tuple(path)))
        return sorted(found, key=lambda r: self._measure_order(r.measure.id))

    @_current
    def zones_with_evidence(self) -> list[str]:
        """Zones that have at least one evidence item of any kind."""
        return sorted({s for s, _, k in self._graph.edges(keys=True) if k == "reported"})

    @_current
    def coverage(self, year: int | None = None, zones: Iterable[str] | None = None) -> list[Coverage]:
        """Per zone (every zone with evidence, or `zones`): the share of the catalogue replicated up to `year`."""
        catalogue = self.catalogue_measures()
        adopted = self.adopted(year)
        scopes: dict[str, set[str]] = {}
        batches: dict[str, set[str]] = {b: set() for b in self._catalogue}
        for measure in catalogue:
            scopes.setdefault(self._one(measure, "scope") or "", set()).add(measure)
            batches[self._one(measure, "published_in")].add(measure)
        result = []
        for zone in (list(zones) if zones is not None else self.zones_with_evidence()):
            done = set(adopted.get(zone, {}))
            by_scope = tuple(
                Share(curie(URIRef(s)) if s else "unspecified", self._ref(s).label if s else "（未注明）",
                      len(done & ms), len(ms))
                for s, ms in sorted(scopes.items(), key=lambda kv: (kv[0] == "", kv[0])))
            by_batch = tuple(
                Share(curie(URIRef(b)), self._ref(b).label, len(done & ms), len(ms),
                      int(self._graph.nodes[b].get("items") or 0) if b in self._graph else 0)
                for b, ms in sorted(batches.items(), key=lambda kv: self._catalogue[kv[0]]))
            result.append(Coverage(
                zone=self._ref(zone), replicated=len(done & set(catalogue)), named=len(catalogue),
                items=self.catalogue_items(), outside=len(done - set(catalogue)), by_scope=by_scope,
                by_batch=by_batch))
        return result

    @_current
    def peers(self, zone: str, within: str = "province") -> list[str]:
        """Comparable zones: other zones of the same type in the same province (or city), or all zones with evidence."""
        if within not in PEERS:
            raise UsageError(f"unknown peer group {within!r}", hint=f"choose one of {', '.join(PEERS)}")
        if within == "all":
            return [z for z in self.zones_with_evidence() if z != zone]
        rel = "in_province" if within == "province" else "in_city"
        types = self._graph.nodes[zone].get("types", set())
        places = set(self._targets(zone, rel))
        found = [z for z, d in self._graph.nodes(data=True)
                 if z != zone and d.get("kind") == "zone" and d.get("types", set()) & types
                 and places & set(self._targets(z, rel))]
        return sorted(found, key=lambda z: (self._graph.nodes[z].get("label", ""), z))

    @_current
    def gaps(self, zone: str, year: int | None = None, within: str = "province") -> GapReport:
        """Catalogue measures `zone` has not replicated, the most widely replicated among its peers first."""
        adopted = self.adopted(year)
        peers = self.peers(zone, within)
        done = set(adopted.get(zone, {}))
        refused = {e.measure: e.reason or "" for e in self.replications(zone=zone, year=year, counting=False)
                   if not e.counts}
        catalogue = self.catalogue_measures()
        gaps = []
        for measure in catalogue:
            if measure in done:
                continue
            document = self._one(measure, "published_in")
            scope = self._one(measure, "scope")
            gaps.append(Gap(
                measure=self._ref(measure), notation=self._notation(measure),
                scope=self._ref(scope) if scope else None, document=self._ref(document) if document else None,
                peers_with=sum(1 for p in peers if measure in adopted.get(p, {})),
                units=self._refs(measure, "responsible_unit"), issuers=self._refs(document, "issued_by"),
                reported_not_replicated=refused.get(measure)))
        gaps.sort(key=lambda g: (-g.peers_with, self._measure_order(g.measure.id)))
        return GapReport(zone=self._ref(zone), peers=tuple(self._ref(p) for p in peers), gaps=tuple(gaps),
                         named=len(catalogue), items=self.catalogue_items())

    @_current
    def diffusion(self, measure: str | None = None, year: int | None = None) -> list[Diffusion]:
        """For one measure (or every replicated measure) the order in which zones replicated it."""
        firsts: dict[str, list[Evidence]] = {}
        for zone, measures in self.adopted(year).items():
            for m, rows in measures.items():
                firsts.setdefault(m, []).append(rows[0])
        result = []
        for m in ([measure] if measure is not None else sorted(firsts, key=self._measure_order)):
            order = sorted(firsts.get(m, []), key=_evidence_order)
            adoptions = tuple(Adoption(self._ref(e.zone), 1 + sum(1 for o in order if _earlier(o, e)), e.year, e.date, e)
                              for e in order)
            scope = self._one(m, "scope")
            result.append(Diffusion(self._ref(m), self._notation(m), self._ref(scope) if scope else None, adoptions))
        return result

    @_current
    def network(self, year: int | None = None) -> nx.Graph:
        """The undirected replication network: zone – measure (counting replications) – responsible unit."""
        network = nx.Graph()
        for zone, measures in self.adopted(year).items():
            network.add_node(zone, kind="zone")
            for measure, rows in measures.items():
                network.add_node(measure, kind="measure")
                network.add_edge(zone, measure, replications=len(rows))
        for measure in [n for n, d in network.nodes(data=True) if d["kind"] == "measure"]:
            for unit in self._targets(measure, "responsible_unit"):
                network.add_node(unit, kind="unit")
                network.add_edge(measure, unit, replications=0)
        return network

    @_current
    def centrality(self, year: int | None = None, of: str = "zone") -> list[Centrality]:
        """Zones (or units) in the replication network: reach, lead in diffusion, degree and betweenness."""
        if of not in ("zone", "unit"):
            raise UsageError(f"centrality of {of!r}?", hint="choose zone or unit")
        network = self.network(year)
        degree = nx.degree_centrality(network) if len(network) > 1 else {}
        betweenness = nx.betweenness_centrality(network) if len(network) > 2 else {}
        leads: dict[str, int] = {}
        ahead: dict[str, int] = {}
        for diffusion in self.diffusion(year=year):
            for adoption in diffusion.adoptions:
                zone = adoption.zone.id
                leads[zone] = leads.get(zone, 0) + (adoption.rank == 1)
                ahead[zone] = ahead.get(zone, 0) + sum(1 for o in diffusion.adoptions if o.rank > adoption.rank)
        kind = lambda n: network.nodes[n]["kind"]  # noqa: E731
        result = []
        for node in (n for n in network if kind(n) == of):
            if of == "zone":
                measures = set(network[node])
                zones = {z for m in measures for z in network[m] if kind(z) == "zone"} - {node}
                rows = sum(network[node][m]["replications"] for m in measures)
            else:
                measures = {m for m in network[node] if any(kind(z) == "zone" for z in network[m])}
                zones = {z for m in measures for z in network[m] if kind(z) == "zone"}
                rows = sum(network[m][z]["replications"] for m in measures for z in network[m] if kind(z) == "zone")
            result.append(Centrality(self._ref(node), len(measures), len(zones), rows, leads.get(node, 0),
                                     ahead.get(node, 0), round(degree.get(node, 0.0), 4),
                                     round(betweenness.get(node, 0.0), 4)))
        return sorted(result, key=lambda c: (-c.betweenness, -c.replications, c.node.label, c.node.id))


def _evidence_order(item: Evidence) -> tuple:
    return (item.year if item.year is not None else 10 ** 4, item.date or date.max, item.ledger_file or "",
            item.ledger_row or 0, item.id)


def _earlier(a: Evidence, b: Evidence) -> bool:
    """Strictly earlier: an earlier year, or the same year with both dated and an earlier date."""
    if a.year is None or b.year is None:
        return False
    if a.year != b.year:
        return a.year < b.year
    return a.date is not None and b.date is not None and a.date < b.date


def _kind_by_edges(graph: nx.MultiDiGraph, node: str) -> str:
    incoming = {k for _, _, k in graph.in_edges(node, keys=True)}
    if incoming & {"issued_by", "responsible_unit"}:
        return "unit"
    if incoming & {"within", "overlaps"}:
        return "area"
    if incoming & {"scope", "field", "status"}:
        return "concept"
    if incoming & {"in_city", "in_province", "area_of"}:
        return "place"
    return "resource"


def _label(node: str, data: dict) -> str:
    if data.get("kind") == "document" and data.get("number"):
        return str(data["number"])
    if data.get("kind") == "replication":
        file, row = data.get("ledger_file"), data.get("ledger_row")
        if file:
            return f"{str(file).rsplit('/', 1)[-1]}:{row}" if row is not None else str(file).rsplit("/", 1)[-1]
    for values in (data.get("labels"), data.get("title")):
        if values:
            by_language = {getattr(v, "language", None) or "": str(v) for v in values}
            for language in ("zh", "en", ""):
                if language in by_language:
                    return by_language[language]
            return sorted(by_language.values())[0]
    return curie(URIRef(node))


def _norm(text: str) -> str:
    return str(text).strip().casefold().replace("（", "(").replace("）", ")").replace("　", " ")


def _name_index(graph: nx.MultiDiGraph) -> dict[str, dict[str, set[str]]]:
    """kind -> normalised name -> nodes, for every way a person names a zone or measure."""
    index: dict[str, dict[str, set[str]]] = {}
    for node, data in graph.nodes(data=True):
        kind = data.get("kind")
        if kind not in ("zone", "measure"):
            continue
        names = {node, curie(URIRef(node)), node.rstrip("/").rsplit("/", 1)[-1]}
        names |= {str(v) for v in data.get("labels", []) + data.get("alt_labels", [])}
        if data.get("notation") is not None:
            names.add(str(data["notation"]))
        for name in names:
            index.setdefault(kind, {}).setdefault(_norm(name), set()).add(node)
    return index
