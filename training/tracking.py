"""MLflow plumbing: the tracking store under CREDIT_HOME, the registry and the champion alias."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ALIAS = "champion"


def setup(tracking_uri: str, mlflow_dir: Path, experiment: str) -> str:
    """Point MLflow at the store (SQLite + artifacts under CREDIT_HOME); return the experiment id."""
    import mlflow

    mlflow_dir.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        exp_id = mlflow.create_experiment(experiment, artifact_location=(mlflow_dir / "artifacts").as_uri())
    else:
        exp_id = found.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def champion_uri(name: str) -> str:
    return f"models:/{name}@{ALIAS}"


def current_champion(name: str):
    """The model version holding the alias, or None."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient().get_model_version_by_alias(name, ALIAS)
    except MlflowException:
        return None


def load_core(uri: str):
    """Load a registered model and return its CreditDefaultModel (the pyfunc's python model)."""
    import mlflow

    return mlflow.pyfunc.load_model(uri).unwrap_python_model()


def is_feature_mismatch(exc: BaseException) -> bool:
    """A FeatureMismatchError raised by a loaded model's own code (its class lives in the model)."""
    return any(cls.__name__ == "FeatureMismatchError" for cls in type(exc).__mro__)


@dataclass(frozen=True)
class ChampionDecision:
    promote: bool
    reason: str
    challenger_auc: float
    champion_auc: float | None
    champion_version: str | None


def decide(
    name: str,
    challenger_holdout_auc: float,
    score_holdout,  # callable(core) -> AUC of that model on the challenger's holdout rows
    mart_features: list[str],
    min_gain: float = 0.0,
) -> ChampionDecision:
    """Does the challenger take the alias? Only if it beats the champion on the challenger's holdout,
    or the champion's features no longer match the mart (reason given either way)."""
    current = current_champion(name)
    if current is None:
        return ChampionDecision(True, "no champion yet", challenger_holdout_auc, None, None)
    core = load_core(f"models:/{name}/{current.version}")
    try:
        core.check_features(mart_features)
    except ValueError as exc:
        if not is_feature_mismatch(exc):
            raise
        return ChampionDecision(
            True,
            f"champion v{current.version} replaced: its features no longer match the mart ({exc})",
            challenger_holdout_auc,
            None,
            current.version,
        )
    champ_auc = float(score_holdout(core))
    if challenger_holdout_auc > champ_auc + min_gain:
        reason = (
            f"challenger holdout AUC {challenger_holdout_auc:.4f} beats champion v{current.version} "
            f"{champ_auc:.4f} on the same rows"
        )
        return ChampionDecision(True, reason, challenger_holdout_auc, champ_auc, current.version)
    reason = (
        f"champion v{current.version} kept: holdout AUC {champ_auc:.4f} vs challenger "
        f"{challenger_holdout_auc:.4f} (needs > +{min_gain})"
    )
    return ChampionDecision(False, reason, challenger_holdout_auc, champ_auc, current.version)
