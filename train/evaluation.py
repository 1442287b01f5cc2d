"""Held-out evaluation shared by every architecture: calibration, the "cannot judge" rules, the
per-clip records the app's explorer reads, and the metrics of each listening condition.

A model's held-out outputs per chunk are its (uncalibrated) genre logits, novelty, "no music"
probability and SNR estimate. From them:

- the temperature is fitted on held-out logits; for the reported figures each fold's temperature
  comes from the *other* folds (cross-fitted), so the expected calibration error after scaling is
  measured on predictions the temperature never saw;
- the judgement rules (:class:`genre_model.judgement.Rules`) are chosen on the held-out clips:
  the novelty and "not music" limits each keep "unlike the training music" off for all but the
  rarest 1% of held-out clean and room-recorded music, and the unsure and too-noisy limits are the ones that leave the
  fewest confidently wrong verdicts in noisy rooms while crying wolf on at most a set share of
  clean music.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genre_model.fitting import expected_calibration_error, fit_temperature, softmax
from genre_model.judgement import Evidence, Rules, flags_for
from genre_model.metrics import classification_report
from genre_model.report import EVAL_CONDITIONS, ROOM_CONDITIONS

CALIBRATION_CONDITIONS = ("clean", "eval-mic") + ROOM_CONDITIONS
MAX_CLEAN_FLAGGED = 0.10   # at most this share of clean held-out music may be called unsure or noisy
MAX_CLEAN_NOISY = 0.02     # ... and at most this share called too noisy


@dataclass
class Held:
    """One held-out file: its pool index, the fold (or stage) that held it out, and per condition
    the chunk outputs ``{"logits", "novelty", "no_music", "not_music", "snr_db"}`` and the
    conditions drawn."""

    index: int
    fold: int | str
    outputs: dict[str, dict[str, np.ndarray]]
    conditions: dict[str, dict] = field(default_factory=dict)


def _chunk_logits(held: list[Held], conditions=CALIBRATION_CONDITIONS) -> tuple[np.ndarray, np.ndarray]:
    xs, folds = [], []
    for h in held:
        for c in conditions:
            if c in h.outputs:
                xs.append(h.outputs[c]["logits"])
                folds += [h.fold] * len(h.outputs[c]["logits"])
    return np.concatenate(xs), np.array(folds, dtype=object)


def fit_calibration(held: list[Held], labels_of: list[int]) -> dict:
    """The final temperature (fitted on every held-out chunk) and, per fold, a cross-fitted one
    (with a single stage, as in the split evaluation, there is nothing else to fit it on: that one
    is in-sample)."""
    x, folds = _chunk_logits(held)
    y = np.concatenate([np.full(len(h.outputs[c]["logits"]), labels_of[h.index])
                        for h in held for c in CALIBRATION_CONDITIONS if c in h.outputs])
    per_fold = {}
    distinct = sorted(set(folds.tolist()), key=str)
    for f in distinct:
        other = folds != f
        per_fold[f] = fit_temperature(x[other], y[other]) if len(distinct) > 1 and other.any() else fit_temperature(x, y)
    return {"temperature": fit_temperature(x, y), "per_fold": per_fold}


def clip_outputs(out: dict[str, np.ndarray], temperature: float) -> dict:
    """Clip-level view of chunk outputs: mean calibrated probabilities, median novelty and quality."""
    probs = softmax(out["logits"], temperature)
    return {"chunk_probs": probs, "probabilities": probs.mean(axis=0), "novelty": float(np.median(out["novelty"])),
            "no_music": float(np.median(out["no_music"])), "not_music": float(np.median(out["not_music"])),
            "snr_db": float(np.median(out["snr_db"]))}


def _flags(view: dict, rules: Rules) -> dict:
    """The flags of a clip view, by the same function the app and Live judge with."""
    return flags_for(Evidence(view["probabilities"], novelty=view["novelty"], no_music=view["no_music"],
                              not_music=view["not_music"], snr_db=view["snr_db"]), rules)


def choose_rules(held: list[Held], labels_of: list[int], temps: dict) -> tuple[Rules, list[dict]]:
    """The judgement rules from held-out clips (see the module docstring), and the trade-off
    table the choice was made from."""
    views = {c: [(clip_outputs(h.outputs[c], temps[h.fold]), labels_of[h.index]) for h in held if c in h.outputs]
             for c in EVAL_CONDITIONS}
    music = [v for c in ("clean", "eval-mic") for v, _ in views.get(c, [])]

    def limit(key: str, floor: float | None) -> float:
        """Above 99% of held-out music (and at least ``floor``): what music rarely reaches."""
        values = [v[key] for v in music if not np.isnan(v[key])]
        q = float(np.quantile(values, 0.99)) if values else (floor or 1.0)
        return round(max(q, floor) if floor is not None else q, 4)
    novelty_limit = limit("novelty", None)
    quality = {"no_music_above": limit("no_music", 0.5), "not_music_above": limit("not_music", 0.5)}
    table = []
    for noisy in (None, 0.0, 2.0, 4.0, 6.0, 8.0, 10.0):
        for unsure in np.round(np.arange(0.30, 0.81, 0.05), 2):
            rules = Rules(unsure_below=float(unsure), novelty_limit=novelty_limit, noisy_snr_below=noisy, **quality)
            clean = [_flags(v, rules) for v, _ in views["clean"]]
            room = [(_flags(v, rules), int(np.argmax(v["probabilities"])) == y)
                    for c in ROOM_CONDITIONS for v, y in views.get(c, [])]
            table.append({
                "unsure_below": float(unsure), "noisy_snr_below": noisy,
                "clean_flagged": float(np.mean([f["any"] for f in clean])),
                "clean_noisy": float(np.mean([f["too_noisy"] for f in clean])),
                "room_confidently_wrong": float(np.mean([not ok and not f["any"] for f, ok in room])) if room else 0.0,
                "room_flagged": float(np.mean([f["any"] for f, _ in room])) if room else 0.0,
            })
    allowed = [r for r in table if r["clean_flagged"] <= MAX_CLEAN_FLAGGED and r["clean_noisy"] <= MAX_CLEAN_NOISY]
    best = (min(allowed, key=lambda r: (r["room_confidently_wrong"], r["clean_flagged"])) if allowed else
            min(table, key=lambda r: (r["clean_flagged"], r["room_confidently_wrong"])))  # never cry wolf first
    return Rules(unsure_below=best["unsure_below"], novelty_limit=novelty_limit,
                 noisy_snr_below=best["noisy_snr_below"], **quality), table


def _round(p) -> list[float]:
    return [round(float(v), 5) for v in p]


def make_records(held: list[Held], pool, info: list[dict], genres: list[str], temps: dict, rules: Rules) -> list[dict]:
    """One record per held-out file (what the explorer shows): clean verdict with its chunks,
    flags, and the verdict in every other condition. ``info[i]`` has ``starts``, ``ends``,
    ``duration`` of pool file i."""
    records = []
    for h in held:
        clip = pool.clips[h.index]
        meta = info[h.index]
        clean = clip_outputs(h.outputs["clean"], temps[h.fold])
        flags = _flags(clean, rules)
        record = {
            "path": clip.relpath, "clip_id": clip.clip_id, "label": clip.label, "artist": pool.artists[h.index],
            "source": clip.source, "side": pool.sides[h.index], "fold": h.fold, "duration": round(meta["duration"], 3),
            "predicted": genres[int(clean["probabilities"].argmax())],
            "confidence": round(float(clean["probabilities"].max()), 4), "probabilities": _round(clean["probabilities"]),
            "novelty": round(clean["novelty"], 4), "no_music": round(clean["no_music"], 4),
            "not_music": round(clean["not_music"], 4), "snr_db": round(clean["snr_db"], 2), "flags": flags,
            "chunks": [{"start": round(float(s), 3), "end": round(float(e), 3), "probabilities": _round(p)}
                       for s, e, p in zip(meta["starts"], meta["ends"], clean["chunk_probs"])],
            "conditions": {},
        }
        for c in EVAL_CONDITIONS:
            if c == "clean" or c not in h.outputs:
                continue
            v = clip_outputs(h.outputs[c], temps[h.fold])
            record["conditions"][c] = {
                "predicted": genres[int(v["probabilities"].argmax())], "probabilities": _round(v["probabilities"]),
                "novelty": round(v["novelty"], 4), "no_music": round(v["no_music"], 4),
                "not_music": round(v["not_music"], 4), "snr_db": round(v["snr_db"], 2),
                "flags": _flags(v, rules),
                "drawn": {k: (round(x, 3) if isinstance(x, float) else x) for k, x in h.conditions.get(c, {}).items()},
            }
        if "reference" in record["conditions"]:
            record["reference_mic"] = record["conditions"]["reference"]["predicted"]
        records.append(record)
    return records


def _report(pairs: list[tuple[str, str, dict]], genres: list[str]) -> dict | None:
    """Metrics over (true, predicted, flags) triples, with the flag rates."""
    if not pairs:
        return None
    m = classification_report([genres.index(t) for t, _, _ in pairs], [genres.index(p) for _, p, _ in pairs], genres)
    m["flagged"] = round(float(np.mean([f["any"] for _, _, f in pairs])), 4)
    m["confidently_wrong"] = round(float(np.mean([t != p and not f["any"] for t, p, f in pairs])), 4)
    for name in ("unsure", "unfamiliar", "too_noisy", "no_music"):
        m[f"flag_{name}"] = round(float(np.mean([f[name] for _, _, f in pairs])), 4)
    return m


def summarize(records: list[dict], genres: list[str]) -> dict:
    """Metrics per condition over the records (each file counts once), per data folder, and per chunk."""
    out = {"clean": _report([(r["label"], r["predicted"], r["flags"]) for r in records], genres)}
    for c in EVAL_CONDITIONS:
        if c == "clean":
            continue
        pairs = [(r["label"], r["conditions"][c]["predicted"], r["conditions"][c]["flags"]) for r in records
                 if c in r.get("conditions", {})]
        if pairs:
            out[c] = _report(pairs, genres)
    room = [(r["label"], r["conditions"][c]["predicted"], r["conditions"][c]["flags"]) for r in records
            for c in ROOM_CONDITIONS if c in r.get("conditions", {})]
    if room:
        out["noisy_room"] = _report(room, genres)
    if "reference" in out:
        out["reference_mic"] = out["reference"]
    sources = sorted({r.get("source", "") for r in records})
    if len(sources) > 1:
        out["by_source"] = {s: {k: v for k, v in _report([(r["label"], r["predicted"], r["flags"]) for r in records
                                                         if r.get("source", "") == s], genres).items()
                                if k in ("n", "accuracy", "accuracy_ci95", "macro_f1", "flagged")} for s in sources}
    chunk = classification_report([genres.index(r["label"]) for r in records for _ in r["chunks"]],
                                  [int(np.argmax(c["probabilities"])) for r in records for c in r["chunks"]], genres)
    out["chunks_clean"] = {k: chunk[k] for k in ("n", "accuracy", "accuracy_ci95", "macro_f1")}
    return out


def calibration_summary(held: list[Held], labels_of: list[int], temps: dict) -> dict:
    """Expected calibration error (clip level and chunk level, clean and noisy-room conditions
    together) before temperature scaling and after the cross-fitted temperatures."""
    out = {}
    for name, temp_of in (("before", lambda f: 1.0), ("after", lambda f: temps[f])):
        clip_p, clip_y, chunk_p, chunk_y = [], [], [], []
        for h in held:
            for c in CALIBRATION_CONDITIONS:
                if c in h.outputs:
                    p = softmax(h.outputs[c]["logits"], temp_of(h.fold))
                    clip_p.append(p.mean(axis=0))
                    clip_y.append(labels_of[h.index])
                    chunk_p.append(p)
                    chunk_y += [labels_of[h.index]] * len(p)
        out[name] = {"clip_ece": round(expected_calibration_error(np.array(clip_p), np.array(clip_y)), 4),
                     "chunk_ece": round(expected_calibration_error(np.concatenate(chunk_p), np.array(chunk_y)), 4)}
    return out


def evaluate_held(description: str, held: list[Held], pool, info: list[dict], genres: list[str],
                  rules: Rules | None = None) -> dict:
    """Everything one evaluation reports: calibration (cross-fitted), rules (chosen here unless
    given), records and metrics. ``info[i]``: ``starts``, ``ends``, ``duration`` of pool file i."""
    labels_of = [genres.index(c.label) for c in pool.clips]
    calibration = fit_calibration(held, labels_of)
    temps = calibration["per_fold"]
    table = None
    if rules is None:
        rules, table = choose_rules(held, labels_of, temps)
    records = make_records(held, pool, info, genres, temps, rules)
    return {"description": description, "records": records, "metrics": summarize(records, genres),
            "calibration": {"temperature": calibration["temperature"],
                            "per_fold": {str(k): round(v, 4) for k, v in temps.items()},
                            "ece": calibration_summary(held, labels_of, temps)},
            "rules": rules, "rules_table": table}


def for_report(result: dict) -> dict:
    """An evaluation as the report stores it (records go to the report's ``clips``)."""
    return {k: v for k, v in result.items() if k not in ("records", "rules")} | {"rules": result["rules"].to_dict()}


def background_flags(outputs: list[dict[str, np.ndarray]], rules: Rules) -> dict:
    """How often music-free room recordings (given as chunk outputs) are flagged, per signal."""
    flags = []
    for out in outputs:
        v = clip_outputs(out, 1.0)
        flags.append(_flags(v, rules))
    if not flags:
        return {"n": 0}
    return {k: round(float(np.mean([f[k] for f in flags])), 4) for k in ("no_music", "too_noisy", "unfamiliar", "any")} \
        | {"n": len(flags)}
