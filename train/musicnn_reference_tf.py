# One-off: the original musicnn (TensorFlow) on real and generated audio; writes ref.json.
import sys, json, glob, numpy as np
sys.path.insert(0, '/tmp/mnn/wheel')
from musicnn.extractor import extractor
files = sorted(glob.glob('/work/shared/data/gtzan_excerpts/*/*.00000.wav')) + sorted(glob.glob('/tmp/tfref/synth_*.wav'))
out = {}
for f in files:
    taggram, tags, feats = extractor(f, model='MSD_musicnn', input_length=3, input_overlap=False, extract_features=True)
    out[f] = {'taggram': taggram.tolist(), 'penultimate': feats['penultimate'].tolist()}
    print(f, taggram.shape, flush=True)
json.dump(out, open('/tmp/tfref/ref.json', 'w'))
