"""Summaries of kg runs from stored records: task rows with CIs, indicators and sections."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from pingce.kg.extraction import prf
from pingce.kg.matching import CATEGORIES, SCHEMES, scheme_prf
from pingce.kg.metrics import CATALOGUE

BOOTSTRAP = 1000



def metric_rows(recs: Sequence[dict[str, Any]], seed: int = 0) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for name, mdef in CATALOGUE.items():
        items = [r["scores"][name] for r in recs if name in r["scores"]]
        if not items:
            continue
        row = mdef.row(items, seed=seed, n_resamples=BOOTSTRAP)
        if math.isfinite(row["value"]):  # e.g. WebNLG with no triple pair anywhere: undefined
            rows[name] = row
    return rows


def indicator_row(name: str, row: dict[str, Any], scope: str) -> dict[str, Any]:
    return CATALOGUE[name].indicator_row(row, scope)


def _r(x: float) -> float:
    return round(x, 4)


def _reason_kind(reason: str) -> str:
    if reason.startswith("relation"):
        return "relation not in ontology"
    if reason.startswith("subject type"):
        return "subject outside domain"
    if reason.startswith("object type"):
        return "object outside range"
    return "object not a valid value"


# ---- extraction sections ---------------------------------------------------------------------
def extraction_sections(
    task_id: str, recs: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    sections: list[dict[str, Any]] = []
    notes: list[str] = []
    scored = [r for r in recs if "kg_triple_f1" in r["scores"]]
    if not scored:
        return sections, notes
    # matching schemes
    rows, labels, f1s = [], [], []
    p, r, f = prf([x["scores"]["kg_triple_f1"] for x in scored])
    rows.append(["exact triples (normalised)", _r(p), _r(r), _r(f)])
    labels.append("triples")
    f1s.append(_r(f))
    for s in SCHEMES:
        official = [x["scores"][f"kg_webnlg_{s}_f1"] for x in scored if f"kg_webnlg_{s}_f1" in x["scores"]]  # fmt: skip
        n_pairs = sum(i[1] for i in official)
        f = sum(i[0] for i in official) / n_pairs if n_pairs else None
        rows.append([f"WebNLG {s} (official: mean pair F1)", None, None, None if f is None else _r(f)])  # fmt: skip
        labels.append(s)
        f1s.append(None if f is None else _r(f))
        micro = [x["scores"][f"kg_webnlg_micro_{s}_f1"] for x in scored if f"kg_webnlg_micro_{s}_f1" in x["scores"]]  # fmt: skip
        if micro:
            tot = {c: sum(i[k] for i in micro) for k, c in enumerate(CATEGORIES)}
            p, r, f = scheme_prf(tot, s)
            rows.append([f"WebNLG {s} (micro elements)", _r(p), _r(r), _r(f)])
    for name, label in (("kg_entity_f1", "entities (spans)"), ("kg_relation_f1", "relations (boundaries)"),
                        ("kg_relation_strict_f1", "relations (strict)")):  # fmt: skip
        items = [x["scores"][name] for x in scored if name in x["scores"]]
        if items:
            p, r, f = prf(items)
            rows.append([label, _r(p), _r(r), _r(f)])
            labels.append(label.split(" ")[0] + ("" if "strict" not in label else " strict"))
            f1s.append(_r(f))
    sections.append({
        "id": f"{task_id}-matching", "title": "Matching schemes", "title_zh": "匹配方式",
        "text": ("Exact triples and spans are micro-averaged over all texts. WebNLG schemes score triple elements (subject, predicate, object): "
                 "'official' is the WebNLG 2020 script's figure (mean F1 of aligned, padded triple pairs; it reports no pooled P/R), 'micro' sums element counts."),
        "table": {"columns": ["level", "precision", "recall", "F1"], "rows": rows},
        "charts": [{"kind": "bars", "title": "F1 by matching scheme", "labels": labels,
                    "series": [{"name": "F1", "values": f1s}], "unit": "F1"}],
    })  # fmt: skip
    # per relation
    per_rel: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for x in scored:
        for rel, c in x["data"].get("per_relation", {}).items():
            for i in range(3):
                per_rel[rel][i] += c[i]
    rel_rows = []
    for rel in sorted(per_rel, key=lambda k: (-per_rel[k][2], k)):
        tp, n_pred, n_gold = per_rel[rel]
        p, r, f = prf([[tp, n_pred, n_gold]])
        rel_rows.append([rel, n_gold, n_pred, tp, _r(p), _r(r), _r(f)])
    if rel_rows:
        sections.append({
            "id": f"{task_id}-relations", "title": "Per-relation breakdown", "title_zh": "按关系统计",
            "text": "Exact normalised triple matching by relation; relations outside the ontology start with '?'.",
            "table": {"columns": ["relation", "gold", "predicted", "correct", "precision", "recall", "F1"], "rows": rel_rows},
            "charts": [{"kind": "bars", "title": "F1 by relation", "labels": [row[0] for row in rel_rows],
                        "series": [{"name": "precision", "values": [row[4] for row in rel_rows]},
                                   {"name": "recall", "values": [row[5] for row in rel_rows]},
                                   {"name": "F1", "values": [row[6] for row in rel_rows]}], "unit": "0-1"}],
        })  # fmt: skip
    # per entity type
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for x in scored:
        for t, c in x["data"].get("per_entity_type", {}).items():
            for i in range(3):
                per_type[t][i] += c[i]
    if per_type:
        t_rows = []
        for t in sorted(per_type, key=lambda k: (-per_type[k][2], k)):
            p, r, f = prf([per_type[t]])
            t_rows.append([t, per_type[t][2], per_type[t][1], per_type[t][0], _r(p), _r(r), _r(f)])
        sections.append({
            "id": f"{task_id}-entities", "title": "Entities by type", "title_zh": "按实体类型统计",
            "table": {"columns": ["type", "gold", "predicted", "correct", "precision", "recall", "F1"], "rows": t_rows},
            "charts": [{"kind": "bars", "title": "Entity F1 by type", "labels": [row[0] for row in t_rows],
                        "series": [{"name": "F1", "values": [row[6] for row in t_rows]}], "unit": "F1"}],
        })  # fmt: skip
    else:
        notes.append(
            "Entity F1 is not reported: the predictions give no entity types (add entities or subject_type/object_type)."
        )
    # per language
    by_lang: dict[str, list[list[int]]] = defaultdict(list)
    for x in scored:
        by_lang[x["data"].get("lang") or "?"].append(x["scores"]["kg_triple_f1"])
    if len(by_lang) > 1:
        l_rows = [[lang, len(v), *[_r(z) for z in prf(v)]] for lang, v in sorted(by_lang.items())]
        sections.append({
            "id": f"{task_id}-languages", "title": "By language", "title_zh": "按语言统计",
            "table": {"columns": ["language", "texts", "precision", "recall", "F1"], "rows": l_rows},
        })  # fmt: skip
    # conformance and hallucination
    answered = [x for x in scored if "kg_ontology_conformance" in x["scores"]]
    if answered:
        names = [
            "kg_ontology_conformance",
            "kg_relation_hallucination",
            "kg_subject_hallucination",
            "kg_object_hallucination",
        ]
        vals = [_r(sum(x["scores"][n] for x in answered) / len(answered)) for n in names]
        reasons = Counter(
            _reason_kind(nc["reason"])
            for x in answered
            for nc in x["data"].get("nonconforming", [])
        )
        examples = [
            [nc["reason"], " | ".join(nc["triple"])]
            for x in answered
            for nc in x["data"].get("nonconforming", [])
        ][:15]
        sections.append({
            "id": f"{task_id}-conformance", "title": "Ontology conformance and hallucination",
            "title_zh": "本体一致性与幻觉",
            "text": f"Text2KGBench definitions, averaged over {len(answered)} answered texts. "
                    f"Non-conforming triples by kind: {dict(reasons) or 'none'}.",
            "table": {"columns": ["reason", "triple"], "rows": examples},
            "charts": [{"kind": "bars", "title": "Conformance and hallucination rates",
                        "labels": ["conformance", "relation halluc.", "subject halluc.", "object halluc."],
                        "series": [{"name": "rate", "values": vals}], "unit": "0-1"}],
        })  # fmt: skip
    empty = sum(
        1 for x in scored if x["data"].get("answered") and not x["data"].get("pred_triples")
    )
    if empty:
        notes.append(f"{empty} answered text(s) have zero triples: ontology conformance and hallucination are not applicable "
                     "to them and they are left out of those averages (an empty answer is neither conformant nor hallucinated); "
                     "they count as empty for triple recall.")  # fmt: skip
    if not any("kg_relation_f1" in x["scores"] for x in scored):
        notes.append("Relation F1 (kg_relation_f1) is not reported: the gold gives no entity or relation spans (a triples-only "
                     "gold), so relation mentions have nothing to be matched against; see the triple and WebNLG F1.")  # fmt: skip
    unanswered = sum(1 for x in scored if not x["data"].get("answered"))
    if unanswered:
        notes.append(f"{unanswered} of {len(scored)} gold texts have no prediction; they count as empty (recall 0) "
                     "and are left out of the conformance and hallucination averages.")  # fmt: skip
    return sections, notes


def build_sections(
    task_id: str, recs: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    status = Counter(r["data"].get("status", "?") for r in recs)
    invalid = sum(r["data"].get("invalid_triples", 0) for r in recs)
    rows = [[k, v] for k, v in sorted(status.items())] + [["invalid triple entries", invalid]]
    section = {
        "id": f"{task_id}-parsing", "title": "Model output parsing", "title_zh": "模型输出解析",
        "text": "How the model's answers parsed as the requested JSON; unparseable answers count as texts with no triples.",
        "table": {"columns": ["outcome", "texts"], "rows": rows},
        "charts": [{"kind": "bars", "title": "Parse outcomes", "labels": [k for k, _ in sorted(status.items())],
                    "series": [{"name": "texts", "values": [v for _, v in sorted(status.items())]}], "unit": "texts"}],
    }  # fmt: skip
    more, notes = extraction_sections(task_id, recs)
    if not any("kg_triple_f1" in r["scores"] for r in recs):
        notes.append(
            "No passage id matches a gold id, so only parsing is reported; pass passages from the gold set to score extraction."
        )
    return [section, *more], notes


# ---- quality sections --------------------------------------------------------------------------
def quality_sections(
    task_id: str, aspect: str, recs: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    notes: list[str] = []
    if aspect == "shacl":
        by_shape: Counter[str] = Counter()
        severity: Counter[str] = Counter()
        for r in recs:
            for res in r["data"].get("results", []):
                by_shape[res["shape"]] += 1
                severity[res["severity"]] += 1
        conforms = all(r["data"].get("graph_conforms", True) for r in recs)
        top = by_shape.most_common(20)
        return [{
            "id": f"{task_id}-shapes", "title": "SHACL results by shape", "title_zh": "SHACL约束违反统计",
            "text": f"Graph conforms: {conforms}. Results by severity: {dict(severity) or 'none'}.",
            "table": {"columns": ["shape", "results"], "rows": [[k, v] for k, v in top]},
            "charts": [{"kind": "bars", "title": "Violations by shape", "labels": [k for k, _ in top],
                        "series": [{"name": "results", "values": [v for _, v in top]}], "unit": "results"}] if top else [],
        }], notes  # fmt: skip
    if aspect == "completeness":
        by_class: dict[str, list[float]] = defaultdict(list)
        missing: dict[str, Counter[str]] = defaultdict(Counter)
        for r in recs:
            if "kg_completeness" not in r["scores"]:
                continue
            for c in r["data"].get("classes", []) or ["(untyped)"]:
                by_class[c].append(r["scores"]["kg_completeness"])
                for m in r["data"].get("missing", []):
                    missing[c][m.split(": ", 1)[-1]] += 1
        rows = [[c, len(v), _r(sum(v) / len(v)), ", ".join(f"{k} ({n})" for k, n in missing[c].most_common(2))]
                for c, v in sorted(by_class.items())]  # fmt: skip
        return [{
            "id": f"{task_id}-classes", "title": "Completeness by class", "title_zh": "按类别的完整性",
            "table": {"columns": ["class", "nodes", "completeness", "most often missing"], "rows": rows},
            "charts": [{"kind": "bars", "title": "Completeness by class", "labels": [row[0] for row in rows],
                        "series": [{"name": "completeness", "values": [row[2] for row in rows]}], "unit": "0-1"}],
        }], notes  # fmt: skip
    if aspect == "consistency":
        rows = [
            [r["data"].get("name", r["sample_id"]), "; ".join(r["data"]["issues"])]
            for r in recs
            if r["data"].get("issues")
        ]
        method = next((r["data"].get("method") for r in recs), "")
        errors = next(
            (r["data"].get("owlrl_errors") for r in recs if r["data"].get("owlrl_errors")), []
        )
        text = f"Reasoning: {method}." + (
            f" OWL-RL reported {len(errors)} inconsistency message(s)." if errors else ""
        )
        return [{"id": f"{task_id}-issues", "title": "Consistency issues", "title_zh": "一致性问题", "text": text,
                 "table": {"columns": ["node", "issues"], "rows": rows[:50]}}], notes  # fmt: skip
    if aspect == "redundancy":
        rows = [
            [r["data"].get("name", r["sample_id"]), r["sample_id"], r["data"]["duplicate_of"]]
            for r in recs
            if r["data"].get("duplicate_of")
        ]
        same_as = next((r["data"].get("same_as_clusters", 0) for r in recs), 0)
        return [{"id": f"{task_id}-duplicates", "title": "Duplicate entities", "title_zh": "重复实体",
                 "text": f"{len(rows)} redundant node(s); {same_as} owl:sameAs cluster(s) counted as one entity each.",
                 "table": {"columns": ["label", "node", "duplicate of"], "rows": rows[:50]}}], notes  # fmt: skip
    if aspect == "connectivity":
        comps = next((r["data"].get("components", 0) for r in recs), 0)
        sizes = Counter()
        for r in recs:
            sizes[r["data"].get("component")] = r["data"].get("component_size", 0)
        largest = max(sizes.values(), default=0)
        share = largest / len(recs) if recs else 0.0
        hist = Counter(min(r["data"].get("degree", 0), 10) for r in recs)
        return [{"id": f"{task_id}-components", "title": "Connectivity", "title_zh": "连通性",
                 "text": f"{comps} connected component(s); the largest holds {largest} of {len(recs)} nodes ({share:.1%}).",
                 "table": {"columns": ["degree (10 = 10 or more)", "nodes"], "rows": [[d, hist[d]] for d in sorted(hist)]},
                 "charts": [{"kind": "bars", "title": "Node degree", "labels": [str(d) for d in sorted(hist)],
                             "series": [{"name": "nodes", "values": [hist[d] for d in sorted(hist)]}], "unit": "nodes"}]}], notes  # fmt: skip
    if aspect == "competency":
        rows = [[r["sample_id"], r["data"].get("question_zh") or r["data"].get("question", ""),
                 "pass" if r["scores"].get("kg_cq_pass_rate") else "fail", _r(r["scores"].get("kg_cq_recall", 0.0)),
                 ", ".join(r["data"].get("answers", [])[:8])] for r in recs]  # fmt: skip
        builtin = any(r["data"].get("steel_builtin") for r in recs)
        if builtin:
            failed = sum(1 for r in recs if not r["scores"].get("kg_cq_pass_rate"))
            notes.append(f"The competency questions are pingce's built-in steel-industry set (steel-specific: they ask about "
                         f"steel processes and equipment; {failed} of {len(recs)} failed). For another domain pass --cq FILE.")  # fmt: skip
        return [{"id": f"{task_id}-questions", "title": "Competency questions" + (" (built-in steel set, steel-specific)" if builtin else ""),
                 "title_zh": "能力问题" + ("(内置钢铁领域问题)" if builtin else ""),
                 "table": {"columns": ["question", "问题", "result", "recall", "answers"], "rows": rows}}], notes  # fmt: skip
    return [], notes


def samples(task_id: str, recs: Sequence[dict[str, Any]], limit: int = 12) -> list[dict[str, Any]]:
    """The worst-scored texts (by triple F1) as report samples."""
    scored = [r for r in recs if "kg_triple_f1" in r["scores"]]

    def f1(r: dict[str, Any]) -> float:
        return prf([r["scores"]["kg_triple_f1"]])[2]

    out = []
    for r in sorted(scored, key=lambda r: (f1(r), r["position"]))[:limit]:
        pred = r["data"].get("pred_triples", [])
        pred_lines = [
            " | ".join(t) if isinstance(t, list) else " | ".join(str(v) for v in t.values())
            for t in pred
        ]
        out.append({
            "task": task_id, "sample_id": r["sample_id"], "prompt": r["data"].get("text", ""),
            "output": "\n".join(pred_lines) or r["data"].get("output", ""),
            "extracted": None,
            "reference": "\n".join(" | ".join(t) for t in r["data"].get("gold_triples", [])),
            "scores": {"triple_f1": _r(f1(r))},
            "data": {"missed": r["data"].get("missed", [])[:10], "spurious": r["data"].get("spurious", [])[:10]},
        })  # fmt: skip
    return out


def summarize(
    suite: dict[str, Any], config: dict[str, Any], records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The summary part of the report document for a kg run."""
    from pingce.core.standard import task_row
    from pingce.core.store import records_by_task
    from pingce.kg.task_types import kg_task_type

    by_task = records_by_task(records)
    tasks, indicators, sections, notes, sample_rows = [], [], [], [], []
    overall_parts: list[float] = []
    for spec in suite["tasks"]:
        recs = by_task.get(spec["id"], [])
        if not recs:
            continue
        ttype = kg_task_type(spec, "suite")
        rows = metric_rows(recs, seed=int(config.get("options", {}).get("seed", 0)))
        primary = ttype.primary if ttype.primary in rows else next(iter(rows), "")
        sec, nt = ttype.report_sections(spec["id"], recs)
        sections.extend(sec)
        notes.extend(nt)
        sample_rows.extend(samples(spec["id"], recs))
        if not rows:
            continue
        indicators.extend(indicator_row(name, row, spec["id"]) for name, row in rows.items())
        tasks.append(
            task_row(
                spec,
                len(recs),
                primary,
                rows,
                default_dimension="kg",
                default_language="multi",
                type=ttype.name,
            )
        )
        if primary:
            v = rows[primary]["value"]
            overall_parts.append(1.0 - v if rows[primary]["direction"] == "lower" else v)
    kinds = {t["type"] for t in tasks}
    if kinds <= {"kg.extraction", "kg.build"} and len(tasks) == 1:
        method = f"{tasks[0]['primary_metric']} of the one task"
    else:
        method = "mean of the task scores (rates where lower is better enter as 1 - rate)"
    score = sum(overall_parts) / len(overall_parts) if overall_parts else None
    return {
        "tasks": tasks,
        "dimensions": [],
        "overall": {"score": score, "method": method},
        "indicators": indicators,
        "samples": sample_rows,
        "notes": notes,
        "sections": sections,
        "extra": {"subject_settings": config.get("settings", {})},
    }
