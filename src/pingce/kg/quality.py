"""Quality of a knowledge graph without gold: SHACL, completeness, consistency, redundancy,
connectivity and competency questions.

Every check reports per individual (or per question), so the run stores one record per node
and the rates carry bootstrap CIs over nodes:

- SHACL (pyshacl): a node conforms when no sh:Violation has it as focus node; violations
  are also counted by shape.
- Completeness: the share of the completeness shapes' expectations (property shapes with
  sh:minCount, paths may be inverse or alternative) a node of the target class meets.
- Consistency: a node is inconsistent when it is typed with two disjoint classes (types
  asserted, implied by rdfs:domain/range, and — below a size limit — inferred by OWL-RL
  with owlrl) or has two different values of a functional property.
- Redundancy: nodes with the same normalised label and compatible top-level types are
  duplicates (owl:sameAs clusters count as one entity); all but one per group are redundant.
- Connectivity: isolated nodes (no link to another individual) and connected components.
- Competency questions: SPARQL queries with expected answers (see steel-competency.yaml).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pingce.core.errors import DataError
from pingce.core.yaml_file import read_yaml
from pingce.kg.normalize import entity_key
from pingce.kg.ontology import Ontology, all_triples, parse_rdf

SH = "http://www.w3.org/ns/shacl#"
DEFAULT_OWLRL_LIMIT = 5000  # triples; OWL-RL closure of larger graphs is skipped as not cheap
PREFIXES = """PREFIX steel: <https://w3id.org/pingce/steel#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""


def load_graph(path: Path, what: str = "graph") -> Any:
    """A plain rdflib Graph with every triple of the file (named graphs merged)."""
    g = all_triples(parse_rdf(path, what))
    if len(g) == 0:
        raise DataError(f"{what} {path} has no triples")
    return g


def individuals(g: Any, onto: Ontology) -> list[Any]:
    """Nodes described by the graph: typed nodes and ends of links, minus schema terms."""
    from rdflib import OWL, RDF, RDFS, Literal

    schema = set(onto.classes) | {p.iri for p in onto.properties.values()}
    skip_types = {
        OWL.Class,
        RDFS.Class,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.Ontology,
        RDF.Property,
        OWL.AnnotationProperty,
        OWL.AllDisjointClasses,
    }
    nodes: set[Any] = set()
    for s, t in g.subject_objects(RDF.type):
        if t not in skip_types:
            nodes.add(s)
    for s, p, o in g:
        if p in (RDF.type, RDFS.subClassOf, RDFS.domain, RDFS.range):
            continue
        nodes.add(s)
        if not isinstance(o, Literal):
            nodes.add(o)
    declared = {s for s, t in g.subject_objects(RDF.type) if t in skip_types}
    return sorted(
        n for n in nodes if str(n) not in schema and n not in declared and not str(n).startswith(SH)
    )


def display_name(g: Any, node: Any) -> str:
    from rdflib import RDFS

    labels = sorted(str(x) for x in g.objects(node, RDFS.label))
    if labels:
        return labels[0]
    text = str(node)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


# ---- SHACL ------------------------------------------------------------------------------
@dataclass
class ShaclOutcome:
    conforms: bool
    results: list[dict[str, str]]  # focus, shape, path, severity, message


def _shape_name(shapes: Any, shape: Any) -> str:
    from rdflib import BNode, URIRef

    parent = next(iter(shapes.subjects(URIRef(SH + "property"), shape)), None)
    if parent is not None:
        shape_node = parent
        path = next(iter(shapes.objects(shape, URIRef(SH + "path"))), None)
        suffix = f".{str(path).rsplit('#', 1)[-1]}" if isinstance(path, URIRef) else ""
    else:
        shape_node, suffix = shape, ""
    if isinstance(shape_node, BNode):
        return "(anonymous shape)" + suffix
    return str(shape_node).rsplit("#", 1)[-1].rsplit("/", 1)[-1] + suffix


def run_shacl(g: Any, shapes: Any, ontology_graph: Any) -> ShaclOutcome:
    """pyshacl validation of `g` with the ontology as ontology graph (no extra inference)."""
    import pyshacl
    from rdflib import URIRef

    conforms, report, _ = pyshacl.validate(
        g,
        shacl_graph=shapes,
        ont_graph=ontology_graph,
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        allow_infos=True,
    )
    results = []
    for r in report.subjects(
        URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), URIRef(SH + "ValidationResult")
    ):

        def one(pred: str, r: Any = r) -> Any:
            return next(iter(report.objects(r, URIRef(SH + pred))), None)

        shape = one("sourceShape")
        results.append(
            {
                "focus": str(one("focusNode")),
                "shape": _shape_name(shapes, shape) if shape is not None else "",
                "path": str(one("resultPath") or ""),
                "severity": str(one("resultSeverity") or "").rsplit("#", 1)[-1],
                "message": str(one("resultMessage") or ""),
            }
        )
    return ShaclOutcome(bool(conforms), sorted(results, key=lambda d: (d["shape"], d["focus"])))


# ---- completeness -------------------------------------------------------------------------
def _path(shapes: Any, node: Any) -> Any:
    """An rdflib path object for a SHACL path node (IRI, inverse or alternative path)."""
    from rdflib import URIRef
    from rdflib.collection import Collection
    from rdflib.paths import AlternativePath, InvPath

    if isinstance(node, URIRef):
        return node
    inv = next(iter(shapes.objects(node, URIRef(SH + "inversePath"))), None)
    if inv is not None:
        return InvPath(_path(shapes, inv))
    alt = next(iter(shapes.objects(node, URIRef(SH + "alternativePath"))), None)
    if alt is not None:
        return AlternativePath(*[_path(shapes, x) for x in Collection(shapes, alt)])
    raise DataError("completeness shapes: only IRI, inverse and alternative paths are supported")


@dataclass(frozen=True)
class Expectation:
    target: str  # class IRI
    name: str
    path: Any
    min_count: int


def load_expectations(shapes: Any) -> list[Expectation]:
    from rdflib import URIRef

    out = []
    for shape, cls in shapes.subject_objects(URIRef(SH + "targetClass")):
        for prop in shapes.objects(shape, URIRef(SH + "property")):
            mc = next(iter(shapes.objects(prop, URIRef(SH + "minCount"))), None)
            path = next(iter(shapes.objects(prop, URIRef(SH + "path"))), None)
            if mc is None or path is None or int(mc) < 1:
                continue
            name = next(iter(shapes.objects(prop, URIRef(SH + "name"))), None)
            out.append(Expectation(str(cls), str(name or path), _path(shapes, path), int(mc)))
    return sorted(out, key=lambda e: (e.target, e.name))


def node_types(g: Any, node: Any, onto: Ontology) -> set[str]:
    """Asserted classes of a node with all their superclasses."""
    from rdflib import RDF

    out: set[str] = set()
    for t in g.objects(node, RDF.type):
        out |= onto.ancestors(str(t))
    return out


def completeness(
    g: Any, nodes: Iterable[Any], onto: Ontology, expectations: list[Expectation]
) -> dict[Any, dict[str, Any]]:
    """Per node with at least one expectation: expected, met, missing names."""
    out: dict[Any, dict[str, Any]] = {}
    for node in nodes:
        types = node_types(g, node, onto)
        applicable = [e for e in expectations if e.target in types]
        if not applicable:
            continue
        missing = [
            f"{onto.name(e.target)}: {e.name}"
            for e in applicable
            if sum(1 for _ in g.objects(node, e.path)) < e.min_count
        ]
        out[node] = {
            "expected": len(applicable),
            "met": len(applicable) - len(missing),
            "missing": missing,
        }
    return out


# ---- consistency --------------------------------------------------------------------------
@dataclass
class ConsistencyOutcome:
    issues: dict[Any, list[str]]
    method: str
    owlrl_errors: list[str] = field(default_factory=list)


def consistency(
    g: Any, nodes: Iterable[Any], onto: Ontology, ontology_graph: Any, owlrl_limit: int
) -> ConsistencyOutcome:
    from rdflib import RDF, Graph, Literal, URIRef

    node_list = list(nodes)
    types: dict[Any, set[str]] = defaultdict(set)
    owlrl_errors: list[str] = []
    if len(g) <= owlrl_limit:
        import owlrl

        merged = Graph()
        for t in g:
            merged.add(t)
        for t in ontology_graph:
            merged.add(t)
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(merged)
        for n in node_list:
            types[n] = {str(t) for t in merged.objects(n, RDF.type) if isinstance(t, URIRef)}
        err = URIRef("http://www.daml.org/2002/03/agents/agent-ont#error")
        owlrl_errors = sorted({str(o) for o in merged.objects(None, err)})
        method = f"OWL-RL closure (owlrl) of graph + ontology ({len(g)} triples <= {owlrl_limit})"
    else:
        for n in node_list:
            types[n] = {str(t) for t in g.objects(n, RDF.type)}
        by_iri = {p.iri: p for p in onto.properties.values()}
        for s, p, o in g:
            info = by_iri.get(str(p))
            if info is None:
                continue
            if len(info.domain) == 1:
                types[s] |= set(info.domain)
            if info.kind == "object" and len(info.range) == 1 and not isinstance(o, Literal):
                types[o] |= set(info.range)
        method = (
            f"asserted types + rdfs:domain/range ({len(g)} triples > {owlrl_limit}: OWL-RL skipped)"
        )
    issues: dict[Any, list[str]] = {n: [] for n in node_list}
    for n in node_list:
        ts = sorted(t for t in types.get(n, set()) if t in onto.classes)
        for i, a in enumerate(ts):
            for b in ts[i + 1 :]:
                if onto.are_disjoint(a, b) and not (
                    onto.ancestors(a) >= {b} or onto.ancestors(b) >= {a}
                ):
                    issues[n].append(f"disjoint classes {onto.name(a)} and {onto.name(b)}")
    for info in onto.properties.values():
        if not info.functional:
            continue
        values: dict[Any, set[str]] = defaultdict(set)
        for s, o in g.subject_objects(URIRef(info.iri)):
            values[s].add(entity_key(str(o)) if isinstance(o, Literal) else str(o))
        for s, vals in values.items():
            if len(vals) > 1 and s in issues:
                issues[s].append(f"{len(vals)} different values of functional {info.name}")
    # two disjoint-class messages for the same pair through different superclasses say one thing
    issues = {n: sorted(set(v)) for n, v in issues.items()}
    return ConsistencyOutcome(issues, method, owlrl_errors)


# ---- redundancy and connectivity --------------------------------------------------------------
def _find(parent: dict[Any, Any], x: Any) -> Any:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def redundancy(g: Any, nodes: list[Any], onto: Ontology) -> tuple[dict[Any, str], list[list[str]]]:
    """(node -> 'redundant copy of X' for redundant nodes, owl:sameAs clusters)."""
    from rdflib import OWL, RDFS, Literal

    parent = {n: n for n in nodes}
    for a, b in g.subject_objects(OWL.sameAs):
        if a in parent and b in parent:
            parent[_find(parent, a)] = _find(parent, b)
    clusters: dict[Any, list[Any]] = defaultdict(list)
    for n in nodes:
        clusters[_find(parent, n)].append(n)
    same_as = sorted(sorted(str(x) for x in c) for c in clusters.values() if len(c) > 1)

    def top_types(n: Any) -> frozenset[str]:
        return frozenset(
            t for t in node_types(g, n, onto) if t in onto.classes and not onto.classes.get(t)
        )

    def values(n: Any) -> tuple[tuple[str, str], ...]:
        # Literal values (a parameter's number and unit) tell same-named contexts apart.
        return tuple(
            sorted(
                (str(p), entity_key(str(o)))
                for p, o in g.predicate_objects(n)
                if isinstance(o, Literal) and p != RDFS.label
            )
        )

    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for root, members in clusters.items():
        labels = {entity_key(str(lab)) for m in members for lab in g.objects(m, RDFS.label)}
        tt = frozenset().union(*[top_types(m) for m in members])
        vals = tuple(sorted({v for m in members for v in values(m)}))
        for lab in labels:
            if lab:
                groups[(lab, tt, vals)].append(root)
    redundant: dict[Any, str] = {}
    for roots in groups.values():
        roots = sorted(set(roots))
        for r in roots[1:]:
            redundant.setdefault(r, f"same label as {roots[0]}")
    return redundant, same_as


def connectivity(g: Any, nodes: list[Any]) -> tuple[dict[Any, int], dict[Any, int], int]:
    """(degree per node, component id per node, number of components) over node-to-node links."""
    import numpy as np
    from rdflib import RDF
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    index = {n: i for i, n in enumerate(nodes)}
    rows, cols = [], []
    for s, p, o in g:
        if p == RDF.type or s not in index or o not in index or s == o:
            continue
        rows.append(index[s])
        cols.append(index[o])
    n = len(nodes)
    degree = dict.fromkeys(nodes, 0)
    for i, j in zip(rows, cols, strict=True):
        degree[nodes[i]] += 1
        degree[nodes[j]] += 1
    if n == 0:
        return degree, {}, 0
    m = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    k, labels = connected_components(m, directed=False)
    return degree, {nd: int(labels[i]) for nd, i in index.items()}, int(k)


# ---- competency questions -------------------------------------------------------------------
@dataclass(frozen=True)
class CompetencyQuestion:
    id: str
    question: str
    question_zh: str
    sparql: str
    expected: tuple[str, ...]
    match: str  # "superset" or "exact"


def load_competency(path: Path) -> list[CompetencyQuestion]:
    if not path.is_file():
        raise DataError(f"competency questions {path} do not exist")
    raw = read_yaml(path)  # bounded, UTF-8 checked; errors name the file
    qs = raw.get("questions") if isinstance(raw, dict) else None
    if not isinstance(qs, list) or not qs:
        raise DataError(f"{path}: expected a mapping with a non-empty 'questions' list")
    out = []
    for k, q in enumerate(qs):
        where = f"{path}: questions[{k}]"
        if (
            not isinstance(q, dict)
            or not isinstance(q.get("id"), str)
            or not isinstance(q.get("sparql"), str)
        ):
            raise DataError(f"{where}: needs 'id' and 'sparql' strings")
        if q.get("match", "superset") not in ("superset", "exact"):
            raise DataError(f"{where}: match must be superset or exact")
        expected = q.get("expected") or []
        if not isinstance(expected, list):
            raise DataError(f"{where}: expected must be a list of answers")
        out.append(
            CompetencyQuestion(
                q["id"],
                str(q.get("question", "")),
                str(q.get("question_zh", "")),
                q["sparql"],
                tuple(str(x) for x in expected),
                q.get("match", "superset"),
            )
        )
    return out


def answer(merged: Any, cq: CompetencyQuestion) -> dict[str, Any]:
    """Run one question; answers and expected compared after normalisation."""
    query = cq.sparql if "PREFIX steel:" in cq.sparql else PREFIXES + cq.sparql
    try:
        rows = list(merged.query(query))
    except Exception as exc:  # rdflib's SPARQL parser raises pyparsing errors
        raise DataError(
            f"competency question {cq.id}: SPARQL error: {' '.join(str(exc).split())[:200]}"
        ) from None
    answers = sorted({str(r[0]) for r in rows if r[0] is not None})
    got = {entity_key(a) for a in answers}
    want = {entity_key(e) for e in cq.expected}
    found = len(got & want)
    recall = found / len(want) if want else 1.0
    passed = found == len(want) and (cq.match == "superset" or got <= want)
    return {
        "answers": answers,
        "expected": list(cq.expected),
        "recall": recall,
        "passed": passed,
        "unexpected": sorted(a for a in answers if entity_key(a) not in want),
    }
