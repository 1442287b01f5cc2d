"""The user's own labelled clips: a SQLite database in the user's data folder (never in the repo).

WAL journal and one transaction per write, so a killed app never leaves a half-written row; a
damaged file is reported (CollectionError), never silently replaced.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import soundfile as sf

from genre_model.audio import AudioClip
from genre_model.predict import Prediction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clips (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    label TEXT NOT NULL,
    predicted TEXT NOT NULL,
    model TEXT NOT NULL,
    prediction TEXT NOT NULL,
    audio BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS teach_embeddings (
    sha256 TEXT NOT NULL,
    model TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (sha256, model)
)"""


class CollectionError(Exception):
    pass


def default_path() -> Path:
    if os.environ.get("GENRE_COLLECTION"):
        return Path(os.environ["GENRE_COLLECTION"])
    from platformdirs import user_data_dir
    return Path(user_data_dir("genre-demo")) / "collection.sqlite"


class Collection:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(self._connect()) as db:
                if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("integrity check failed")
                db.execute("PRAGMA journal_mode=WAL")
                with db:
                    db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise CollectionError(
                f"The labelled-clip collection at {self.path} is damaged ({exc}). It was left untouched: "
                "move it away (or set GENRE_COLLECTION to another file) to start a new one.") from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, *, name: str, label: str, clip: AudioClip, prediction: Prediction, sha256: str) -> int:
        buf = io.BytesIO()
        sf.write(buf, clip.samples, clip.sample_rate, format="FLAC")
        with closing(self._connect()) as db, db:
            cur = db.execute(
                "INSERT INTO clips (created, name, sha256, label, predicted, model, prediction, audio) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), name, sha256, label, prediction.genre(), prediction.model,
                 json.dumps(prediction.to_dict()), buf.getvalue()))
            return int(cur.lastrowid)

    def clips(self) -> list[dict]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT id, created, name, sha256, label, predicted, model, prediction FROM clips "
                              "ORDER BY id").fetchall()
        return [{"id": r[0], "created": r[1], "name": r[2], "sha256": r[3], "label": r[4], "predicted": r[5],
                 "model": r[6], "prediction": json.loads(r[7])} for r in rows]

    def audio(self, clip_id: int) -> bytes:
        with closing(self._connect()) as db:
            row = db.execute("SELECT audio FROM clips WHERE id = ?", (clip_id,)).fetchone()
        if row is None:
            raise KeyError(clip_id)
        return bytes(row[0])

    def delete(self, clip_id: int) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM clips WHERE id = ?", (clip_id,))

    def find(self, sha256: str) -> dict | None:
        """The clip with this content hash, if the collection has it."""
        return next((c for c in self.clips() if c["sha256"] == sha256), None)

    def embeddings(self, sha256: str, model: str) -> dict[str, np.ndarray] | None:
        """Teach-page embeddings of a clip for a base model (see genre_model.teach), if stored."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT data FROM teach_embeddings WHERE sha256 = ? AND model = ?",
                             (sha256, model)).fetchone()
        if row is None:
            return None
        with np.load(io.BytesIO(row[0])) as d:
            return {k: d[k] for k in d.files}

    def put_embeddings(self, sha256: str, model: str, arrays: dict[str, np.ndarray]) -> None:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        with closing(self._connect()) as db, db:
            db.execute("INSERT OR REPLACE INTO teach_embeddings (sha256, model, data) VALUES (?, ?, ?)",
                       (sha256, model, buf.getvalue()))

    def export_folder_zip(self) -> bytes:
        """Every clip as ``<label>/<id>-<name>.flac`` in a zip: a dataset folder ``python -m train``
        reads (``--data``), e.g. to make the Teach page's model from the command line."""
        import zipfile
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            for c in self.clips():
                stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in c["name"].rsplit(".", 1)[0])[:40]
                zf.writestr(f"{c['label']}/{c['id']:05d}-{stem}.flac", self.audio(c["id"]))
        return buf.getvalue()

    def export_json(self) -> str:
        """Every clip's label and prediction (no audio) as JSON."""
        return json.dumps({"collection": str(self.path), "clips": self.clips()}, indent=1)
