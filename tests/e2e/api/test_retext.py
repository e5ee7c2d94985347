"""New reason texts without retraining: `python -m training retext` moves @champion, the API shows them.

Runs after the other API tests (it changes the champion's texts for the rest of the session).
"""

from __future__ import annotations

import sys
import time

import yaml

from tests.e2e.api.conftest import Pipeline, Server, run
from training import reason_codes


def test_retext_ships_an_edited_text_to_the_running_api(server: Server, pipeline: Pipeline, tmp_path) -> None:
    with server.client() as client:
        before = client.get("/v1/model").json()
        applicant = next(
            i for i in range(100000, 100600) if client.get(f"/v1/applicants/{i}/score").status_code == 200
        )
        scored = client.get(f"/v1/applicants/{applicant}/score").json()
    reasons = scored["reasons"]
    target = next(r for r in reasons if r["feature_value"] is not None)
    codes = reason_codes.load_file()
    edited = dict(codes[target["feature"]])
    edited.update(
        edited=True,
        fr="Texte relu par l'équipe risques : {value}",
        en="Text reviewed by the risk team: {value}",
    )
    codes[target["feature"]] = edited
    path = tmp_path / "codes.yaml"
    path.write_text(yaml.safe_dump(codes, allow_unicode=True), encoding="utf-8")
    out = run([sys.executable, "-m", "training", "retext", "--codes", str(path)], pipeline.env)
    assert "texts only" in out
    deadline = time.monotonic() + 60
    with server.client() as client:
        while time.monotonic() < deadline:
            model = client.get("/v1/model").json()
            if model["version"] != before["version"]:
                break
            time.sleep(0.3)
        assert model["version"] != before["version"] and model["threshold"] == before["threshold"]
        after = client.get(f"/v1/applicants/{applicant}/score").json()
    texts = {r["feature"]: r["text_fr"] for r in after["reasons"]}
    assert texts[target["feature"]].startswith("Texte relu par l'équipe risques : ")
    assert after["model"]["version"] == model["version"]
    assert after["probability"] == scored["probability"]  # the same boosters and calibrator
    # nothing to do a second time
    assert "nothing registered" in run(
        [sys.executable, "-m", "training", "retext", "--codes", str(path)], pipeline.env
    )
