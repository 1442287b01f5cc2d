"""One-off: run the ORIGINAL musicnn (TensorFlow) to produce reference outputs for the port check.

Not part of the project's dependencies. Run it in a throwaway environment:

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.* tf-keras==2.21.* librosa soundfile
    pip download --no-deps musicnn==0.1.0 -d /tmp/mnn && unzip -q /tmp/mnn/musicnn-0.1.0-py3-none-any.whl -d /tmp/mnn/wheel
    TF_USE_LEGACY_KERAS=1 /tmp/tfvenv/bin/python train/musicnn_reference_tf.py --musicnn /tmp/mnn/wheel \\
        --out /tmp/ref.json ../shared/data/gtzan_excerpts/*/*.00000.wav /tmp/synth_*.wav

musicnn's extractor computes ``np.log10(10000 * spectrogram_float16 + 1)``. NumPy 1.x promoted
that product to float32; NumPy 2 keeps float16, which overflows to infinity on loud audio and
breaks the outputs. We patch that single line to compute it in float32 (as NumPy 1.x did) before
running. The extractor also re-appends the first batch's 'penultimate' features for later
batches (a stale variable), so only patch 0's embedding is a valid reference.

Outputs were converted into tests/fixtures/musicnn_reference.json (taggram per patch, patch 0
embedding) and the synthetic clips' recipes (genre_model.synth) were recorded next to them.
"""

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--musicnn", required=True, help="the unpacked musicnn 0.1.0 wheel")
    parser.add_argument("--out", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    extractor_py = Path(args.musicnn) / "musicnn" / "extractor.py"
    source = extractor_py.read_text()
    patched = source.replace("audio_rep = np.log10(10000 * audio_rep + 1)",
                             "audio_rep = np.log10(10000 * audio_rep.astype(np.float32) + 1)")
    extractor_py.write_text(patched)
    sys.path.insert(0, args.musicnn)
    from musicnn.extractor import extractor

    out = {}
    for f in args.files:
        taggram, _, feats = extractor(f, model="MSD_musicnn", input_length=3, input_overlap=False, extract_features=True)
        out[f] = {"taggram": taggram.tolist(), "penultimate": feats["penultimate"].tolist()}
    Path(args.out).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
