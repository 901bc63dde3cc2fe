"""The kg standard's task types: `kg.extraction`, `kg.build` and the `kg.quality.*` checks.

Each task turns its subject into work units keyed by content hashes, and processes a chunk
of units into `Outcome`s (scores + data) that `run_units` stores.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pingce.core.errors import SpecError
from pingce.core.execute import Outcome, WorkUnit
from pingce.core.fingerprint import content_hash, path_digest
from pingce.core.spec import TaskSpec, validate_params
from pingce.kg.gold import load_gold
from pingce.kg.model import Item
from pingce.kg.ontology import (
    STEEL_COMPLETENESS,
    STEEL_CQ,
    STEEL_SHAPES,
    Ontology,
    load_ontology,
)
from pingce.kg.task_types import QUALITY_ASPECTS, TASK_TYPES, kg_task_type  # noqa: F401


def file_digest(path: Path) -> str:
    """The content digest of a file or a folder (every file with its path relative to the
    folder, sub-folders included): the one fingerprint rule, `core.fingerprint.path_digest`."""
    return path_digest(path)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: str
    title: str = ""
    title_zh: str = ""
    dimension: str = "kg"
    language: str = "multi"
    weight: float = 1.0
    ontology: str | None = None  # default: the steel ontology


class ExtractionParams(_Params):
    gold: str | None = None  # default: the steel gold set
    subset: bool = False  # score only gold texts the predictions name


class BuildParams(ExtractionParams):
    text: str  # passages to extract from (folder of .txt, .txt, or .jsonl with id/text)
    shots: int = 2
    max_new_tokens: int = 384
    chat: Literal["auto", "yes", "no"] = "auto"


class QualityParams(_Params):
    shapes: str | None = None
    completeness: str | None = None
    cq: str | None = None
    owlrl_limit: int = 5000


_PATH_FIELDS = ("ontology", "gold", "text", "shapes", "completeness", "cq")


def params_for(spec: TaskSpec, where: str, base_dir: Path | None = None) -> _Params:
    """A task's validated fields; relative file paths resolved against the suite's folder."""
    model = kg_task_type(spec, where).load_params()
    params: _Params = validate_params(model, spec.model_dump(), where)
    if base_dir is not None:
        update = {
            f: str(base_dir / getattr(params, f))
            for f in _PATH_FIELDS
            if isinstance(getattr(params, f, None), str)
            and not Path(getattr(params, f)).is_absolute()
        }
        params = params.model_copy(update=update)
    return params


# ---- extraction -----------------------------------------------------------------------------
class ExtractionTask:
    """Score a system's triples (the subject) against a gold set, one record per gold text."""

    chunk = 64  # work units per stored chunk

    def __init__(self, params: ExtractionParams, base_dir: Path, aspect: str = "") -> None:
        self.params = params
        self.ontology: Ontology = load_ontology(params.ontology)
        self.gold = load_gold(params.gold)

    def units(self, subject: Any) -> list[WorkUnit]:
        from pingce.kg.extraction import UNATTRIBUTED, attribute_pooled

        preds = subject.predictions
        items = dict(preds.items)
        for sid, triples in attribute_pooled(preds.pooled, self.gold, self.ontology).items():
            items.setdefault(sid, Item(id=sid)).triples.extend(triples)
        gold = self.gold
        if self.params.subset:
            gold = [g for g in gold if g.id in items]
            if not gold:
                raise SpecError("--subset: no prediction id matches a gold id")
        fp = content_hash(
            subject.fingerprint(), self.ontology.source, file_digest(Path(self.ontology.source))
        )
        units = []
        known = {g.id for g in gold}
        extra = [Item(id=UNATTRIBUTED)] if UNATTRIBUTED in items else []
        extra += [
            Item(id=sid)
            for sid in sorted(items)
            if sid not in known and sid != UNATTRIBUTED and not self.params.subset
        ]
        for pos, g in enumerate([*gold, *extra]):
            pred = items.get(g.id)
            payload = (g.to_dict(), pred.to_dict() if pred is not None else None)
            key = content_hash(fp, self.params.id, "kg.extraction", payload)
            units.append(WorkUnit(key=key, sample_id=g.id, position=pos, payload=payload))
        return units

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        from pingce.kg.extraction import score_item

        out = []
        for u in units:
            gold_d, pred_d = u.payload
            gold = Item.from_dict(gold_d)
            pred = Item.from_dict(pred_d) if pred_d is not None else None
            scores, data = score_item(gold, pred, self.ontology)
            out.append(Outcome(scores=scores, data=data))
        return out


# ---- build (LLM extraction) ---------------------------------------------------------------
class BuildTask:
    """Prompt a language model to extract triples from each passage; score against gold ids."""

    chunk = 4

    def __init__(self, params: BuildParams, base_dir: Path, aspect: str = "") -> None:
        from pingce.kg.build import read_texts

        self.params = params
        self.ontology = load_ontology(params.ontology)
        text = Path(params.text)
        self.texts = read_texts(text if text.is_absolute() else base_dir / text)
        self.gold = {g.id: g for g in load_gold(params.gold)}
        self.shot_pool = list(self.gold.values())

    def units(self, subject: Any) -> list[WorkUnit]:
        from pingce.kg.build import build_messages, pick_shots, plain_prompt

        use_chat = self.params.chat == "yes" or (
            self.params.chat == "auto"
            and getattr(getattr(subject, "tokenizer", None), "chat_template", None)
        )
        units = []
        for pos, item in enumerate(self.texts):
            shots = pick_shots(self.shot_pool, item.id, item.lang, self.params.shots)
            messages = build_messages(item, self.ontology, shots)
            prompt = subject.chat_prompt(messages) if use_chat else plain_prompt(messages)
            gold = self.gold.get(item.id)
            payload = {
                "item": item.to_dict(),
                "prompt": prompt,
                "gold": gold.to_dict() if gold is not None else None,
                "max_new_tokens": self.params.max_new_tokens,
            }
            key = content_hash(
                subject.fingerprint(), self.params.id, "kg.build", payload, self.ontology.source
            )
            units.append(WorkUnit(key=key, sample_id=item.id, position=pos, payload=payload))
        return units

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        from pingce.backends.base import GenerationParams, GenerationRequest, repair_flag
        from pingce.kg.build import parse_output
        from pingce.kg.extraction import score_item

        requests = [
            GenerationRequest(
                u.payload["prompt"], GenerationParams(max_new_tokens=u.payload["max_new_tokens"])
            )
            for u in units
        ]
        gens = subject.generate(requests)
        out = []
        for u, gen in zip(units, gens, strict=True):
            parsed = parse_output(gen.text)
            item = Item.from_dict(u.payload["item"])
            pred = Item(id=item.id, text=item.text, lang=item.lang, triples=parsed.triples)
            scores: dict[str, Any] = {
                "kg_parse_rate": 1.0 if parsed.status != "unparseable" else 0.0,
                "kg_triples_per_text": float(len(parsed.triples)),
            }
            data: dict[str, Any] = {}
            if u.payload["gold"] is not None:
                s, data = score_item(Item.from_dict(u.payload["gold"]), pred, self.ontology)
                scores.update(s)
            data.update(
                {
                    "text": item.text,
                    "lang": item.lang,
                    "output": gen.text,
                    **repair_flag(gen),
                    "status": parsed.status,
                    "invalid_triples": parsed.invalid,
                    "pred_triples": [t.to_dict() for t in parsed.triples],
                    "prompt_sha256": hashlib.sha256(u.payload["prompt"].encode()).hexdigest(),
                    "tokens_in": gen.tokens_in,
                    "tokens_out": gen.tokens_out,
                    "seconds": gen.seconds,
                }
            )
            out.append(Outcome(scores=scores, data=data))
        return out


# ---- quality ------------------------------------------------------------------------------
class QualityTask:
    """One quality aspect of a graph; the whole-graph analysis runs once per task."""

    chunk = 512

    def __init__(self, params: QualityParams, base_dir: Path, aspect: str) -> None:
        self.params = params
        self.aspect = aspect
        self.ontology = load_ontology(params.ontology)
        self._results: dict[str, tuple[dict[str, Any], dict[str, Any]]] | None = None

    def _paths(self) -> dict[str, Path]:
        from pingce.kg.ontology import STEEL_ONTOLOGY

        p = self.params
        return {
            "ontology": Path(p.ontology) if p.ontology else STEEL_ONTOLOGY,
            "shapes": Path(p.shapes) if p.shapes else STEEL_SHAPES,
            "completeness": Path(p.completeness) if p.completeness else STEEL_COMPLETENESS,
            "cq": Path(p.cq) if p.cq else STEEL_CQ,
        }

    def _fingerprint(self, subject: Any) -> str:
        files = {k: file_digest(v) for k, v in self._paths().items() if v.exists()}
        return content_hash(subject.fingerprint(), files, self.params.owlrl_limit)

    def units(self, subject: Any) -> list[WorkUnit]:
        from pingce.kg.quality import individuals, load_competency

        fp = self._fingerprint(subject)
        if self.aspect == "competency":
            ids = [q.id for q in load_competency(self._paths()["cq"])]
        else:
            ids = [str(n) for n in individuals(subject.graph, self.ontology)]
        return [
            WorkUnit(
                key=content_hash(fp, self.params.id, self.aspect, sid),
                sample_id=sid,
                position=pos,
                payload=sid,
            )
            for pos, sid in enumerate(ids)
        ]

    def _analyse(self, subject: Any) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        from pingce.kg import quality as q

        if self._results is not None:
            return self._results
        g = subject.graph
        paths = self._paths()
        nodes = q.individuals(g, self.ontology)
        res: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        name = {n: q.display_name(g, n) for n in nodes}
        if self.aspect == "shacl":
            outcome = q.run_shacl(
                g,
                q.load_graph(paths["shapes"], "shapes"),
                q.load_graph(paths["ontology"], "ontology"),
            )
            by_focus: dict[str, list[dict[str, str]]] = {}
            for r in outcome.results:
                by_focus.setdefault(r["focus"], []).append(r)
            for n in nodes:
                viol = [r for r in by_focus.get(str(n), []) if r["severity"] == "Violation"]
                res[str(n)] = (
                    {"kg_shacl_conformance": 0.0 if viol else 1.0},
                    {
                        "name": name[n],
                        "graph_conforms": outcome.conforms,
                        "results": by_focus.get(str(n), []),
                    },
                )
        elif self.aspect == "completeness":
            exp = q.load_expectations(q.load_graph(paths["completeness"], "completeness shapes"))
            comp = q.completeness(g, nodes, self.ontology, exp)
            for n in nodes:
                c = comp.get(n)
                scores = {"kg_completeness": c["met"] / c["expected"]} if c else {}
                classes = sorted(
                    self.ontology.name(t)
                    for t in q.node_types(g, n, self.ontology)
                    if t in self.ontology.classes and not self.ontology.classes.get(t)
                )
                res[str(n)] = (scores, {"name": name[n], "classes": classes, **(c or {})})
        elif self.aspect == "consistency":
            cons = q.consistency(
                g,
                nodes,
                self.ontology,
                q.load_graph(paths["ontology"], "ontology"),
                self.params.owlrl_limit,
            )
            for n in nodes:
                issues = cons.issues.get(n, [])
                res[str(n)] = (
                    {"kg_consistency": 0.0 if issues else 1.0},
                    {
                        "name": name[n],
                        "issues": issues,
                        "method": cons.method,
                        "owlrl_errors": cons.owlrl_errors[:20],
                    },
                )
        elif self.aspect == "redundancy":
            redundant, same_as = q.redundancy(g, nodes, self.ontology)
            for n in nodes:
                res[str(n)] = (
                    {"kg_redundancy_rate": 1.0 if n in redundant else 0.0},
                    {
                        "name": name[n],
                        "duplicate_of": redundant.get(n),
                        "same_as_clusters": len(same_as),
                    },
                )
        elif self.aspect == "connectivity":
            degree, comp_id, k = q.connectivity(g, nodes)
            sizes: dict[int, int] = {}
            for c in comp_id.values():
                sizes[c] = sizes.get(c, 0) + 1
            for n in nodes:
                res[str(n)] = (
                    {"kg_isolated_rate": 1.0 if degree.get(n, 0) == 0 else 0.0},
                    {
                        "name": name[n],
                        "degree": degree.get(n, 0),
                        "component": comp_id.get(n),
                        "component_size": sizes.get(comp_id.get(n, -1), 0),
                        "components": k,
                    },
                )
        elif self.aspect == "competency":
            from rdflib import Graph

            merged = Graph()
            for t in g:
                merged.add(t)
            for t in q.load_graph(paths["ontology"], "ontology"):
                merged.add(t)
            for cq in q.load_competency(paths["cq"]):
                a = q.answer(merged, cq)
                res[cq.id] = (
                    {"kg_cq_pass_rate": 1.0 if a["passed"] else 0.0, "kg_cq_recall": a["recall"]},
                    {
                        "question": cq.question,
                        "question_zh": cq.question_zh,
                        "match": cq.match,
                        # pingce's own steel questions: the report says they are steel-specific.
                        "steel_builtin": paths["cq"] == STEEL_CQ,
                        **a,
                    },
                )
        self._results = res
        return res

    def process(self, subject: Any, units: list[WorkUnit]) -> list[Outcome]:
        res = self._analyse(subject)
        return [Outcome(scores=res[u.payload][0], data=res[u.payload][1]) for u in units]
