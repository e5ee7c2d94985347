"""The real-data benchmark's pieces that need no data: segments, intervals, the skip, the report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from benchmarks import real_sample


def test_segments_from_coverage(tmp_path: Path) -> None:
    cov = tmp_path / "coverage.csv"
    cov.write_text(
        "SK_ID_CURR,is_train,bureau_complete,bureau_balance_complete,credit_card_complete,"
        "previous_application_complete,POS_CASH_complete\n"
        "1,true,true,true,true,true,true\n"
        "2,true,true,true,true,false,false\n"
        "3,true,false,false,false,false,false\n"
        "4,true,true,false,true,false,false\n",
        encoding="utf-8",
    )
    seg = real_sample.segments(np.array([1, 2, 3, 4, 5]), cov)
    assert list(seg) == ["complete", "bureau_covered", "unknown", "unknown", "unknown"]


def test_corrected_interval_is_wider_than_the_naive_one() -> None:
    rng = np.random.default_rng(0)
    diffs = list(0.004 + 0.003 * rng.standard_normal(15))
    mean, low, high = real_sample.corrected_interval(diffs, 4, 1)
    assert math.isclose(mean, float(np.mean(diffs)))
    naive = 2.145 * np.std(diffs, ddof=1) / math.sqrt(15)
    assert high - low > 2 * naive * 1.5  # sqrt(1/15 + 1/4) / sqrt(1/15) = 2.2
    assert low < mean < high
    assert math.isnan(real_sample.corrected_interval([0.01], 4, 1)[1])


def test_skips_with_a_message_without_the_sample(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CREDIT_REAL_SAMPLE_DIR", str(tmp_path / "absent"))
    assert real_sample.main(["--home", str(tmp_path / "home")]) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "CREDIT_REAL_SAMPLE_DIR" in out
    assert not (tmp_path / "home").exists()


def test_report_and_model_card_read_the_result(tmp_path: Path) -> None:
    from training.documents.context import read_real_sample
    from training.documents.model_card import real_sample_lines

    assert read_real_sample(tmp_path) == {}
    cell = {
        m: {"champion": (0.75, 0.74, 0.76), "baseline": (0.74, 0.73, 0.75), "difference": (0.01, 0.0, 0.02)}
        for m in real_sample.METRICS
    }
    summary = {g: {"n": 100, **cell} for g in real_sample.GROUPS}
    meta = {
        "date": "2026-12-03",
        "commit": "abc",
        "machine": "m",
        "n": 500,
        "defaults": 40,
        "repeats": 3,
        "folds": 5,
        "seconds": 1.0,
        "thin_weight": 0.5,
    }
    js, md = real_sample.write_reports({"folds": [], "summary": summary}, meta, tmp_path)
    assert "thin-file simulation" in md.read_text(encoding="utf-8")
    assert json.loads(js.read_text(encoding="utf-8"))["meta"]["commit"] == "abc"
    read = read_real_sample(tmp_path)
    assert read["meta"]["commit"] == "abc"

    class C:
        real_sample = read

    lines = "\n".join(real_sample_lines(C()))
    assert "+0.0100 [+0.0000, +0.0200]" in lines and "thin-file simulation" in lines

    class Empty:
        real_sample: dict = {}

    assert "Not measured" in "\n".join(real_sample_lines(Empty()))
