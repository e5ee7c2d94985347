"""The champion: find the version holding the alias, load the registered model's own code and bundle.

The registered model (training's only interface to serving) carries its code (`credit_model.py`,
logged as MLflow "model code") and its bundle (LightGBM booster + calibrator + decision rules +
reason codes). Loading it through `mlflow.pyfunc.load_model` costs seconds of imports, so the
light path reads the alias from the registry's own tables (the SQLite store, or the PostgreSQL
backend store of the production stack, with one SQL query through psycopg2: MLflow's client costs
seconds of imports at start-up) and executes the model's code file straight from the version's
artefact folder, without MLflow. Anything else (a tracking server over HTTP, artefacts not on this
disk) falls back to MLflow itself.
"""

from __future__ import annotations

import importlib.util
import logging
import sqlite3
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

log = logging.getLogger(__name__)

ALIAS = "champion"
# The model's code file runs as plain code (no MLflow `set_model` call) under this module name.
PLAIN_MODULE = "training.credit_model"


@dataclass(frozen=True)
class Champion:
    name: str
    version: str
    storage_location: str | None
    run_id: str | None
    created_ms: int | None


def _sqlite_path(tracking_uri: str) -> Path | None:
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri[len("sqlite:///") :])
    return None


CHAMPION_SQL = (
    "select mv.version, mv.storage_location, mv.run_id, mv.creation_time "
    "from registered_model_aliases a join model_versions mv "
    "on mv.name = a.name and mv.version = a.version "
    "where a.name = {p} and a.alias = {p}"
)


_PG: dict[str, Any] = {}  # tracking URI -> open connection (the alias is read every reload interval)
_PG_LOCK = threading.Lock()


def _postgres_champion(tracking_uri: str, name: str) -> Champion | None:
    """The alias from MLflow's PostgreSQL backend store, on one kept connection (reopened on error)."""
    import psycopg2

    with _PG_LOCK:
        for attempt in (1, 2):
            con = _PG.get(tracking_uri)
            try:
                if con is None or con.closed:
                    dsn = tracking_uri.replace("postgresql+psycopg2://", "postgresql://", 1)
                    con = _PG[tracking_uri] = psycopg2.connect(dsn, connect_timeout=5)
                    con.autocommit = True  # each check sees the latest committed alias
                with con.cursor() as cur:
                    try:
                        cur.execute(CHAMPION_SQL.format(p="%s"), (name, ALIAS))
                    except psycopg2.errors.UndefinedTable:  # store not initialised yet
                        return None
                    row = cur.fetchone()
                break
            except psycopg2.OperationalError:  # the server restarted: one new connection, then give up
                _PG.pop(tracking_uri, None)
                if attempt == 2:
                    raise
    return None if row is None else Champion(name, str(row[0]), row[1], row[2], row[3])


def find_champion(tracking_uri: str, name: str) -> Champion | None:
    """The version holding `name@champion`, or None (no registry, no such model or alias yet)."""
    if tracking_uri.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
        return _postgres_champion(tracking_uri, name)
    db = _sqlite_path(tracking_uri)
    if db is not None:
        if not db.exists():
            return None
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute(CHAMPION_SQL.format(p="?"), (name, ALIAS)).fetchone()
        except sqlite3.OperationalError as exc:  # store not initialised yet
            if "no such table" in str(exc):
                return None
            raise
        finally:
            con.close()
        if row is None:
            return None
        return Champion(name, str(row[0]), row[1], row[2], row[3])
    from mlflow import MlflowClient  # remote tracking server: MLflow's own client
    from mlflow.exceptions import MlflowException

    try:
        mv = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri).get_model_version_by_alias(
            name, ALIAS
        )
    except MlflowException:
        return None
    return Champion(
        name, str(mv.version), getattr(mv, "storage_location", None), mv.run_id, mv.creation_timestamp
    )


def _local_dir(location: str | None) -> Path | None:
    if not location:
        return None
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and location.startswith("/"):
        return Path(location)
    return None


def _exec_model_code(path: Path) -> Any:
    """Execute the model's code file as a plain module (MLflow hidden: its base class is optional)."""
    spec = importlib.util.spec_from_file_location(PLAIN_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    hidden = {k: sys.modules.get(k) for k in ("mlflow", "mlflow.pyfunc")}
    previous = sys.modules.get(PLAIN_MODULE)
    try:
        for key in hidden:
            sys.modules[key] = None  # type: ignore[assignment]  # `import mlflow` -> ImportError
        sys.modules[PLAIN_MODULE] = module
        spec.loader.exec_module(module)
    finally:
        for key, value in hidden.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value
        if previous is None:
            sys.modules.pop(PLAIN_MODULE, None)
        else:
            sys.modules[PLAIN_MODULE] = previous
    return module


def load_model(champion: Champion, tracking_uri: str) -> Any:
    """The champion's model object (CreditDefaultModel): `.features`, `.score(ids, X)`, `.meta`."""
    import yaml

    folder = _local_dir(champion.storage_location)
    if folder is not None and (folder / "MLmodel").exists():
        mlmodel = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
        flavor = mlmodel.get("flavors", {}).get("python_function", {})
        code = flavor.get("model_code_path")
        bundle = (flavor.get("artifacts") or {}).get("bundle", {}).get("path")
        if code and bundle and (folder / Path(code).name).exists():
            module = _exec_model_code(folder / Path(code).name)
            model = module.CreditDefaultModel.from_bundle(folder / bundle)
            log.info("loaded %s v%s from %s (without MLflow)", champion.name, champion.version, folder)
            return model
    log.info("loading %s v%s through MLflow", champion.name, champion.version)
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow.pyfunc.load_model(f"models:/{champion.name}/{champion.version}").unwrap_python_model()
