"""Measure CPU time per 30 s clip again for saved models, on a quiet machine, and store it in
their eval_report.json and model card (training runs measure it at the end, when other work may
share the CPU).

    python -m train.speed weights/default weights/cnn ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from train.model_card import write_model_card
from train.report import cpu_seconds_per_30s_clip


def main(argv: list[str] | None = None) -> int:
    dirs = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not dirs:
        print(__doc__)
        return 2
    for model_dir in dirs:
        cpu_seconds_per_30s_clip(model_dir, repeats=1)  # warm-up: first-call allocations and caches
        seconds = cpu_seconds_per_30s_clip(model_dir, repeats=5)
        path = model_dir / "eval_report.json"
        report = json.loads(path.read_text())
        report["cpu_seconds_per_30s_clip"] = seconds
        path.write_text(json.dumps(report, indent=1))
        write_model_card(model_dir, report)
        print(f"{model_dir.name}: {seconds} s per 30 s clip")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
