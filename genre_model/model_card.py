"""MODEL_CARD.md from a model's evaluation report, so the card's numbers are always the ones the
training run (or the Teach page) measured. The one card writer, for every architecture and for class
models: the headline is the artist-grouped evaluation, the artist-filtered split beside it, the
same-artist figure only as a labelled aside. Written by :meth:`genre_model.model_dir.ModelDir.write_card`."""

from __future__ import annotations

import json
from pathlib import Path

from .models import REGISTRY
from .report import EVAL_CONDITIONS, NOISY_ROOM, EvalReport, Metrics, genre_recalls

PORT_CHECK = """\
The PyTorch port of MSD_musicnn was checked against the original TensorFlow implementation
(musicnn 0.1.0 run once with tensorflow-cpu 2.21 + tf-keras in a throwaway environment; script:
`train/musicnn_reference_tf.py`) on 10 real GTZAN excerpts (id 00000 of each genre) and 3
generated clips, 63 three-second patches in all:

| comparison | max abs difference of the 50 tag probabilities |
|---|---|
| same input spectrogram into both networks | 2.1e-6 |
| end to end (our decoder, resampler and log-mel vs. librosa's) | 8.7e-5 |

The 200-unit embedding of the first patch differs by at most 3.3e-4 (values up to ~3). Note: under
NumPy 2 the original extractor's `10000 * float16 spectrogram` overflows to infinity (NumPy 1.x
promoted it to float32), so the reference was produced with that step in float32, as NumPy 1.x
computed it. The stored outputs (`tests/fixtures/musicnn_reference.json`) are checked by
`tests/test_musicnn_port.py` on every test run."""

LICENCE = ("Trained by this project's code; the weights are released with the project. GTZAN's audio is not "
           "redistributed here.")


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def interval(m: dict) -> str:
    lo, hi = m["accuracy_ci95"]
    return f"{pct(m['accuracy'])} ({pct(lo)}-{pct(hi)})"


def confusion_table(labels: list[str], cm: list[list[int]]) -> str:
    head = "| true \\ predicted | " + " | ".join(l[:5] for l in labels) + " |"
    rule = "|---" * (len(labels) + 1) + "|"
    rows = [f"| **{l}** | " + " | ".join(str(v) if v else "." for v in row) + " |" for l, row in zip(labels, cm)]
    return "\n".join([head, rule] + rows)


def condition_rows(m: dict) -> str:
    """One table row per listening condition present in metrics ``m``."""
    rows = []
    for key, name in list(EVAL_CONDITIONS.items()) + [(NOISY_ROOM, "noisy classroom, all 0-15 dB")]:
        if key in m and m[key]:
            c = m[key]
            rows.append(f"| {name} | {c['n']} | {interval(c)} | {c['macro_f1']:.3f} | {pct(c.get('flagged'))} | "
                        f"{pct(c.get('confidently_wrong'))} |")
    return "\n".join(rows)


def _evaluation_section(report: dict) -> str:
    ev = report.get("evaluations", {})
    main = ev.get("artist_kfold", {})
    m = report["metrics"]
    parts = [f"""## Headline: {main.get('description', report['split'])}

Every clip is scored by a model that never heard its artist (nor the clip, nor any copy of it); a
clip with no known artist is a group of its own. Room conditions are simulated recordings of the
held-out clips made with voices and random streams the training never used. "Flagged" means the
model said it could not judge (unsure, unfamiliar, too noisy or no music); "confidently wrong"
means a wrong verdict with no such signal. Intervals are 95% Wilson intervals over files; the room
rows' intervals are too narrow, as several recordings come from one clip.

| audio | files | accuracy (95% interval) | macro-F1 | flagged | confidently wrong |
|---|---|---|---|---|---|
{condition_rows(m)}
"""]
    if m.get("by_source"):
        parts.append("By data folder (clean): " + "; ".join(
            f"`{s}` {v['n']} files, {interval(v)}" for s, v in m["by_source"].items()) + ".\n")
    if "split" in ev:
        s = ev["split"]["metrics"]
        parts.append(f"""## The artist-filtered split
{ev['split']['description']}. Its train and valid parts share no artist.

| audio | files | accuracy (95% interval) | macro-F1 | flagged | confidently wrong |
|---|---|---|---|---|---|
{condition_rows(s)}
""")
    if "same_artist_kfold" in ev:
        o = ev["same_artist_kfold"]["metrics"]["clean"]
        parts.append(f"""For comparison only, **optimistic**: {ev['same_artist_kfold']['description']}: clean accuracy
{interval(o)} over {o['n']} files. GTZAN repeats artists (ids 0-9 of a genre are often one artist), so
this figure also rewards recognising artists already heard: it overstates accuracy on new artists.
""")
    return "\n".join(parts)


def _judgement_section(report: dict) -> str:
    j = report.get("judgement")
    if not j:
        return ""
    r = j["rules"]
    cal = j["calibration"]
    bg = j.get("background_eval", {})
    noisy = "never" if r["noisy_snr_below"] is None else f"estimated SNR below {r['noisy_snr_below']:g} dB"
    short = "" if r.get("unsure_below_short") is None else (
        f" (below {pct(r['unsure_below_short'])} for audio of at most {r['short_seconds']:g} s, the limit that leaves "
        f"the fewest clean held-out clips wrong with no warning while answering at least 75% of them; always for "
        f"audio shorter than "
        f"{r['min_sure_seconds']:g} s, shorter than any clip the limits were chosen on)")
    return f"""## Calibration and "cannot judge"
- Temperature {cal['temperature']:.3f}, fitted on held-out (artist-grouped) chunk logits, clean and in rooms.
  Expected calibration error of the clip verdicts (10 bins; each fold's temperature fitted on the other
  folds): {cal['ece']['before']['clip_ece']:.3f} before, {cal['ece']['after']['clip_ece']:.3f} after; per chunk
  {cal['ece']['before']['chunk_ece']:.3f} before, {cal['ece']['after']['chunk_ece']:.3f} after.
- Rules chosen on the same held-out clips: **unsure** below {pct(r['unsure_below'])} calibrated probability{short};
  **unfamiliar** when the median chunk novelty exceeds {r['novelty_limit']:.3f} (99th percentile of held-out
  clean and room-recorded music), or the quality layer hears a sound that is not music (a tone, noise, beeps;
  probability above {r.get('not_music_above', 0.5):.2f}) or no music at all; **no music** (mostly talk or room noise)
  when that probability exceeds {r['no_music_above']:.2f}; **too noisy**: {noisy}. Both probability limits are at
  least 0.5 and above 99% of held-out music. The usual unsure limit and the too-noisy limit minimise confidently
  wrong verdicts in the noisy rooms while flagging at most 10% of clean music (at most 2% as too noisy); the
  short-audio limit then trades answers for fewer confident mistakes on 2-3 s clips (risk-coverage curves in the
  report, drawn on the Explore page).
- Held-out recordings with no music (never trained on): """ + "; ".join(
        f"{name.replace('_', ' ')}, {v.get('n', 0)}: flagged {pct(v.get('any'))} (no music {pct(v.get('no_music'))}, "
        f"unfamiliar {pct(v.get('unfamiliar'))})" for name, v in bg.items() if isinstance(v, dict)) + """.
"""


def targets_table(report: dict) -> str:
    """Issue #9's targets next to this model's own held-out figures (artist-grouped evaluation)."""
    m = report["metrics"]
    snippets = m.get("by_source", {}).get("gtzan_snippets")
    classical = m["clean"]["per_genre"].get("classical", {})
    room = m.get("noisy_room")
    rows = [("artist-disjoint GTZAN clips", ">= 70%", interval(m["clean"]) + f", {m['clean']['n']} files"
             + (f"; 2-3 s snippets alone {interval(snippets)}, {snippets['n']} files" if snippets else "")),
            ("noisy-room recordings (simulated classrooms, 0-15 dB)", ">= 45%, <= 15% confidently wrong",
             f"{interval(room)}, {room['n']} recordings; confidently wrong {pct(room['confidently_wrong'])}" if room else "-"),
            ("clean clips flagged unfamiliar", "<= 5%", pct(m["clean"].get("flag_unfamiliar"))),
            ("simulated-microphone copies", ">= 80%", "; ".join(
                f"{name} {interval(m[k])}" for k, name in (("eval-mic", "room recording 5-30 dB"),
                                                          ("reference", "reference recording")) if k in m) or "-"),
            ("orchestral music heard as classical", ">= 70%",
             f"no game music here; classical recall on held-out artists {pct(classical.get('recall'))} "
             f"({classical.get('support', 0)} files)"),
            ("speed, 30 s clip", ">= 30x real time",
             f"{report.get('cpu_seconds_per_30s_clip')} s per 30 s clip = "
             f"{30 / report['cpu_seconds_per_30s_clip']:.0f}x" if report.get("cpu_seconds_per_30s_clip") else "-")]
    return ("| target (issue #9) | wanted | this model, held-out artists |\n|---|---|---|\n"
            + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows))


def _extra(report: dict) -> str:
    extra = report.get("card_extra") or ""
    study = report.get("backbone_study")
    if study:
        extra += "\n## Backbone and layer choice\n" + study + "\n"
    if report["arch"] == "musicnn-head":
        extra += "\n## Port verification\n" + PORT_CHECK + "\n"
    ext = report.get("external_eval")
    if ext and ext.get("all"):
        unseen = ext.get("not_seen_in_training")
        extra += (f"\n## Also evaluated on `{Path(ext['data_root']).name}` (audio, through our own feature extractor)\n"
                  f"All {ext['all']['n']} clips: accuracy {pct(ext['all']['accuracy'])}. {ext['n_seen_in_training']} of "
                  f"them trained the model; on the other " + (f"{unseen['n']}: {interval(unseen)}." if unseen else "none.")
                  + "\n")
    return extra


def render_card(report: EvalReport, *, licences: list[str] | None = None) -> str:
    """The card's Markdown (``licences``: a class model's, from its checkpoint)."""
    if report.is_class_model:
        return _class_model_card(report.to_dict(), licences or [])
    return _card(report.to_dict())


def _card(report: dict) -> str:
    m, labels, recipe = report["metrics"], report["labels"], report["recipe"]
    pool = report.get("pool", {})
    excluded = pool.get("excluded", {})
    recalls = {r["genre"]: r for r in genre_recalls(Metrics.from_dict(m["clean"]), labels)}
    per_genre = "\n".join(
        f"| {g} | {m['clean']['per_genre'][g]['precision']:.2f} | {m['clean']['per_genre'][g]['recall']:.2f} "
        f"({recalls[g]['recall_ci95'][0]:.2f}-{recalls[g]['recall_ci95'][1]:.2f}) | "
        f"{m['clean']['per_genre'][g]['f1']:.2f} | {m['clean']['per_genre'][g]['support']} |" for g in labels)
    sources = ", ".join(f"`{s or Path(report['data_root']).name}` {n}" for s, n in pool.get("by_source", {}).items())
    text = f"""# Model card: {report['model']} ({report['arch']})

A genre classifier for {len(labels)} genres ({', '.join(labels)}): {REGISTRY[report['arch']].summary}.
{f"{report['n_parameters']:,} parameters. " if report.get('n_parameters') else ''}Trained by `python -m train`.

## Data
- {pool.get('files', m['clean']['n'])} files ({pool.get('clips', '-')} distinct GTZAN clips, {pool.get('groups', '-')} artist groups)
  from {sources or '`' + Path(report['data_root']).name + '`'}. The audio is not in this repository. Every clip weighs
  the same whatever its length, and every genre the same.
- Left out: {excluded.get('test_part', {}).get('n', 0)} file(s) of the artist-filtered split's test part (no shipped
  model trains on them) and {excluded.get('not_in_split_lists', {}).get('n', 0)} the split leaves out as faulty;
  skipped unreadable: {len(report.get('skipped', []))}.
- Data fingerprint (sha256 over every file's relative path, label and content hash): `{report['fingerprint']}`.
- Training copies per clip: {json.dumps({k: recipe[k] for k in ('mic_copies', 'room_copies', 'aug_copies', 'augment')
                                         if k in recipe})} (`genre_model/roomsim.py`: room reverb, speaker and
  microphone band, a phone's high-pass, automatic gain; fair rooms at 5-30 dB SNR, noisy classrooms with babble,
  crowd and clatter at 0-15 dB).

## How it was made
```
{report['command']}
```
Seed {report['seed']}; recipe `{json.dumps(recipe)}`. Code version {report['code_version']}, Python
{report['python']}, torch {report['torch']}; timings {json.dumps(report.get('timings_s', {}))} s on a 2-core CPU
that other work may have shared. CPU time per 30 s clip (decode, features, model): {report.get('cpu_seconds_per_30s_clip')} s.

{_evaluation_section(report)}
{_judgement_section(report)}
## Targets
The targets are checked by the project on real recordings it does not have; these are this model's
own figures for each, measured as above.

{targets_table(report)}

## Per genre (headline evaluation, clean)

| genre | precision | recall (95% interval) | F1 | files |
|---|---|---|---|---|
{per_genre}

Confusion matrix (clean):

{confusion_table(labels, m['clean']['confusion'])}
{_extra(report)}
## Intended use and limits
A classroom demonstration of genre classification. Ten Western popular-music genres only, learned from
GTZAN (mostly 1990s-2000s recordings); anything else still gets one of the labels, so the app shows the
calibrated confidence and says when it cannot judge. Not for judging music or musicians.

## Licence
{report.get('licence', LICENCE)}
"""
    return text


def _class_model_card(report: dict, licences: list[str]) -> str:
    from .teach import CLASS_CLIP_WEIGHT, ROOM_COPIES
    after, before = report["metrics"]["after"], report["metrics"]["before"]
    lo, hi = after["accuracy_ci95"]
    clips = "\n".join(f"| {l} | {n} |" for l, n in report["class_clips"].items())
    new = ", ".join(report["new_labels"]) or "none"
    return f"""# Model card: {report['model']} (class model)

Made on the Teach page (or by `python -m train ... --base default`) from the default model: the same frozen
MSD_musicnn backbone, and a new head trained on the default model's training data (GTZAN clips of
{len(report['labels']) - len(report['new_labels'])} genres, clean and in simulated rooms) plus this class's own clips.
New labels: {new}.

## What it saw
| label | class clips |
|---|---|
{clips}

Class clips (name, label, sha256 of the decoded audio) are listed in the checkpoint's metadata.
Each class clip was used clean and as {ROOM_COPIES} simulated noisy-classroom recording(s); each counts
{CLASS_CLIP_WEIGHT:g} times as much as one clip of the base data. Seed {report['seed']}.

## How well it does on the class's clips
{report['split']}: accuracy {after['accuracy']:.0%} ({lo:.0%}-{hi:.0%}, 95% interval, {after['n']} clips),
against {before['accuracy']:.0%} for the default model on the same clips (the default model cannot
name a new label). {len(report['changed'])} clip(s) changed verdict. With so few clips, these numbers are
rough, and the clips come from one classroom: they say little about music elsewhere.

## Limits
Calibrated on the class's clips (temperature {report['temperature']}); the quality layer and the
"cannot judge" rules are the default model's. Not for judging music or musicians.

## Licence
{' '.join(licences)}
"""
