"""The Teach page: the class labels its own clips (any of the ten genres or new ones), trains a
new model on top of the default one in seconds, sees what changed, and saves it as a model.

All fitting is genre_model.teach (the same code ``python -m train --base default`` runs); this
module only gathers clips, shows results and manages the class models on disk.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import streamlit as st

from genre_model import plots, teach
from genre_model.audio import SUPPORTED_HINT, load_audio
from genre_model.checkpoint import available_models, class_models, user_models_root
from genre_model.errors import AudioError, GenreModelError
from webapp import analysis
from webapp.collection import Collection, CollectionError
from webapp.ui import classifier, gtzan, settings, show, upload_limit_note

BASE = "default"
NEW_LABEL = "New label…"
_TRAIN_LOCK = threading.Lock()  # one training at a time per server: two classes queue, they do not halve speed


def _base_key() -> str:
    """Which base model the stored embeddings belong to: its training data and spectrogram settings
    (the backbone is the fixed musicnn), so a retrained default re-embeds the clips once."""
    info = classifier(BASE).info
    return f"{BASE}:{info.training_data.get('fingerprint', '')[:16]}:{info.features}"


def _embedding_of(coll: Collection, row: dict) -> teach.ClassClip:
    """A collection clip's Teach embeddings: stored, or computed from its stored audio (so the
    app embeds exactly what an exported folder gives ``python -m train``)."""
    key = _base_key()
    arrays = coll.embeddings(row["sha256"], key)
    if arrays is None:
        clf = classifier(BASE)
        samples = load_audio(coll.audio(row["id"]), sample_rate=clf.sample_rate).samples
        clip = teach.embed_clip(clf.model, clf.info, samples, name=row["name"], label=row["label"])
        coll.put_embeddings(row["sha256"], key, clip.to_arrays() | {"key": clip.key})
        return clip
    return teach.ClassClip.from_arrays(str(arrays["key"]), row["name"], row["label"], arrays)


def _label_picker(prefix: str, labels: list[str]) -> str | None:
    c1, c2 = st.columns([1, 1])
    choice = c1.selectbox("Label", labels + [NEW_LABEL], key=f"{prefix}_label")
    if choice == NEW_LABEL:
        return c2.text_input("New label", key=f"{prefix}_new_label", placeholder="e.g. k-pop, school band") or ""
    return choice


def _add(coll: Collection, name: str, data: bytes, label: str, known: list[str]) -> tuple[str, str]:
    """Decode, check, store and embed one clip; returns what to tell the user (kind, message)."""
    s = settings()
    try:
        label = teach.check_label(label, reserved=set(known))
        clf = classifier(BASE)
        sha, clip = analysis.decode(clf, data, max_seconds=s.max_seconds)
        found = coll.find(sha)
        if found:
            return "warning", f"{name}: this clip is already in the collection as “{found['name']}” ({found['label']})."
        pred = analysis.analyse(clf, name, data, chunk_seconds=clf.info.chunk_seconds, hop_seconds=clf.info.hop_seconds,
                                max_seconds=s.max_seconds).prediction
        clip_id = coll.add(name=name, label=label, clip=clip, prediction=pred, sha256=sha)
        _embedding_of(coll, next(r for r in coll.clips() if r["id"] == clip_id))
        return "success", f"Added {name} as “{label}”."
    except AudioError as exc:
        return "error", f"{name}: {exc.message}"
    except (teach.TeachError, CollectionError) as exc:
        return "error", f"{name}: {exc}"


def _added(messages: list[tuple[str, str]]) -> None:
    """Keep the messages for the next run and start it with empty inputs (the clips are in)."""
    st.session_state["teach_messages"] = messages
    st.session_state["teach_round"] = st.session_state.get("teach_round", 0) + 1
    st.rerun()


def _inputs(coll: Collection, known: list[str]) -> None:
    st.subheader("1. Add labelled clips")
    st.caption(f"At least {teach.MIN_CLIPS_PER_LABEL} clips per label, a few seconds to a minute each. A label can be "
               "one of the ten genres (to correct the model) or a new genre the class names. Clips you labelled on "
               "the Classify page are here too.")
    for kind, message in st.session_state.pop("teach_messages", []):
        getattr(st, kind)(message)
    round_ = st.session_state.get("teach_round", 0)  # a new round gives fresh, empty inputs
    left, right = st.columns(2, gap="large")  # side by side: tabs would jump back after each add
    with left:
        st.markdown("**Record**")
        label = _label_picker("rec", known)
        rec = st.audio_input("Record a clip", sample_rate=44100, key=f"teach_audio_input_{round_}")
        if rec is not None and st.button("Add this recording", key="teach_add_rec"):
            _added([_add(coll, f"recording-{time.strftime('%H%M%S')}.wav", rec.getvalue(), label or "", known)])
    with right:
        st.markdown("**Upload**")
        label = _label_picker("up", known)
        files = st.file_uploader(f"Audio files ({SUPPORTED_HINT})", accept_multiple_files=True,
                                 key=f"teach_uploads_{round_}", type=["wav", "mp3", "ogg", "flac", "au", "m4a", "aac"])
        st.caption(upload_limit_note())
        if files and st.button(f"Add {len(files)} file(s)", key="teach_add_files"):
            with st.spinner("Adding..."):
                _added([_add(coll, f.name, f.getvalue(), label or "", known) for f in files])
    _from_gtzan(coll, known)


def _from_gtzan(coll: Collection, known: list[str]) -> None:
    """Clips of the teacher's GTZAN folder, labelled with their GTZAN genre."""
    folder = gtzan(settings())
    with st.expander("Add clips from your GTZAN folder"):
        if folder is None:
            st.info("Set the **GTZAN folder** in the sidebar (where you downloaded GTZAN; see the README).")
            return
        genre = st.selectbox("Genre", folder.genres, key="teach_gtzan_genre")
        ids = st.multiselect("Clips", [i for i in sorted(folder.clips) if i.startswith(genre + ".")],
                             key=f"teach_gtzan_ids_{st.session_state.get('teach_round', 0)}")
        if ids and st.button(f"Add {len(ids)} clip(s) as “{genre}”", key="teach_add_gtzan"):
            with st.spinner("Adding..."):
                _added([_add(coll, folder.clips[i][0].name, folder.clips[i][0].read_bytes(), genre, known)
                        for i in ids])


def _clip_list(coll: Collection, rows: list[dict]) -> None:
    st.subheader("2. The class's clips")
    if not rows:
        st.info("No clips yet.")
        return
    counts = {}
    for r in rows:
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    st.dataframe([{"label": l, "clips": n, "ready": "yes" if n >= teach.MIN_CLIPS_PER_LABEL else
                   f"needs {teach.MIN_CLIPS_PER_LABEL - n} more"} for l, n in sorted(counts.items())],
                 hide_index=True, width="stretch")
    for label in sorted(counts):
        with st.expander(f"{label} ({counts[label]})"):
            for r in [r for r in rows if r["label"] == label]:
                c1, c2, c3 = st.columns([3, 4, 1])
                c1.markdown(f"**{r['name']}**  \nmodel said: {r['predicted']}")
                c2.audio(coll.audio(r["id"]), format="audio/flac")
                if c3.button("Remove", key=f"teach_remove_{r['id']}"):
                    coll.delete(r["id"])
                    st.rerun()


def _train(coll: Collection, rows: list[dict]) -> None:
    st.subheader("3. Train and compare")
    if st.button("Train a class model", type="primary", key="teach_train"):
        clf = classifier(BASE)
        try:
            with st.spinner("Embedding the clips and training (a few seconds)..."):
                clips = [_embedding_of(coll, r) for r in rows]
                base = teach.load_base(clf.model_dir)
                with _TRAIN_LOCK:
                    result = teach.teach(clf.model, clf.info, base, clips)
        except (teach.TeachError, GenreModelError) as exc:
            st.error(str(exc))
            return
        st.session_state["teach_result"] = result
    result = st.session_state.get("teach_result")
    if result is None:
        return
    r = result.report
    after, before = r.metrics.get("after"), r.metrics.get("before")
    c1, c2, c3 = st.columns(3)
    c1.metric("Class model", f"{after.accuracy:.0%}", help=f"95% interval {after.accuracy_ci95[0]:.0%}-"
                                                         f"{after.accuracy_ci95[1]:.0%}")
    c2.metric("Default model", f"{before.accuracy:.0%}", delta=None)
    c3.metric("Changed verdicts", len(result.changed))
    st.caption(f"{r.split}. Accuracy on the class's own clips, each scored by a model that did not see it. "
               f"Trained and evaluated in {r.timings_s['train_and_evaluate']:.1f} s."
               + (f" New labels: {', '.join(result.new_labels)} (the default model cannot name them)."
                  if result.new_labels else ""))
    s = settings()
    # only the labels the class's clips have or were given: ten empty rows help nobody
    used = [i for i, row in enumerate(after.confusion) if sum(row) or sum(r2[i] for r2 in after.confusion)]
    cm = [[after.confusion[i][j] for j in used] for i in used]
    show(lambda: plots.confusion(cm, [r.labels[i] for i in used], title="Class model, cross-validated (rows: true)",
                                 scale=s.scale))
    if result.changed:
        st.markdown("**Clips whose verdict changed**")
        st.dataframe([{"clip": c["name"], "label": c["label"], "default model": c["before"], "class model": c["after"],
                       "now right": "yes" if c["after"] == c["label"] else "no"} for c in result.changed],
                     hide_index=True, width="stretch")
    _save(result)


def _save(result: teach.TeachResult) -> None:
    st.subheader("4. Save it as a model")
    name = st.text_input("Model name", key="teach_model_name", placeholder="e.g. class-7b")
    replace = st.checkbox("Replace the class model of that name if there is one", key="teach_replace")
    if st.button("Save", key="teach_save"):
        try:
            target = save_class_model(result, name, replace=replace)
        except teach.TeachError as exc:
            st.error(str(exc))
            return
        st.session_state["select_model"] = target.name  # the sidebar picks it up on the next run
        st.success(f"Saved as “{target.name}”; it is now selected in the sidebar and listed on Compare and Explore.")


def save_class_model(result: teach.TeachResult, name: str, *, replace: bool = False) -> Path:
    """Save the class model under ``name`` in the user's models folder (staged, then swapped in)."""
    name = teach.check_model_name(name, reserved=set(available_models()))
    return teach.save_class_model(result, user_models_root() / name, replace=replace)


def _manage() -> None:
    st.subheader("Class models on this computer")
    names = class_models()
    if not names:
        st.caption(f"None yet. They are kept in {user_models_root()} (GENRE_MODELS_DIR to move them), never in weights/.")
    for name in names:
        info = teach.class_model_info(user_models_root() / name)
        c1, c2, c3 = st.columns([4, 2, 1])
        c1.markdown(f"**{name}** · labels: {', '.join(info['labels'])} · {info['clips']} class clips")
        c2.download_button("Export (one file)", teach.export_model(user_models_root() / name),
                           file_name=f"{name}{teach.EXPORT_SUFFIX}", mime="application/zip", key=f"export_{name}")
        if c3.button("Delete", key=f"delete_{name}"):
            shutil.rmtree(user_models_root() / name)
            if st.session_state.get("model") == name:
                st.session_state["select_model"] = BASE
            st.rerun()
    with st.expander("Import a model exported on another computer"):
        up = st.file_uploader("Exported model (.genre-model.zip)", type=["zip"], key="teach_import_file")
        new_name = st.text_input("Name for it here", key="teach_import_name")
        if up is not None and st.button("Import", key="teach_import"):
            try:
                user_models_root().mkdir(parents=True, exist_ok=True)
                teach.import_model(up.getvalue(), user_models_root(), new_name, reserved=set(available_models()))
                st.success(f"Imported “{new_name}”.")
            except teach.TeachError as exc:
                st.error(str(exc))
    try:
        coll_zip = Collection().export_folder_zip()
        st.download_button("Download the class's clips as a dataset folder (zip)", coll_zip,
                           file_name="class-clips.zip", mime="application/zip", key="teach_export_clips",
                           help="Unzip and run: python -m train --arch musicnn-head --base default --data FOLDER "
                                "--out MODEL_DIR (the same model as the Train button).")
    except CollectionError as exc:
        st.error(str(exc))


def run() -> None:
    st.title("Teach it your own music")
    st.markdown("Add clips with labels, train a class model on top of the default one in seconds, see what changed, "
                "and keep it as a model of your own.")
    try:
        coll = Collection()
        rows = coll.clips()
    except CollectionError as exc:
        st.error(str(exc))
        return
    known = sorted(set(classifier(BASE).labels) | {r["label"] for r in rows})
    _inputs(coll, known)
    rows = coll.clips()
    _clip_list(coll, rows)
    _train(coll, rows)
    _manage()
