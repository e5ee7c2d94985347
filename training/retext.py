"""`python -m training retext`: ship new reason texts without retraining.

The texts travel inside the registered model (its bundle's model.json), so a model version's
reasons never change after registration. To ship edited texts, this registers a new version with
the champion's own boosters, calibrator and decision rules and the current texts
(training/reason_codes.yaml, or `--codes FILE`), checks that it scores exactly as the champion,
and moves `@champion` to it with the reason "texts only". Nothing is registered when the texts
are the same.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training import reason_codes
from training.credit_model import CreditDefaultModel
from warehouse.config import REPO_ROOT
from warehouse.errors import UserError

MODEL_CODE = Path(__file__).with_name("credit_model.py")


@dataclass
class Retext:
    from_version: str
    version: str | None  # None: the texts were already those
    changed: int


def retext(cfg, codes_path: Path | None = None, say=print) -> Retext:  # noqa: ANN001 - TrainConfig
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from training import tracking
    from warehouse.config import get_settings

    settings = get_settings()
    tracking.setup(settings.mlflow_tracking_uri, settings.mlflow_dir, cfg.experiment)
    champion = tracking.current_champion(cfg.register_name)
    if champion is None:
        raise UserError(f"no {cfg.register_name}@champion yet: run `python -m training train` first")
    client = MlflowClient()
    with tempfile.TemporaryDirectory(prefix="credit-retext-") as tmp:
        local = Path(
            mlflow.artifacts.download_artifacts(f"models:/{cfg.register_name}@champion", dst_path=tmp)
        )
        source = next(local.rglob("model.json")).parent
        bundle = Path(tmp) / "bundle"
        shutil.copytree(source, bundle)
        meta = json.loads((bundle / "model.json").read_text(encoding="utf-8"))
        features = list(meta["features"])
        codes = reason_codes.build(
            features,
            reason_codes.descriptions_from_dbt(REPO_ROOT / "dbt_project"),
            path=codes_path or reason_codes.REASON_CODES_PATH,
        )
        changed = sum(1 for f in features if codes.get(f) != meta["reason_codes"].get(f))
        if not changed:
            say(f"the texts of version {champion.version} are already these: nothing registered")
            return Retext(str(champion.version), None, 0)
        old = CreditDefaultModel.from_bundle(bundle)
        meta["reason_codes"] = codes
        meta["retext_of"] = str(champion.version)
        (bundle / "model.json").write_text(json.dumps(meta, indent=1, default=float), encoding="utf-8")
        new = CreditDefaultModel.from_bundle(bundle)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(64, len(features))).astype(np.float32)
        X[rng.random(X.shape) < 0.3] = np.nan
        if not np.array_equal(old.contributions(X), new.contributions(X)):
            raise RuntimeError("the re-texted bundle scores differently from the champion")
        signature = ModelSignature(
            inputs=Schema([ColSpec("double", f, required=False) for f in features]),
            outputs=Schema([ColSpec("double", "probability")]),
        )
        reason = f"texts only: version {champion.version} with {changed} new reason text(s)"
        with mlflow.start_run(run_name="retext"):
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(MODEL_CODE),
                artifacts={"bundle": str(bundle)},
                signature=signature,
                registered_model_name=cfg.register_name,
            )
            mlflow.set_tags({"champion_decision": reason, "retext_of": str(champion.version)})
        version = str(info.registered_model_version)
        for key, value in (champion.tags or {}).items():
            client.set_model_version_tag(cfg.register_name, version, key, value)
        client.set_model_version_tag(cfg.register_name, version, "champion_decision", reason)
        client.set_model_version_tag(cfg.register_name, version, "retext_of", str(champion.version))
        client.set_registered_model_alias(cfg.register_name, tracking.ALIAS, version)
        say(f"version {version} is the champion: {reason}")
        return Retext(str(champion.version), version, changed)
