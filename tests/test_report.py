"""The model directory and its typed report: every shipped report loads as typed records, a report
written and read back is equal, and the architecture registry is the one list of architectures."""

from __future__ import annotations

import json

import pytest

from genre_model.checkpoint import WEIGHTS_ROOT, available_models, read_info
from genre_model.judgement import Rules
from genre_model.model_dir import REPORT_FILE, ModelDir
from genre_model.models import REGISTRY
from genre_model.report import EvalReport, Metrics, Results
from train.__main__ import build_parser

SHIPPED = available_models()


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_report_loads_as_typed_records(name):
    raw = json.loads((WEIGHTS_ROOT / name / REPORT_FILE).read_text())
    report = ModelDir(WEIGHTS_ROOT / name).read_report()
    clean = report.metrics.clean
    assert clean.accuracy == raw["metrics"]["clean"]["accuracy"] and clean.n == len(report.clips)
    assert set(clean.per_genre) == set(report.labels) and len(clean.confusion) == len(report.labels)
    assert report.judgement.rules == Rules.from_dict(raw["judgement"]["rules"])
    assert report.judgement.rules == Rules.from_dict(read_info(WEIGHTS_ROOT / name).judgement)  # what the app judges with
    first = report.clips[0]
    assert first.label in report.labels and len(first.probabilities) == len(report.labels)
    for condition, heard in (first.conditions or {}).items():
        assert heard.predicted in report.labels and heard.flags.keys() >= {"unsure", "any"}, condition
    # nothing is lost when a report is rewritten (rules written before a limit existed gain its default)
    rewritten, expected = report.to_dict(), json.loads(json.dumps(raw))
    for r in [expected["judgement"]] + list(expected["evaluations"].values()):
        r["rules"] = Rules.from_dict(r["rules"]).to_dict()
    assert rewritten == expected


@pytest.mark.parametrize("name", SHIPPED)
def test_a_report_written_and_read_back_is_equal(name, tmp_path):
    report = ModelDir(WEIGHTS_ROOT / name).read_report()
    out = ModelDir(tmp_path / name)
    out.write_report(report)
    assert out.read_report() == report
    assert [p.name for p in out.path.iterdir()] == [REPORT_FILE]  # written atomically: no temporary file left


def test_a_report_made_in_code_round_trips_and_leaves_absent_fields_out():
    m = Metrics(n=3, accuracy=2 / 3, accuracy_ci95=[0.2, 0.94], macro_f1=0.5)
    report = EvalReport(model="m", arch="cnn", labels=["a", "b"], split="test", metrics=Results({"clean": m}),
                        extra={"something_new": [1, 2]})
    data = report.to_dict()
    assert "kind" not in data and "per_genre" not in data["metrics"]["clean"] and data["something_new"] == [1, 2]
    assert EvalReport.from_dict(json.loads(json.dumps(data))) == report


def test_the_registry_lists_every_architecture_train_offers():
    parser = build_parser()
    arch = next(a for a in parser._actions if a.dest == "arch")
    assert list(arch.choices) == list(REGISTRY)
    text = parser.format_help()
    for name, entry in REGISTRY.items():
        assert f"{name}:" in text
        assert entry.chunk_seconds >= entry.hop_seconds > 0
        assert entry.feature in ("log-mel", "mfcc5", "tabular")
    for name in SHIPPED:  # every shipped model is an architecture the registry knows
        info = read_info(WEIGHTS_ROOT / name)
        assert info.arch in REGISTRY and info.feature_kind == REGISTRY[info.arch].feature
