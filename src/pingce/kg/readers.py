"""Reading a system's extracted triples: JSONL, RDF (rdflib) and Neo4j import CSV.

Triples are attributed to the text they were extracted from by a text id: the ``id`` field
in JSONL, the name of the named graph in RDF (TriG, N-Quads, JSON-LD ``@graph`` with ``@id``:
the part after the last ``#``, ``/`` or ``:``), a ``sentence_id``/``source_id``/``text_id``
column in CSV. Triples without one are *pooled*; see `pingce.kg.extraction` for how pooled
triples are scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pingce.core.csv_rows import read_csv_rows
from pingce.core.errors import DataError
from pingce.kg.model import Item, Mention, Predictions, RelationMention, Triple
from pingce.kg.normalize import UNITS
from pingce.kg.ontology import RDF_FORMATS, graphs_of, parse_rdf

_SUBJECT_KEYS = ("subject", "sub", "s", "head", "h")
_PREDICATE_KEYS = ("predicate", "rel", "relation", "p", "r", "type")
_OBJECT_KEYS = ("object", "obj", "o", "tail", "t")
_ID_COLUMNS = ("sentence_id", "source_id", "text_id", "doc_id", "id")
_NAME_COLUMNS = ("name", "label", "title", "text", "value")
_UCUM_TO_SYMBOL = {code: symbol for symbol, (code, _) in UNITS.items()}


def read_predictions(path: Path | str, fmt: str = "auto") -> Predictions:
    """Predictions from a file or folder; `fmt` is auto, jsonl, rdf or neo4j."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"predictions {p} do not exist", hint="give --pred FILE")
    if fmt == "auto":
        if p.is_dir() or p.suffix.lower() == ".csv":
            fmt = "neo4j"
        elif p.suffix.lower() in (".jsonl", ".json", ".ndjson"):
            fmt = "jsonl"
        elif p.suffix.lower() in RDF_FORMATS:
            fmt = "rdf"
        else:
            raise DataError(
                f"predictions {p}: cannot tell the format from {p.suffix!r}",
                hint="use .jsonl, .csv (Neo4j), a folder of CSVs, or an RDF file (.ttl .nt .jsonld .trig .nq)",
            )
    if fmt == "jsonl":
        return read_jsonl(p)
    if fmt == "rdf":
        return read_rdf(p)
    if fmt == "neo4j":
        return read_neo4j(p)
    raise DataError(f"unknown predictions format {fmt!r}", hint="auto, jsonl, rdf or neo4j")


# ---- JSONL ------------------------------------------------------------------------------
def _first(d: dict[str, Any], keys: Iterable[str]) -> Any:
    for k in keys:
        if k in d:
            return d[k]
    return None


def parse_triple(raw: Any) -> Triple | None:
    """A triple from ``[s, p, o]`` or an object with subject/predicate/object-like keys."""
    if isinstance(raw, list | tuple) and len(raw) >= 3:
        s, p, o = raw[0], raw[1], raw[2]
        st = ot = None
    elif isinstance(raw, dict):
        s, p, o = (
            _first(raw, _SUBJECT_KEYS),
            _first(raw, _PREDICATE_KEYS),
            _first(raw, _OBJECT_KEYS),
        )
        st = _first(raw, ("subject_type", "sub_type", "head_type"))
        ot = _first(raw, ("object_type", "obj_type", "tail_type"))
    else:
        return None
    if isinstance(s, int | float):
        s = str(s)
    if isinstance(o, int | float):
        o = str(o)
    if not all(isinstance(x, str) and x.strip() for x in (s, p, o)):
        return None
    return Triple(
        s.strip(),
        p.strip(),
        o.strip(),
        st if isinstance(st, str) and st else None,
        ot if isinstance(ot, str) and ot else None,
    )


def _mention(raw: Any, by_id: dict[str, Mention]) -> Mention | None:
    if isinstance(raw, str):
        return by_id.get(raw) or Mention(raw)
    if isinstance(raw, dict) and isinstance(raw.get("text"), str):
        start, end = raw.get("start"), raw.get("end")
        ok = isinstance(start, int) and isinstance(end, int)
        return Mention(raw["text"], raw.get("type"), start if ok else None, end if ok else None)
    return None


def item_from_json(raw: dict[str, Any], where: str) -> Item:
    """One prediction object: id, triples, optional entities and relations."""
    by_id: dict[str, Mention] = {}
    entities: list[Mention] = []
    for k, ent in enumerate(raw.get("entities") or []):
        m = _mention(ent, by_id)
        if m is None:
            raise DataError(f"{where}: entities[{k}]: expected an object with 'text'")
        entities.append(m)
        if isinstance(ent, dict) and "id" in ent:
            by_id[str(ent["id"])] = m
    relations: list[RelationMention] = []
    for k, rel in enumerate(raw.get("relations") or []):
        head = _mention(rel.get("head"), by_id) if isinstance(rel, dict) else None
        tail = _mention(rel.get("tail"), by_id) if isinstance(rel, dict) else None
        rtype = _first(rel, ("type", "relation", "predicate")) if isinstance(rel, dict) else None
        if head is None or tail is None or not isinstance(rtype, str):
            raise DataError(f"{where}: relations[{k}]: expected head, type and tail")
        relations.append(RelationMention(head, rtype, tail))
    triples = []
    raw_triples = raw.get("triples")
    if raw_triples is None and _first(raw, _SUBJECT_KEYS) is not None:
        raw_triples = [raw]  # one triple per line
    for k, t in enumerate(raw_triples or []):
        triple = parse_triple(t)
        if triple is None:
            raise DataError(
                f"{where}: triples[{k}]: expected [subject, predicate, object] or an object "
                "with subject/predicate/object strings"
            )
        triples.append(triple)
    return Item(
        id=str(raw.get("id", "")),
        text=str(raw.get("text", "") or ""),
        lang=str(raw.get("lang", "") or ""),
        triples=triples,
        entities=entities,
        relations=relations,
    )


def read_jsonl(path: Path) -> Predictions:
    preds = Predictions(source=str(path), format="jsonl")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (invalid byte at offset {exc.start})",
            hint="save the predictions as UTF-8",
        ) from None
    rows: list[tuple[str, Any]] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON list of prediction objects")
        rows = [(f"{path}[{i}]", d) for i, d in enumerate(data)]
    else:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append((f"{path}:{n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: not JSON ({exc.msg})") from None
    if not rows:
        # Scoring nothing against the gold set would report a silent 0.
        raise DataError(f"{path}: no predictions (the file is empty)")
    for where, raw in rows:
        if not isinstance(raw, dict):
            raise DataError(f"{where}: expected a JSON object")
        item = item_from_json(raw, where)
        if not item.id:
            preds.pooled.extend(item.triples)
            continue
        existing = preds.items.get(item.id)
        if existing is None:
            preds.items[item.id] = item
        else:  # several lines for one text (e.g. one triple per line)
            existing.triples.extend(item.triples)
            existing.entities.extend(item.entities)
            existing.relations.extend(item.relations)
    return preds


# ---- RDF --------------------------------------------------------------------------------
def _local_name(iri: str) -> str:
    for sep in ("#", "/", ":"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[1]
    return unquote(iri)


def graph_to_triples(g: Any, ontology: Any | None = None) -> list[Triple]:
    """String triples of an rdflib graph (labels as names, typed arguments, values with units).

    rdf:type and rdfs:label statements give types and names rather than triples; a node with
    numericValue / minValue / maxValue and unit becomes one ``hasValue`` triple such as
    ``(tapping temperature, hasValue, "1640..1680 °C")``.
    """
    from rdflib import OWL, RDF, RDFS, Literal

    def name(node: Any) -> str:
        if isinstance(node, Literal):
            return str(node)
        labels = sorted(str(x) for x in g.objects(node, RDFS.label))
        return labels[0] if labels else _local_name(str(node)).replace("_", " ")

    def ntype(node: Any) -> str | None:
        if isinstance(node, Literal):
            return None
        types = sorted(_local_name(str(t)) for t in g.objects(node, RDF.type))
        if ontology is not None:
            known = [t for t in types if ontology.resolve_class(t)]
            types = known or types
        return types[0] if types else None

    value_props = {"numericValue", "minValue", "maxValue", "unit"}
    skip = {RDF.type, RDFS.label, RDFS.comment, OWL.sameAs}
    out: list[Triple] = []
    valued: dict[Any, dict[str, str]] = {}
    for s, p, o in g.triples((None, None, None)):
        if p in skip:
            continue
        pname = _local_name(str(p))
        if pname in value_props and isinstance(o, Literal):
            valued.setdefault(s, {})[pname] = str(o)
            continue
        out.append(
            Triple(
                name(s),
                pname,
                name(o),
                ntype(s),
                ntype(o) or (None if not isinstance(o, Literal) else "Value"),
            )
        )
    for node, vals in valued.items():
        unit = vals.get("unit", "")
        unit = _UCUM_TO_SYMBOL.get(unit, unit)
        if "numericValue" in vals:
            number = vals["numericValue"]
        elif "minValue" in vals and "maxValue" in vals:
            number = f"{vals['minValue']}~{vals['maxValue']}"
        elif "minValue" in vals:
            number = f"≥{vals['minValue']}"
        elif "maxValue" in vals:
            number = f"≤{vals['maxValue']}"
        else:
            continue
        out.append(Triple(name(node), "hasValue", f"{number} {unit}".strip(), ntype(node), "Value"))
    return out


def read_rdf(path: Path, ontology: Any | None = None) -> Predictions:
    preds = Predictions(source=str(path), format="rdf")
    for ident, graph in graphs_of(parse_rdf(path, "predictions")):
        triples = graph_to_triples(graph, ontology)
        if ident is None:
            preds.pooled.extend(triples)
        else:
            sid = _local_name(ident)
            preds.items.setdefault(sid, Item(id=sid)).triples.extend(triples)
    return preds


# ---- Neo4j CSV --------------------------------------------------------------------------
_SPECIAL = {"ID", "START_ID", "END_ID", "LABEL", "TYPE", "IGNORE"}


def _base(col: str) -> str:
    """Neo4j header name without its type: 'name:string' -> 'name', 'id:ID(Entity)' -> ':ID'."""
    name, sep, typ = col.partition(":")
    if not sep:
        return col
    base = typ.split("(", 1)[0].upper()
    return f":{base}" if base in _SPECIAL else name


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    return read_csv_rows(path)  # strict: ragged rows and non-UTF-8 text name file and line


def read_neo4j(path: Path) -> Predictions:
    """Neo4j admin-import CSVs (nodes with ``:ID``, relationships with ``:START_ID``/``:END_ID``/
    ``:TYPE``), an APOC export (``_id``/``_labels``/``_start``/``_end``/``_type``), or plain
    ``subject,predicate,object[,sentence_id]`` CSV; one file or a folder of them."""
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise DataError(f"predictions folder {path} has no .csv files")
    nodes: dict[str, tuple[str, str | None]] = {}  # id -> (name, type)
    rels: list[tuple[str, str, str, str, str]] = []  # start, type, end, sentence id, where
    plain: list[tuple[dict[str, str], str]] = []
    for f in files:
        header, rows = _read_csv(f)
        base = {_base(h): h for h in header}
        if ":START_ID" in base or "_start" in base:
            start = base.get(":START_ID") or base["_start"]
            end = base.get(":END_ID") or base.get("_end")
            rtype = base.get(":TYPE") or base.get("_type")
            if not end or not rtype:
                raise DataError(f"{f}: relationship CSV needs :START_ID, :END_ID and :TYPE columns")
            sid_col = next((base[c] for c in _ID_COLUMNS if c in base and c != "id"), None)
            id_col = base.get(":ID") or base.get("_id")
            for n, row in enumerate(rows, start=2):
                if row.get(start):
                    rels.append(
                        (
                            row[start],
                            row[rtype],
                            row[end] or "",
                            row.get(sid_col, "") if sid_col else "",
                            f"{f}:{n}",
                        )
                    )
                elif id_col and row.get(id_col):  # APOC exports mix nodes into the same file
                    nodes[row[id_col]] = _node(row, base)
        elif ":ID" in base or "_id" in base:
            id_col = base.get(":ID") or base["_id"]
            for row in rows:
                nodes[row[id_col]] = _node(row, base)
        elif {"subject", "predicate", "object"} <= set(base):
            plain.extend((row, str(f)) for row in rows)
        else:
            raise DataError(
                f"{f}: not a Neo4j import CSV",
                hint="expected :ID (nodes), :START_ID/:END_ID/:TYPE (relationships) or subject,predicate,object columns",
            )
    preds = Predictions(source=str(path), format="neo4j")

    def add(sid: str, triple: Triple) -> None:
        if sid:
            preds.items.setdefault(sid, Item(id=sid)).triples.append(triple)
        else:
            preds.pooled.append(triple)

    for start, rtype, end, sid, where in rels:
        if start not in nodes or end not in nodes:
            missing = start if start not in nodes else end
            raise DataError(f"{where}: node id {missing!r} is not in any node CSV")
        (sname, stype), (oname, otype) = nodes[start], nodes[end]
        add(sid, Triple(sname, rtype, oname, stype, otype))
    for row, _ in plain:
        sid = next((row[c] for c in _ID_COLUMNS if row.get(c)), "")
        t = Triple(
            row["subject"],
            row["predicate"],
            row["object"],
            row.get("subject_type") or None,
            row.get("object_type") or None,
        )
        add(sid, t)
    return preds


def _node(row: dict[str, str], base: dict[str, str]) -> tuple[str, str | None]:
    name = next((row[base[c]] for c in _NAME_COLUMNS if c in base and row.get(base[c])), None)
    if name is None:
        name = row.get(base.get(":ID") or base.get("_id") or "", "")
    labels = row.get(base.get(":LABEL") or base.get("_labels") or "", "") or ""
    parts = [x for x in labels.replace(":", ";").split(";") if x]
    return name, ";".join(parts) or None
