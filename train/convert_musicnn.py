"""Convert musicnn's TensorFlow checkpoint (from the ``musicnn==0.1.0`` wheel) to our PyTorch MusiCNN.

    pip download --no-deps musicnn==0.1.0 -d /tmp/musicnn
    python -m train.convert_musicnn /tmp/musicnn/musicnn-0.1.0-py3-none-any.whl --out build/msd_musicnn.safetensors

The wheel is a zip; we read ``musicnn/MSD_musicnn/.index`` and ``.data-00000-of-00001`` from it
with our own reader (train/tf_checkpoint.py), so neither TensorFlow nor musicnn is installed.
"""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from genre_model.models.musicnn import MusiCNN
from train.tf_checkpoint import read_checkpoint

MUSICNN_NOTICE = (
    "musicnn: Copyright (c) Music Technology Group, Universitat Pompeu Fabra 2019. Code developed by "
    "Jordi Pons (www.jordipons.me). Permission to use, copy, modify, and/or distribute this software for "
    "any purpose with or without fee is hereby granted, provided that the above copyright notice and this "
    "permission notice appear in all copies. (ISC licence; weights converted from musicnn==0.1.0.)"
)


def _bn(prefix: str, tf: dict[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    return {
        f"{prefix}.weight": tf[f"{name}/gamma"], f"{prefix}.bias": tf[f"{name}/beta"],
        f"{prefix}.running_mean": tf[f"{name}/moving_mean"], f"{prefix}.running_var": tf[f"{name}/moving_variance"],
    }


def tf_to_torch(tf: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Map musicnn's TF variable names (creation order in ``build_musicnn``) to MusiCNN's state dict."""
    out: dict[str, np.ndarray] = {}
    out.update(_bn("input_bn", tf, "batch_normalization"))
    conv2d = [f"{b}.{i}" for b in ("timbral", "temporal") for i in range(2 if b == "timbral" else 3)]
    for i, module in enumerate(conv2d):  # conv2d .. conv2d_4 and batch_normalization_1 .. _5
        name = f"conv2d_{i}" if i else "conv2d"
        out[f"{module}.conv.weight"] = tf[f"{name}/kernel"].transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
        out[f"{module}.conv.bias"] = tf[f"{name}/bias"]
        out.update(_bn(f"{module}.bn", tf, f"batch_normalization_{i + 1}"))
    for j in range(3):  # conv2d_5 .. _7: kernels (7, in, 1, out) spanning the whole feature axis
        k = tf[f"conv2d_{5 + j}/kernel"]
        out[f"midend.{j}.conv.weight"] = k[:, :, 0, :].transpose(2, 1, 0)  # -> (out, in, 7)
        out[f"midend.{j}.conv.bias"] = tf[f"conv2d_{5 + j}/bias"]
        out.update(_bn(f"midend.{j}.bn", tf, f"batch_normalization_{6 + j}"))
    out.update(_bn("pool_bn", tf, "batch_normalization_9"))
    out["dense.weight"], out["dense.bias"] = tf["dense/kernel"].T, tf["dense/bias"]
    out.update(_bn("dense_bn", tf, "batch_normalization_10"))
    out["tags.weight"], out["tags.bias"] = tf["dense_1/kernel"].T, tf["dense_1/bias"]
    return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in out.items()}


def load_musicnn_from_wheel(wheel: str | Path, model: str = "MSD_musicnn") -> MusiCNN:
    """Build a MusiCNN with the weights of ``model`` read from the musicnn wheel (or an unpacked folder)."""
    wheel = Path(wheel)
    with tempfile.TemporaryDirectory() as tmp:
        if wheel.is_dir():
            prefix = f"{wheel / 'musicnn' / model}/"
        else:
            with zipfile.ZipFile(wheel) as zf:
                for suffix in (".index", ".data-00000-of-00001"):
                    zf.extract(f"musicnn/{model}/{suffix}", tmp)
            prefix = f"{Path(tmp) / 'musicnn' / model}/"
        tf = read_checkpoint(prefix)
    net = MusiCNN()
    state = tf_to_torch(tf)
    missing, unexpected = net.load_state_dict(state, strict=False)
    # BatchNorm's num_batches_tracked has no TF counterpart and is unused in eval mode.
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"conversion incomplete: missing {missing}, unexpected {unexpected}")
    return net.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", help="musicnn-0.1.0-py3-none-any.whl or its unpacked folder")
    parser.add_argument("--model", default="MSD_musicnn", choices=["MSD_musicnn", "MTT_musicnn"])
    parser.add_argument("--out", required=True, help="output .safetensors file (backbone only)")
    args = parser.parse_args(argv)
    net = load_musicnn_from_wheel(args.wheel, args.model)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, args.out,
              metadata={"source": f"musicnn==0.1.0 {args.model}", "licence": MUSICNN_NOTICE})
    print(f"wrote {args.out} ({sum(p.numel() for p in net.parameters()):,} parameters)")


if __name__ == "__main__":
    main()
