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

from dataclasses import dataclass, field, replace

import numpy as np

from scipy.optimize import minimize

from genre_model.fitting import clip_weights, expected_calibration_error, fit_temperature, softmax
from genre_model.judgement import Evidence, Rules, flags_for
from genre_model.metrics import classification_report
from genre_model.report import EVAL_CONDITIONS, ROOM_CONDITIONS
from genre_model.tags import top_tags, zero_shot

CALIBRATION_CONDITIONS = ("clean", "eval-mic") + ROOM_CONDITIONS
MAX_CLEAN_FLAGGED = 0.10   # at most this share of clean held-out music may be called unsure or noisy
MAX_CLEAN_NOISY = 0.02     # ... and at most this share called too noisy
MIN_CLEAN_ANSWERED = 0.75  # the short-audio unsure limit still answers this share of clean held-out music


@dataclass
class Held:
    """One held-out file: its pool index, the fold (or stage) that held it out, and per condition
    the chunk outputs ``{"logits", "novelty", "no_music", "not_music", "snr_db"}`` and the
    conditions drawn."""

    index: int
    fold: int | str
    outputs: dict[str, dict[str, np.ndarray]]
    conditions: dict[str, dict] = field(default_factory=dict)


@dataclass
class Calibration:
    """How chunk logits become calibrated probabilities: the head's logits plus, for models whose
    backbone tags (musicnn), ``prior`` (one weight per genre) times the genres' log zero-shot scores
    from the tags (genre_model.tags.zero_shot) plus ``bias`` (one per genre, so that a genre with
    tags is not penalised against one without on average), all divided by ``temperature``."""

    temperature: float
    prior: np.ndarray | None = None
    bias: np.ndarray | None = None

    def logits(self, out: dict[str, np.ndarray], matrix: np.ndarray | None) -> np.ndarray:
        z = out["logits"]
        if self.prior is not None and matrix is not None and "tags" in out:
            z = z + self.prior * zero_shot(out["tags"], matrix) + self.bias
        return z / self.temperature

    def probabilities(self, out: dict[str, np.ndarray], matrix: np.ndarray | None) -> np.ndarray:
        return softmax(self.logits(out, matrix))


def _fit(outs: list[dict], y: np.ndarray, clips: np.ndarray, matrix: np.ndarray | None) -> Calibration:
    """The temperature (and, with ``matrix``, the per-genre prior weights, >= 0, and biases, zero
    for genres without tags) that minimise the negative log-likelihood of held-out chunks. With the
    prior every clip counts the same, and every genre (as in training): long clips and frequent
    genres would otherwise buy the prior's weights."""
    logits = np.concatenate([o["logits"] for o in outs])
    if matrix is None:
        return Calibration(fit_temperature(logits, y))
    weights = clip_weights([str(label) for label in y], clips.tolist())
    weights = weights / weights.sum()
    prior = np.concatenate([zero_shot(o["tags"], matrix) for o in outs])
    tagged = matrix.sum(axis=1) > 0
    n = int(tagged.sum())

    def unpack(params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        w, b = np.zeros(len(matrix)), np.zeros(len(matrix))
        w[tagged], b[tagged] = params[1:1 + n], params[1 + n:]
        return float(np.exp(params[0])), w, b

    def nll(params: np.ndarray) -> float:
        t, w, b = unpack(params)
        p = softmax((logits + w * prior + b) / t)
        return float(-np.sum(weights * np.log(p[np.arange(len(y)), y] + 1e-12)))

    start = np.r_[0.0, np.full(n, 0.5), np.zeros(n)]
    bounds = [(np.log(0.05), np.log(20.0))] + [(0.0, 5.0)] * n + [(-10.0, 10.0)] * n
    t, w, b = unpack(minimize(nll, start, method="L-BFGS-B", bounds=bounds).x)
    return Calibration(t, np.round(w, 4).astype(np.float32), np.round(b, 4).astype(np.float32))


def fit_calibration(held: list[Held], labels_of: list[int], matrix: np.ndarray | None = None) -> dict:
    """The final calibration (fitted on every held-out chunk) and, per fold, a cross-fitted one
    (with a single stage, as in the split evaluation, there is nothing else to fit it on: that one
    is in-sample). ``matrix``: the genre-tag map, to weigh the backbone's tags against the head."""
    rows = [(h.fold, h.outputs[c], labels_of[h.index], h.index) for h in held for c in CALIBRATION_CONDITIONS
            if c in h.outputs]
    y = np.concatenate([np.full(len(o["logits"]), label) for _, o, label, _ in rows])
    clips = np.concatenate([np.full(len(o["logits"]), i) for _, o, _, i in rows])
    folds = np.concatenate([np.full(len(o["logits"]), str(f), dtype=object) for f, o, _, _ in rows])
    outs = [o for _, o, _, _ in rows]
    per_fold = {}
    distinct = sorted({h.fold for h in held}, key=str)
    for f in distinct:
        other = [o for (g, o, _, _) in rows if g != f] if len(distinct) > 1 else outs
        keep = folds != str(f) if len(distinct) > 1 else np.ones(len(y), dtype=bool)
        per_fold[f] = _fit(other, y[keep], clips[keep], matrix)
    return {"final": _fit(outs, y, clips, matrix), "per_fold": per_fold}


def clip_outputs(out: dict[str, np.ndarray], cal: Calibration, matrix: np.ndarray | None = None) -> dict:
    """Clip-level view of chunk outputs: mean calibrated probabilities, median novelty and quality."""
    probs = cal.probabilities(out, matrix)
    return {"chunk_probs": probs, "probabilities": probs.mean(axis=0), "novelty": float(np.median(out["novelty"])),
            "no_music": float(np.median(out["no_music"])), "not_music": float(np.median(out["not_music"])),
            "snr_db": float(np.median(out["snr_db"]))}


def _flags(view: dict, rules: Rules) -> dict:
    """The flags of a clip view, by the same function the app and Live judge with."""
    return flags_for(Evidence(view["probabilities"], novelty=view["novelty"], no_music=view["no_music"],
                              not_music=view["not_music"], snr_db=view["snr_db"],
                              seconds=view.get("seconds", float("nan"))), rules)


def choose_rules(held: list[Held], labels_of: list[int], cals: dict, matrix: np.ndarray | None = None,
                 durations: list[float] | None = None) -> tuple[Rules, list[dict]]:
    """The judgement rules from held-out clips (see the module docstring), and the trade-off
    table the choice was made from. ``durations[i]``: seconds of pool file i."""
    views = {c: [(clip_outputs(h.outputs[c], cals[h.fold], matrix), labels_of[h.index]) for h in held
                 if c in h.outputs] for c in EVAL_CONDITIONS}
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
    rules = Rules(unsure_below=best["unsure_below"], novelty_limit=novelty_limit,
                  noisy_snr_below=best["noisy_snr_below"], **quality)
    if durations is not None:
        clean = [(v, y, durations[h.index] <= rules.short_seconds)
                 for h, (v, y) in zip([h for h in held if "clean" in h.outputs], views["clean"])]
        rules = replace(rules, unsure_below_short=_short_limit(clean, rules))
    return rules, table


def _short_limit(views: list[tuple[dict, int, bool]], rules: Rules) -> float:
    """The unsure limit for audio no longer than one chunk (``views``: clean held-out clips, their
    genre and whether they are that short): the one, at least the usual limit, that leaves the
    fewest clean clips wrong with no warning while still answering MIN_CLEAN_ANSWERED of them."""
    best = None
    for limit in np.round(np.arange(rules.unsure_below, 0.951, 0.05), 2):
        trial = replace(rules, unsure_below_short=float(limit))
        flags = [_flags(v | {"seconds": rules.short_seconds if short else float("nan")}, trial) for v, _, short in views]
        answered = np.mean([not f["any"] for f in flags])
        wrong = np.mean([int(np.argmax(v["probabilities"])) != y and not f["any"] for (v, y, _), f in zip(views, flags)])
        if answered >= MIN_CLEAN_ANSWERED and (best is None or wrong < best[0]):
            best = (wrong, float(limit))
    return best[1] if best else rules.unsure_below


def risk_coverage(records: list[dict], short_seconds: float) -> dict:
    """For clean held-out clips, short (no longer than one chunk) and long: at each unsure limit,
    the share of clips answered (no "cannot judge" signal but unsure) and the share of those answers
    that are wrong. The curve the unsure limits are read from."""
    out = {}
    for name, keep in (("short", lambda d: d <= short_seconds), ("long", lambda d: d > short_seconds)):
        rs = [r for r in records if keep(r["duration"])]
        other = [any(on for k, on in r["flags"].items() if k not in ("unsure", "any")) for r in rs]
        curve = []
        for limit in np.round(np.arange(0.0, 0.951, 0.05), 2):
            answered = [r for r, o in zip(rs, other) if not o and r["confidence"] >= limit]
            wrong = sum(r["predicted"] != r["label"] for r in answered)
            curve.append({"unsure_below": float(limit), "coverage": round(len(answered) / len(rs), 4) if rs else 0.0,
                          "risk": round(wrong / len(answered), 4) if answered else 0.0,
                          "confidently_wrong": round(wrong / len(rs), 4) if rs else 0.0})
        out[name] = {"n": len(rs), "curve": curve}
    return out


def _round(p) -> list[float]:
    return [round(float(v), 5) for v in p]


def make_records(held: list[Held], pool, info: list[dict], genres: list[str], cals: dict, rules: Rules,
                 matrix: np.ndarray | None = None) -> list[dict]:
    """One record per held-out file (what the explorer shows): clean verdict with its chunks,
    flags, and the verdict in every other condition. ``info[i]`` has ``starts``, ``ends``,
    ``duration`` of pool file i."""
    records = []
    for h in held:
        clip = pool.clips[h.index]
        meta = info[h.index]
        clean = clip_outputs(h.outputs["clean"], cals[h.fold], matrix) | {"seconds": meta["duration"]}
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
        if "tags" in h.outputs["clean"]:  # what the backbone hears (musicnn models)
            record["hears"] = top_tags(h.outputs["clean"]["tags"].mean(axis=0))
        for c in EVAL_CONDITIONS:
            if c == "clean" or c not in h.outputs:
                continue
            v = clip_outputs(h.outputs[c], cals[h.fold], matrix) | {"seconds": meta["duration"]}
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


def calibration_summary(held: list[Held], labels_of: list[int], cals: dict, matrix: np.ndarray | None = None) -> dict:
    """Expected calibration error (clip level and chunk level, clean and noisy-room conditions
    together) of the head alone before calibration, and after the cross-fitted calibrations."""
    out = {}
    for name, cal_of in (("before", lambda f: Calibration(1.0)), ("after", lambda f: cals[f])):
        clip_p, clip_y, chunk_p, chunk_y = [], [], [], []
        for h in held:
            for c in CALIBRATION_CONDITIONS:
                if c in h.outputs:
                    p = cal_of(h.fold).probabilities(h.outputs[c], matrix)
                    clip_p.append(p.mean(axis=0))
                    clip_y.append(labels_of[h.index])
                    chunk_p.append(p)
                    chunk_y += [labels_of[h.index]] * len(p)
        out[name] = {"clip_ece": round(expected_calibration_error(np.array(clip_p), np.array(clip_y)), 4),
                     "chunk_ece": round(expected_calibration_error(np.concatenate(chunk_p), np.array(chunk_y)), 4)}
    return out


def evaluate_held(description: str, held: list[Held], pool, info: list[dict], genres: list[str],
                  rules: Rules | None = None, matrix: np.ndarray | None = None,
                  fit_on: list[Held] | None = None) -> dict:
    """Everything one evaluation reports: calibration (cross-fitted), rules (chosen here unless
    given), records and metrics. ``info[i]``: ``starts``, ``ends``, ``duration`` of pool file i.
    ``matrix``: the genre-tag map when the backbone's tags are weighed against the head.
    ``fit_on``: held-out outputs of *other* files to fit the calibration on, for an evaluation with
    a single stage (nothing to cross-fit within it), so that no scored file tunes its own verdict."""
    labels_of = [genres.index(c.label) for c in pool.clips]
    if fit_on is not None:
        outside = fit_calibration(fit_on, labels_of, matrix)["final"]
        calibration = {"final": outside, "per_fold": {h.fold: outside for h in held}}
    else:
        calibration = fit_calibration(held, labels_of, matrix)
    cals = calibration["per_fold"]
    table = None
    if rules is None:
        rules, table = choose_rules(held, labels_of, cals, matrix, [i["duration"] for i in info])
    records = make_records(held, pool, info, genres, cals, rules, matrix)
    final = calibration["final"]
    return {"description": description, "records": records, "metrics": summarize(records, genres),
            "calibration": {"temperature": final.temperature,
                            # the weight of each tagged genre's zero-shot score (genre_model.tags.GENRE_TAGS)
                            **({"tag_prior": {g: {"weight": float(w), "bias": float(b)} for g, w, b, row in
                                              zip(genres, final.prior, final.bias, matrix) if row.any()}}
                               if final.prior is not None else {}),
                            "per_fold": {str(k): round(v.temperature, 4) for k, v in cals.items()},
                            "ece": calibration_summary(held, labels_of, cals, matrix)},
            "risk_coverage": risk_coverage(records, rules.short_seconds),
            "cal": final, "rules": rules, "rules_table": table}


def for_report(result: dict) -> dict:
    """An evaluation as the report stores it (records go to the report's ``clips``)."""
    return ({k: v for k, v in result.items() if k not in ("records", "rules", "cal", "held")}
            | {"rules": result["rules"].to_dict()})


def background_flags(outputs: list[dict[str, np.ndarray]], rules: Rules, cal: Calibration,
                     matrix: np.ndarray | None = None) -> dict:
    """How often music-free room recordings (given as raw chunk outputs) are flagged, per signal."""
    flags = []
    for out in outputs:
        v = clip_outputs(out, cal, matrix)
        flags.append(_flags(v, rules))
    if not flags:
        return {"n": 0}
    return {k: round(float(np.mean([f[k] for f in flags])), 4) for k in ("no_music", "too_noisy", "unfamiliar", "any")} \
        | {"n": len(flags)}
