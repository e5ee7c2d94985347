"""What the API serves: a published warehouse copy + the champion model, swapped without restart.

`Serving` bundles one published copy (read-only), the feature SQL engine built from the SQL it
ships, the champion model and the memory-mapped mart for look-ups. `ServingManager` checks every
`reload_interval_s` whether `publish` renamed a new copy into place (inode/mtime/size) or the
`champion` alias moved, builds a new `Serving` in the background and swaps it in with one
assignment: requests in flight finish on the object they started with, new ones get the new one.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from api.services.model import Champion, find_champion, load_model
from warehouse import feature_sql
from warehouse.serving import MartCache, ServingCopy, identity

log = logging.getLogger(__name__)

INTERNAL_ID_BASE = 2**62  # ids given to applications posted without SK_ID_CURR (features never read ids)


class NotReady(RuntimeError):
    """No published copy or no champion yet: the API answers 503 with the reason."""


@dataclass
class Job:
    tables: dict[str, list[dict[str, Any]]]
    keys: set[tuple[str, int]]
    sk_id_curr: int
    future: Future = field(default_factory=Future)


class RealtimeFeatures:
    """Computes mart rows for posted applications with the shipped dbt SQL, in micro-batches.

    A run of the (prepared) ~1,300-column feature SQL has a fixed cost of 31-38 ms of CPU on
    jemalloc, whatever the number of rows (DuckDB's 2,048-row vectors for every column of every
    operator): 1 application 38 ms, 8 together 42 ms (measured with 1,313 features). So worker threads take every
    queued application whose keys do not collide with the batch's (SK_ID_CURR, SK_ID_BUREAU,
    SK_ID_PREV) and compute them in one run, as the warehouse computes all applicants together.
    """

    def __init__(self, engine: feature_sql.FeatureEngine, workers: int = 2, max_batch: int = 256) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._pending: list[Job] = []
        self._cv = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._run, name=f"features-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for t in self._threads:
            t.start()

    def submit(self, job: Job) -> Future:
        with self._cv:
            if self._closed:
                raise NotReady("the feature engine is being replaced; retry")
            self._pending.append(job)
            self._cv.notify()
        return job.future

    def _take(self) -> list[Job] | None:
        with self._cv:
            while not self._pending:
                if self._closed:
                    return None
                self._cv.wait(timeout=0.5)
            batch: list[Job] = []
            used: set[tuple[str, int]] = set()
            rest: list[Job] = []
            for job in self._pending:
                if len(batch) < self.max_batch and not (job.keys & used):
                    batch.append(job)
                    used |= job.keys
                else:
                    rest.append(job)
            self._pending = rest
            if rest:
                self._cv.notify()
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                tables: dict[str, Any] = {}
                for name in self.engine.sources:
                    rows = [row for job in batch for row in job.tables.get(name, [])]
                    if rows:
                        tables[name] = feature_sql.to_arrow(name, rows)
                result = self.engine.compute(tables)
                by_id = {row[0]: row for row in result}
                for job in batch:
                    row = by_id.get(job.sk_id_curr)
                    if row is None:
                        job.future.set_exception(
                            RuntimeError("the feature SQL returned no row for the application")
                        )
                    else:
                        job.future.set_result(row)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()


class Serving:
    """One published copy + one champion version, ready to answer."""

    def __init__(
        self,
        copy: ServingCopy,
        champion: Champion,
        model: Any,
        engine_workers: int,
        batch_max: int,
    ) -> None:
        self.copy = copy
        self.champion = champion
        self.model = model
        self.loaded_at = datetime.now(tz=UTC)
        self.features: list[str] = list(model.features)
        missing = [f for f in self.features if f not in set(copy.feature_columns)]
        if missing:
            raise NotReady(
                f"champion v{champion.version} needs {len(missing)} feature(s) the published mart lacks "
                f"({', '.join(missing[:5])}): retrain or republish"
            )
        self.cache: MartCache | None = None
        self.cache_failed = False  # the look-up cache could not be built: look-ups read DuckDB
        self._cache_idx: np.ndarray | None = None
        self.realtime: RealtimeFeatures | None = None
        self.engine_error: str | None = None
        if copy.feature_sql is None:
            self.engine_error = "the published copy ships no feature SQL (publish after `dbt build`)"
        else:
            try:
                engine = feature_sql.FeatureEngine(copy.feature_sql, connections=engine_workers)
                self._engine_idx = np.array([engine.columns.index(f) for f in self.features])
                self.engine_columns = engine.columns
                self.realtime = RealtimeFeatures(engine, workers=engine_workers, max_batch=batch_max)
            except Exception as exc:  # noqa: BLE001 - look-ups still work; POST says why it cannot
                log.exception("feature SQL engine could not be built")
                self.engine_error = f"the shipped feature SQL could not be instantiated: {exc}"
        if self.realtime is not None:
            self._warm_up(engine_workers)

    def _warm_up(self, connections: int) -> None:
        """Score the OpenAPI example once per engine connection before serving: the first run of
        each prepared statement and of the model costs about 25 ms more than the next ones."""
        from api.schemas import EXAMPLE_REQUEST, ScoreRequest
        from api.services.scoring import build_job, score_vectors

        try:
            request = ScoreRequest.model_validate(EXAMPLE_REQUEST)
            jobs = [build_job(request, ["body"], 10_000) for _ in range(max(1, connections))]
            rows = [self.realtime.submit(job).result(timeout=60) for job in jobs]  # type: ignore[union-attr]
            score_vectors(self, self.model_vector(rows[0])[0][None, :], [None], "decision", "warm-up", 10)
        except Exception:  # noqa: BLE001 - a cold first request is slower, not wrong
            log.exception("warm-up failed")

    @property
    def key(self) -> tuple:
        return (self.copy.identity, self.champion.version)

    def attach_cache(self, cache: MartCache) -> None:
        index = {c: i for i, c in enumerate(cache.columns)}
        self._cache_idx = np.array([index[f] for f in self.features])
        self.cache = cache

    def lookup(self, sk_id_curr: int) -> np.ndarray | None:
        """The model's feature vector of a known applicant (float32, model order), or None."""
        if self.cache is not None and self._cache_idx is not None:
            row = self.cache.row(sk_id_curr)
            return None if row is None else row[self._cache_idx].astype(np.float32)
        return self.copy.features_by_key(sk_id_curr, self.features)

    def model_vector(self, mart_row: tuple) -> tuple[np.ndarray, dict[str, float | None]]:
        """Model input (float32, as the batch casts) and the mart's feature values from a mart row."""
        values = np.array(mart_row, dtype=np.float64)
        x = values[self._engine_idx].astype(np.float32)
        mart = {
            c: (None if not np.isfinite(v) else float(v))
            for c, v in zip(self.engine_columns[1:], values[1:], strict=True)
        }
        return x, mart

    def close(self) -> None:
        if self.realtime is not None:
            self.realtime.close()


class ServingManager:
    """Holds the current `Serving`; reloads it when a new copy is published or the alias moves."""

    def __init__(
        self,
        serving_path: Path,
        tracking_uri: str,
        model_name: str,
        cache_root: Path,
        interval_s: float = 1.0,
        engine_workers: int = 2,
        batch_max: int = 256,
    ) -> None:
        self.serving_path = Path(serving_path)
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.cache_root = Path(cache_root)
        self.interval_s = interval_s
        self.engine_workers = engine_workers
        self.batch_max = batch_max
        self.current: Serving | None = None
        self.reloads = 0
        self.last_error: str | None = None
        self._models: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- loading ---------------------------------------------------------------------------------
    def _wanted(self) -> tuple[tuple | None, Champion | None]:
        return identity(self.serving_path), find_champion(self.tracking_uri, self.model_name)

    def refresh(self) -> bool:
        """Load a new Serving if the copy or the champion changed. Returns True when it swapped."""
        ident, champion = self._wanted()
        if ident is None:
            raise NotReady(f"no published warehouse at {self.serving_path}: run `make pipeline`")
        if champion is None:
            raise NotReady(f"no model holds {self.model_name}@champion: run `python -m training train`")
        current = self.current
        if current is not None and current.key == (ident, champion.version):
            return False
        model = self._models.get(champion.version)
        if model is None:
            model = load_model(champion, self.tracking_uri)
            self._models = {champion.version: model}  # keep only the one in use
        copy = ServingCopy(self.serving_path, readers=self.engine_workers + 2)
        try:
            serving = Serving(copy, champion, model, self.engine_workers, self.batch_max)
        except Exception:
            copy.close()
            raise
        cache_dir = (
            self.cache_root
            / f"{serving.copy.identity[0]}-{serving.copy.identity[1]}-{serving.copy.identity[2]}"
        )
        if (cache_dir / "done").exists():
            serving.attach_cache(MartCache.open(cache_dir))
        elif current is not None and current.cache is not None:
            # steady state: keep look-ups fast by swapping only once the new copy's cache exists
            self._build_cache(serving)
        self.current = serving
        self.reloads += 1
        self.last_error = None
        log.info(
            "serving copy %s (published %s) with %s v%s",
            self.serving_path,
            serving.copy.published_at,
            champion.name,
            champion.version,
        )
        if current is not None:
            threading.Timer(30.0, current.close).start()  # in-flight requests finish on the old one
        if serving.cache is None:
            threading.Thread(target=self._build_cache, args=(serving,), daemon=True).start()
        return True

    def _build_cache(self, serving: Serving) -> None:
        try:
            t0 = time.perf_counter()
            cache = serving.copy.build_cache(self.cache_root)
            serving.attach_cache(cache)
            log.info(
                "look-up cache of %d applicants ready in %.1f s", len(cache.ids), time.perf_counter() - t0
            )
        except Exception:  # noqa: BLE001 - look-ups fall back to DuckDB
            serving.cache_failed = True
            log.exception("look-up cache could not be built; look-ups read DuckDB")

    def start(self) -> None:
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - not ready yet: keep trying in the background
            self.last_error = str(exc)
            log.warning("not ready: %s", exc)
        self._thread = threading.Thread(target=self._loop, name="serving-reload", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - keep serving the previous copy
                if str(exc) != self.last_error:
                    log.warning("reload failed, still serving the previous copy: %s", exc)
                self.last_error = str(exc)

    def stop(self) -> None:
        self._stop.set()
        if self.current is not None:
            self.current.close()

    def get(self) -> Serving:
        serving = self.current
        if serving is None:
            raise NotReady(self.last_error or "starting")
        return serving
