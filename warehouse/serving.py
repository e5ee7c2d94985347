"""Reading the published serving copy (read-only): the mart by key, stored scores, the feature SQL.

The API opens one published copy at a time through :class:`ServingCopy`; when `publish` renames a
new copy into place, the API opens the new file and drops the old object (its readers finish on
the old file handle). Look-ups by key go through :class:`MartCache`, the mart's feature columns as
a float32 matrix memory-mapped from a file beside the cache key (the copy's inode, mtime and
size): DuckDB reads a single 1,500-column row in about 100 ms, the memory map in microseconds.
Values are cast exactly as the batch scorer casts them (DuckDB `cast(... as float)`).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from warehouse import feature_sql
from warehouse.db import connect_reader
from warehouse.errors import UserError

FEATURES = "feat_applicant_features"
KEY = "sk_id_curr"
NUMERIC_TYPES = (
    "DOUBLE",
    "FLOAT",
    "REAL",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "BOOLEAN",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
)

log = logging.getLogger(__name__)


def identity(path: Path) -> tuple[int, int, int] | None:
    """(inode, mtime_ns, size) of a file, or None when absent: changes when publish renames a copy in."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class ServingCopy:
    """One published copy, opened read-only, with a small pool of cursors for concurrent reads."""

    def __init__(self, path: Path, readers: int = 4) -> None:
        self.path = Path(path)
        self.identity = identity(self.path)
        self._con = connect_reader(self.path)
        self.published_at = datetime.fromtimestamp(self.identity[1] / 1e9, tz=UTC) if self.identity else None
        self.feature_sql = feature_sql.read(self._con)
        self.mart_relation = self._mart_relation()
        cols = self._con.execute(
            f"select column_name, column_type from (describe {self.mart_relation})"
        ).fetchall()
        self.feature_columns = [n for n, t in cols if n != KEY and t.split("(")[0].upper() in NUMERIC_TYPES]
        self.has_scores = bool(
            self._con.execute(
                "select count(*) from duckdb_tables() where schema_name = 'scoring' and table_name = 'scores'"
            ).fetchall()[0][0]
        )
        self._pool: queue.Queue[duckdb.DuckDBPyConnection] = queue.Queue()
        for _ in range(max(1, readers)):
            self._pool.put(self._con.cursor())

    def _mart_relation(self) -> str:
        if self.feature_sql is not None:
            mart = self.feature_sql.mart_step
            return f'"{mart.schema_name}"."{mart.name}"'
        rows = self._con.execute(
            "select schema_name from (select schema_name, table_name as name from duckdb_tables() "
            "union all select schema_name, view_name from duckdb_views()) where name = ? "
            "order by schema_name = 'main'",
            [FEATURES],
        ).fetchall()
        if not rows:
            raise UserError(f"{self.path} has no {FEATURES}: run `dbt build` and publish again")
        return f'"{rows[0][0]}"."{FEATURES}"'

    def feature_source(self, feature: str) -> str:
        """The per-applicant feature table holding `feature` (one column scan, no joins), else the mart.

        The mart is a view joining six feature tables: reading one of its columns joins them all
        (0.3-0.6 s at full scale), while the table itself answers in milliseconds. Applicants absent
        from that table (no rows in its history source) are absent from it; their value is NULL in
        the mart except for counts, which the mart turns into 0.
        """
        if not hasattr(self, "_feature_sources"):
            rows = self._con.execute(
                "select c.table_schema, c.table_name, c.column_name from information_schema.columns c "
                "where c.table_schema = 'intermediate' and exists (select 1 from information_schema.columns k "
                "where k.table_schema = c.table_schema and k.table_name = c.table_name and k.column_name = ?) "
                "and (c.table_name like 'int%aggregated' or c.table_name = 'int_applications_encoded')",
                [KEY],
            ).fetchall()
            sources: dict[str, str] = {}
            for schema, table, column in rows:
                sources.setdefault(column, f'"{schema}"."{table}"')
            self._feature_sources = sources
        return self._feature_sources.get(feature, self.mart_relation)

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._pool.get()
        try:
            yield cur
        finally:
            self._pool.put(cur)

    def features_by_key(self, sk_id_curr: int, columns: list[str]) -> np.ndarray | None:
        """One applicant's features from the mart (float32, as the batch reads them), or None."""
        select = ", ".join(f'cast("{c}" as float)' for c in columns)
        with self.cursor() as cur:
            rows = cur.execute(
                f"select {select} from {self.mart_relation} where {KEY} = ?", [int(sk_id_curr)]
            ).fetchall()
        if not rows:
            return None
        row = rows[0]
        return np.array(row, dtype=np.float64).astype(np.float32)

    def stored_score(self, sk_id_curr: int) -> dict[str, Any] | None:
        """The applicant's latest batch score (scoring.scores), or None."""
        if not self.has_scores:
            return None
        with self.cursor() as cur:
            res = cur.execute(
                "select * from scoring.scores where sk_id_curr = ? order by scored_at desc nulls last limit 1",
                [int(sk_id_curr)],
            )
            rows = res.fetchall()
            names = [d[0] for d in res.description]
        if not rows:
            return None
        row = rows[0]
        out = {}
        for name, value in zip(names, row, strict=True):
            out[name] = value.isoformat() if hasattr(value, "isoformat") else value
        return out

    def build_cache(self, root: Path) -> MartCache:
        """The memory-mapped mart for look-ups, built once per published copy (reused after restarts)."""
        key = "-".join(str(x) for x in self.identity or (0, 0, 0))
        folder = Path(root) / key
        if (folder / "done").exists():
            return MartCache.open(folder)
        Path(root).mkdir(parents=True, exist_ok=True)
        for old in Path(root).iterdir():  # caches of copies no longer published
            if old.name == key or old.name.startswith(f".{key}."):
                continue
            if old.name.startswith(".") and time.time() - old.stat().st_mtime < 3600:
                continue  # another process may be building it
            shutil.rmtree(old, ignore_errors=True)
        tmp = Path(root) / f".{key}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        columns = self.feature_columns
        with self.cursor() as cur:
            n = cur.execute(f"select count(*) from {self.mart_relation}").fetchall()[0][0]
            ids = np.lib.format.open_memmap(tmp / "ids.npy", mode="w+", dtype=np.int64, shape=(n,))
            X = np.lib.format.open_memmap(tmp / "X.npy", mode="w+", dtype=np.float32, shape=(n, len(columns)))
            select = ", ".join(f'cast("{c}" as float)' for c in columns)
            reader = cur.sql(
                f"select {KEY}, {select} from {self.mart_relation} order by {KEY}"
            ).to_arrow_reader(20_000)
            start = 0
            for batch in reader:
                stop = start + batch.num_rows
                ids[start:stop] = batch.column(0).to_numpy(zero_copy_only=False)
                for j in range(len(columns)):
                    X[start:stop, j] = batch.column(j + 1).to_numpy(zero_copy_only=False)
                start = stop
        ids.flush()
        X.flush()
        del ids, X
        (tmp / "columns.json").write_text(json.dumps(columns), encoding="utf-8")
        (tmp / "done").write_text("ok", encoding="utf-8")
        try:
            os.replace(tmp, folder)
        except OSError:  # another worker process finished first: use its copy
            shutil.rmtree(tmp, ignore_errors=True)
        return MartCache.open(folder)

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()
        self._con.close()


@dataclass
class MartCache:
    folder: Path
    ids: np.ndarray  # sorted int64
    X: np.ndarray  # float32, memory-mapped, mart feature columns in `columns` order
    columns: list[str]

    @classmethod
    def open(cls, folder: Path) -> MartCache:
        ids = np.load(folder / "ids.npy", mmap_mode="r")
        X = np.load(folder / "X.npy", mmap_mode="r")
        columns = json.loads((folder / "columns.json").read_text(encoding="utf-8"))
        return cls(folder, np.asarray(ids), X, columns)

    def row(self, sk_id_curr: int) -> np.ndarray | None:
        i = int(np.searchsorted(self.ids, sk_id_curr))
        if i >= len(self.ids) or self.ids[i] != sk_id_curr:
            return None
        return np.asarray(self.X[i])
