"""Teach the model: a class's own labelled clips, with any labels (new genres included), on top of
the default model's training data; a new head fitted in seconds on the frozen musicnn embedding.

Used by the app's Teach page and by ``python -m train --arch musicnn-head --data FOLDER --base
default`` alike, so both make the same model from the same clips and seed. Three rooms:

- :mod:`.embed`: each class clip embedded once, clean and in simulated noisy rooms;
- :mod:`.fit`: the base model's training rows, the checks on labels and clips, fitting and
  cross-validating a class model;
- :mod:`.store`: class models on disk (save, export, import, list).
"""

from .embed import ROOM_COPIES, ClassClip, audio_key, embed_clip
from .fit import (CLASS_CLIP_WEIGHT, MIN_CLIPS_PER_LABEL, BaseData, TeachError, TeachResult, check_clips, check_label,
                  load_base, teach)
from .store import EXPORT_SUFFIX, check_model_name, class_model_info, export_model, import_model, save_class_model

__all__ = ["ROOM_COPIES", "ClassClip", "audio_key", "embed_clip", "CLASS_CLIP_WEIGHT", "MIN_CLIPS_PER_LABEL",
           "BaseData", "TeachError", "TeachResult", "check_clips", "check_label", "load_base", "teach",
           "EXPORT_SUFFIX", "check_model_name", "class_model_info", "export_model", "import_model", "save_class_model"]
