"""The end of `make demo`: a short summary, not the browser check's JSON."""

from __future__ import annotations

import json

from warehouse.config import Settings
from warehouse.demo_summary import demo_summary


def test_summary_names_services_logins_documents_and_times(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    (reports / "superset").mkdir(parents=True)
    (reports / "methodology.pdf").write_bytes(b"x" * 2048)
    (reports / "superset" / "portfolio.png").write_bytes(b"png")
    browse = {"dashboards": {"portfolio": {"wall_s": 3.2, "errors": [], "charts": [{"x": 1}] * 500}}}
    (reports / "superset" / "browse.json").write_text(json.dumps(browse))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "demo_times.txt").write_text(
        "pipeline (load to publish) 412\nAPI up 6\nbroken line\n"
    )
    settings = Settings(home=tmp_path, reports_dir=reports)
    text = demo_summary(settings)
    assert "http://127.0.0.1:8000/docs" in text and "http://127.0.0.1:8088/" in text
    assert "admin / admin" in text and "methodology.pdf" in text and "2.0 kB" in text
    assert "1 dashboard screenshots" in text and "0 chart errors, slowest 3.2 s" in text
    assert "pipeline (load to publish)" in text and "412 s" in text and "418 s" in text  # the total
    assert "no published warehouse" in text
    assert len(text) < 3000  # a screen, not 45 kB of JSON
