"""What the backbone hears: the 50 Million Song Dataset tags of MSD_musicnn's last layer, in plain
words, and which of them speak for a genre.

MSD_musicnn (Pons & Serra) was trained to predict the 50 most common Last.fm tags of the Million
Song Dataset; ``MSD_TAGS`` is that list, in the network's output order (``MSD_LABELS`` in the
musicnn 0.1.0 wheel's ``configuration.py``, ISC licence). The tag layer has heard far more artists
than our genre data ever will; the app shows its top tags so students can argue with the verdict.
"""

from __future__ import annotations

import numpy as np

MSD_TAGS = ('rock', 'pop', 'alternative', 'indie', 'electronic', 'female vocalists', 'dance', '00s',
            'alternative rock', 'jazz', 'beautiful', 'metal', 'chillout', 'male vocalists', 'classic rock', 'soul',
            'indie rock', 'Mellow', 'electronica', '80s', 'folk', '90s', 'chill', 'instrumental', 'punk', 'oldies',
            'blues', 'hard rock', 'ambient', 'acoustic', 'experimental', 'female vocalist', 'guitar', 'Hip-Hop', '70s',
            'party', 'country', 'easy listening', 'sexy', 'catchy', 'funk', 'electro', 'heavy metal',
            'Progressive rock', '60s', 'rnb', 'indie pop', 'sad', 'House', 'happy')
HEARS_K = 5


def plain(tag: str) -> str:
    """A tag as the app writes it ("Hip-Hop" -> "hip-hop", "Mellow" -> "mellow")."""
    return tag.lower()


def top_tags(scores: np.ndarray, k: int = HEARS_K) -> list[dict]:
    """The ``k`` best tags of tag probabilities ``scores [50]``, best first:
    ``[{"tag": "hard rock", "score": 0.24}, ...]`` (scores in [0, 1], rounded to 4 places)."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")[:k]
    return [{"tag": plain(MSD_TAGS[i]), "score": round(float(np.clip(scores[i], 0.0, 1.0)), 4)} for i in order]


def hears_text(hears: list[dict]) -> str:
    """``"rock, hard rock, 80s, guitar"``: the tags a clip's verdict can be argued with."""
    return ", ".join(h["tag"] for h in hears)


# Which tags speak for which genre: the zero-shot evidence the default model weighs against its
# head (how much, per genre, is fitted on held-out artists: train/evaluation.fit_calibration).
# Classical and reggae have no tag among the 50 and rely on the head alone.
GENRE_TAGS = {
    "blues": ("blues",),
    "country": ("country",),
    "disco": ("dance", "funk"),
    "hiphop": ("Hip-Hop", "rnb"),
    "jazz": ("jazz",),
    "metal": ("metal", "heavy metal"),
    "pop": ("pop", "indie pop"),
    "rock": ("rock", "classic rock", "hard rock", "alternative rock", "indie rock", "punk", "Progressive rock",
             "alternative"),
}
_FLOOR = 1e-3  # the smallest zero-shot score: a genre none of whose tags fire is unlikely, not impossible


def tag_matrix(labels: list[str]) -> np.ndarray:
    """``[n_labels, 50]``: 1 where a tag speaks for a label (rows of labels without tags are zero)."""
    m = np.zeros((len(labels), len(MSD_TAGS)), dtype=np.float32)
    for i, label in enumerate(labels):
        for tag in GENRE_TAGS.get(label, ()):
            m[i, MSD_TAGS.index(tag)] = 1.0
    return m


def zero_shot(tags, matrix):
    """Log zero-shot score per label from tag probabilities ``tags [N, 50]`` (numpy or torch): the
    probability that any of the label's tags applies (noisy-or), floored; 0 for labels without tags."""
    import torch
    t = torch.as_tensor(tags, dtype=torch.float32)
    m = torch.as_tensor(matrix, dtype=torch.float32)
    miss = torch.exp(torch.log1p(-t.clamp(0, 1 - 1e-6)) @ m.T)   # prod over the label's tags of (1 - p)
    score = torch.where(m.sum(dim=1) > 0, torch.log((1 - miss).clamp_min(_FLOOR)), torch.zeros_like(miss))
    return score if isinstance(tags, torch.Tensor) else score.numpy()
