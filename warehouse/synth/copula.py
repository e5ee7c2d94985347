"""A Gaussian-copula table model: compact per-column marginals plus one latent correlation matrix.

Every column gets a *value* latent; a column that is sometimes missing also gets a *presence*
latent, so missingness has its own dependence on the other columns (building-info columns are
missing together, ``OWN_CAR_AGE`` is missing exactly when ``FLAG_OWN_CAR`` is 'N', ...). A
sentinel such as ``DAYS_EMPLOYED = 365243`` is handled as the column's "missing" state and
written back as the sentinel.

Marginals, by column kind:
- ``cat``: labels ordered by default rate (or frequency) with cumulative shares; step lookup.
- ``disc``: up to ``MAX_LEVELS`` numeric values with cumulative shares; step lookup.
- ``cont``: ``N_QUANTILES`` quantiles, linear interpolation, rounded to the column's precision.

A column may have *conditional* marginals given a parent column (``by``): the latent still sets
the rank, the parent's value picks the table (e.g. ``CNT_FAM_MEMBERS`` given ``CNT_CHILDREN``).

The latent correlation is fitted so that the *observed* normal-score correlations of synthetic
data match the real ones (an iterative NORTA-style correction), which undoes the attenuation
that ties and discrete columns cause. Nothing here stores rows: only quantiles, shares, rates
and a correlation matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

N_QUANTILES = 257
MAX_LEVELS = 60
MIN_PRESENCE = 0.0005  # a presence latent only when the missing rate is in (this, 1 - this)
MIN_COND_ROWS = 40  # a conditional table needs this many real rows

ColumnSpec = dict[str, Any]
TableSpec = dict[str, Any]


# --------------------------------------------------------------------------- fitting marginals
def _round_sig(values: np.ndarray, sig: int = 7) -> list[float]:
    return [float(f"{v:.{sig}g}") for v in np.asarray(values, dtype=float)]


def _decimals(values: np.ndarray) -> int:
    """Smallest number of decimals that represents at least 90% of values exactly."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0
    sample = values[:20_000]
    for dec in range(0, 7):
        if np.mean(np.abs(np.round(sample, dec) - sample) < 1e-9 * np.maximum(1, np.abs(sample))) >= 0.9:
            return dec
    return 8


def _marginal(values: np.ndarray, spec: ColumnSpec, n_quantiles: int = N_QUANTILES) -> dict[str, Any]:
    """Missing rate and present-value distribution of ``values`` (internal float encoding)."""
    present = values[~np.isnan(values)]
    out: dict[str, Any] = {"miss": round(float(1 - present.size / max(values.size, 1)), 6)}
    if spec["kind"] in ("cat", "disc"):
        levels = len(spec["values"]) if spec["kind"] == "cat" else None
        if spec["kind"] == "cat":
            counts = np.bincount(present.astype(np.int64), minlength=levels).astype(float)
        else:
            idx = np.searchsorted(np.asarray(spec["values"], dtype=float), present)
            counts = np.bincount(np.clip(idx, 0, len(spec["values"]) - 1), minlength=len(spec["values"]))
            counts = counts.astype(float)
        total = counts.sum()
        cum = np.cumsum(counts) / total if total else np.linspace(0, 1, len(counts) + 1)[1:]
        out["cum"] = [round(float(c), 6) for c in cum]
    else:
        if present.size == 0:
            out["q"] = [0.0, 0.0]
        else:
            probs = np.linspace(0, 1, n_quantiles)
            out["q"] = _round_sig(np.quantile(present, probs))
    return out


def encode_column(series: pd.Series, spec: ColumnSpec) -> np.ndarray:
    """Real values -> internal float encoding (category code for ``cat``; NaN for missing/sentinel)."""
    if spec["kind"] == "cat":
        codes = pd.Categorical(series, categories=spec["values"]).codes.astype(float)
        codes[codes < 0] = np.nan
        return codes
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if spec.get("fill") is not None:
        values = np.where(values == spec["fill"], np.nan, values)
    return values


def parent_keys(spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
    """The conditioning key of each row of a parent column (as strings)."""
    miss = np.isnan(values)
    if spec["kind"] == "cat":
        labels = np.asarray(spec["values"] + ["NA"], dtype=object)
        return labels[np.where(miss, len(spec["values"]), np.nan_to_num(values, nan=0).astype(np.int64))]
    if spec["kind"] == "disc":
        levels = np.asarray([f"{v:g}" for v in spec["values"]] + ["NA"], dtype=object)
        idx = np.searchsorted(np.asarray(spec["values"], dtype=float), np.nan_to_num(values, nan=0))
        idx = np.clip(idx, 0, len(spec["values"]) - 1)
        return levels[np.where(miss, len(spec["values"]), idx)]
    return np.where(miss, "NA", "P").astype(object)


BIN_EDGES = (0.01, 0.03, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97, 0.99)


def binned_keys(spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
    """Keys of a continuous parent by quantile bin ('b0'..; finer in the tails), 'NA' when missing."""
    quant = np.asarray(spec["q"])
    edges = np.interp(BIN_EDGES, np.linspace(0, 1, quant.size), quant)
    idx = np.searchsorted(edges, np.nan_to_num(values), side="right")
    labels = np.asarray([f"b{i}" for i in range(len(BIN_EDGES) + 1)] + ["NA"], dtype=object)
    return labels[np.where(np.isnan(values), len(BIN_EDGES) + 1, idx)]


def fit_column(
    name: str,
    series: pd.Series,
    target: np.ndarray | None = None,
    fill: float | None = None,
    kind: str | None = None,
    dtype: str | None = None,
) -> ColumnSpec:
    """The marginal of one column. ``target`` (0/1/NaN per row) orders categories by default rate."""
    spec: ColumnSpec = {"name": name, "fill": fill}
    if kind is None:
        if series.dtype == object or isinstance(series.dtype, pd.CategoricalDtype):
            kind = "cat"
        else:
            num = pd.to_numeric(series, errors="coerce")
            if fill is not None:
                num = num.where(num != fill)
            kind = "disc" if num.nunique() <= MAX_LEVELS else "cont"
    spec["kind"] = kind
    if kind == "cat":
        spec["dtype"] = "str"
        present = series.dropna().astype(str)
        counts = present.value_counts()
        if target is not None and np.isfinite(target).sum() > 100:
            frame = pd.DataFrame({"v": series.astype(object), "t": target}).dropna()
            rate = frame.groupby("v")["t"].agg(["sum", "count"])
            prior = float(np.nanmean(target))
            smooth = (rate["sum"] + 20 * prior) / (rate["count"] + 20)
            order = sorted(counts.index, key=lambda v: (float(smooth.get(v, prior)), -counts[v], v))
        else:
            order = sorted(counts.index, key=lambda v: (-counts[v], v))
        spec["values"] = [str(v) for v in order]
    else:
        num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if fill is not None:
            num = np.where(num == fill, np.nan, num)
        present = num[~np.isnan(num)]
        spec["dtype"] = dtype or ("int" if present.size and np.all(present == np.round(present)) else "float")
        if kind == "disc":
            spec["values"] = _round_sig(np.unique(present)) if present.size else [0.0]
        else:
            spec["decimals"] = _decimals(present)
    values = encode_column(series, spec)
    spec.update(_marginal(values, spec))
    spec["presence"] = bool(MIN_PRESENCE < spec["miss"] < 1 - MIN_PRESENCE)
    cum = spec.get("cum")
    if cum is not None:  # normal score of each level's block (its mid-rank)
        lo = np.concatenate([[0.0], cum[:-1]])
        mid = np.clip((lo + np.asarray(cum)) / 2, 1e-6, 1 - 1e-6)
        spec["scores"] = [round(float(s), 5) for s in ndtri(mid)]
    return spec


def combined_keys(
    parents: list[ColumnSpec], values: list[np.ndarray], binned: list[bool] | None = None
) -> np.ndarray:
    """The conditioning key of each row given one or more parent columns ('a|b'); a binned
    continuous parent contributes its quantile bin."""
    binned = binned or [False] * len(parents)
    parts = [
        binned_keys(spec, vals) if b else parent_keys(spec, vals)
        for spec, vals, b in zip(parents, values, binned, strict=True)
    ]
    keys = parts[0]
    for part in parts[1:]:
        keys = keys + "|" + part
    return keys


def _parent_name(ref: str) -> tuple[str, bool]:
    """'DAYS_BIRTH#bins' -> ('DAYS_BIRTH', True)."""
    name, _, flag = ref.partition("#")
    return name, flag == "bins"


def add_condition(
    spec: ColumnSpec,
    series: pd.Series,
    parents: list[ColumnSpec],
    parent_values: list[np.ndarray],
    binned: list[bool] | None = None,
) -> None:
    """Give ``spec`` marginals conditional on its parents' keys (in place)."""
    values = encode_column(series, spec)
    keys = combined_keys(parents, parent_values, binned)
    cond: dict[str, Any] = {}
    for key in pd.unique(keys):
        mask = keys == key
        # category shares need few rows (a rare parent value must keep its labels consistent)
        if mask.sum() >= (MIN_COND_ROWS if spec["kind"] == "cont" else 5):
            cond[str(key)] = _marginal(values[mask], spec, n_quantiles=129)
    spec["by"] = [
        p["name"] + ("#bins" if b else "")
        for p, b in zip(parents, binned or [False] * len(parents), strict=True)
    ]
    spec["cond"] = cond


def add_derivation(
    spec: ColumnSpec, series: pd.Series, parent: ColumnSpec, parent_series: pd.Series, op: str
) -> None:
    """Make a numeric column follow ``parent`` row by row: child = parent + d (``op='diff'``) or
    parent * d (``'ratio'``), d drawn from its real distribution. Used for near-duplicates
    (``*_MODE`` / ``*_MEDI`` of ``*_AVG``), whose tails a copula cannot keep together."""
    child = encode_column(series, spec)
    par = encode_column(parent_series, parent)
    ok = ~np.isnan(child) & ~np.isnan(par)
    if op == "ratio":
        ok &= par != 0
        d = child / np.where(par == 0, 1, par)
    else:
        d = child - par
    present = child[~np.isnan(child)]
    keys = binned_keys(parent, par)
    tables = {}
    for key in pd.unique(keys[ok]):
        mask = ok & (keys == key)
        if mask.sum() >= MIN_COND_ROWS:
            tables[str(key)] = _round_sig(np.quantile(d[mask], np.linspace(0, 1, 65)))
    spec["derive"] = {
        "from": parent["name"],
        "op": op,
        "q": _round_sig(np.quantile(d[ok], np.linspace(0, 1, 129))) if ok.any() else [0.0, 0.0],
        "bins": tables,
        "min": float(present.min()) if present.size else 0.0,
        "max": float(present.max()) if present.size else 0.0,
    }


# --------------------------------------------------------------------------- scores
def value_scores(spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
    """Normal score of each value under the column's unconditional marginal (NaN when missing)."""
    out = np.full(values.shape, np.nan)
    ok = ~np.isnan(values)
    if spec["kind"] == "cat":
        out[ok] = np.asarray(spec["scores"])[values[ok].astype(np.int64)]
    elif spec["kind"] == "disc":
        idx = np.clip(np.searchsorted(np.asarray(spec["values"]), values[ok]), 0, len(spec["values"]) - 1)
        out[ok] = np.asarray(spec["scores"])[idx]
    else:
        quant = np.asarray(spec["q"])
        probs = np.linspace(0, 1, len(quant))
        vals = values[ok]
        left = np.searchsorted(quant, vals, "left")
        right = np.searchsorted(quant, vals, "right")
        p_lo = probs[np.clip(left, 0, len(probs) - 1)]
        p_hi = probs[np.clip(right - 1, 0, len(probs) - 1)]
        heap = right - left > 1
        interp = np.interp(vals, quant, probs)
        out[ok] = ndtri(np.clip(np.where(heap, (p_lo + p_hi) / 2, interp), 1e-5, 1 - 1e-5))
    return out


def latent_layout(columns: list[ColumnSpec]) -> list[tuple[str, str]]:
    """(column, 'v' | 'm') for each latent dimension."""
    layout = [(c["name"], "v") for c in columns]
    layout += [(c["name"], "m") for c in columns if c["presence"]]
    return layout


def score_matrix(columns: list[ColumnSpec], encoded: dict[str, np.ndarray], raw: bool = False) -> np.ndarray:
    """Observed scores in latent order: value scores (NaN if missing), presence indicators.
    With ``raw``, numeric columns contribute their raw values (so correlations are Pearson's)."""
    cols = [
        encoded[c["name"]] if raw and c["kind"] != "cat" else value_scores(c, encoded[c["name"]])
        for c in columns
    ]
    cols += [(~np.isnan(encoded[c["name"]])).astype(float) for c in columns if c["presence"]]
    return np.column_stack(cols)


def pairwise_corr(x: np.ndarray, min_rows: int = 50) -> np.ndarray:
    """Pearson correlation over pairwise-complete rows (NaN where too few rows or no variance)."""
    mask = (~np.isnan(x)).astype(float)
    xz = np.nan_to_num(x)
    n = mask.T @ mask
    sx = xz.T @ mask  # sum of x_i over rows where j present
    sxx = (xz * xz).T @ mask
    sxy = xz.T @ xz
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = sx / n
        my = sx.T / n
        cov = sxy / n - mx * my
        vx = sxx / n - mx**2
        vy = sxx.T / n - my**2
        corr = cov / np.sqrt(vx * vy)
    corr[(n < min_rows) | ~np.isfinite(corr)] = np.nan
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1, 1)


def nearest_corr(mat: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """A valid correlation matrix near ``mat`` (eigenvalue clipping, unit diagonal)."""
    mat = (mat + mat.T) / 2
    vals, vecs = np.linalg.eigh(mat)
    mat = (vecs * np.maximum(vals, floor)) @ vecs.T
    d = np.sqrt(np.diag(mat))
    mat = mat / np.outer(d, d)
    np.fill_diagonal(mat, 1.0)
    return mat


# --------------------------------------------------------------------------- sampling
def cholesky(corr: np.ndarray) -> np.ndarray:
    return np.linalg.cholesky(nearest_corr(np.asarray(corr, dtype=float), floor=1e-4))


def _decode_marginal(
    spec: ColumnSpec, marg: dict[str, Any], zv: np.ndarray, zm: np.ndarray | None
) -> np.ndarray:
    u = ndtr(zv)
    if spec["kind"] in ("cat", "disc"):
        cum = np.asarray(marg["cum"])
        idx = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
        out = idx.astype(float) if spec["kind"] == "cat" else np.asarray(spec["values"])[idx]
    else:
        quant = np.asarray(marg["q"])
        out = np.interp(u, np.linspace(0, 1, len(quant)), quant)
        out = np.round(out, spec.get("decimals", 6))
    if zm is not None:
        out = np.where(ndtr(zm) < marg["miss"], np.nan, out)
    elif marg["miss"] >= 1 - MIN_PRESENCE:
        out = np.full(out.shape, np.nan)
    return out


def decode(
    table: TableSpec,
    z: np.ndarray,
    force: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Latent rows -> internal encoding of every column. ``force[col]`` (NaN = not forced)
    overrides a column's decoded value before its children are decoded."""
    columns: list[ColumnSpec] = table["columns"]
    index = {key: i for i, key in enumerate(latent_layout(columns))}
    out: dict[str, np.ndarray] = {}
    for spec in table["order"]:
        col = columns[spec]
        name = col["name"]
        zv = z[:, index[(name, "v")]]
        zm = z[:, index[(name, "m")]] if col["presence"] else None
        if col.get("by") and col["cond"]:
            refs = [_parent_name(p) for p in col["by"]]
            parents = [columns[table["names"][p]] for p, _ in refs]
            keys = combined_keys(parents, [out[p] for p, _ in refs], [b for _, b in refs])
            vals = np.empty(z.shape[0])
            for key in pd.unique(keys):
                mask = keys == key
                marg = col["cond"].get(str(key), col)
                vals[mask] = _decode_marginal(col, marg, zv[mask], None if zm is None else zm[mask])
        else:
            vals = _decode_marginal(col, col, zv, zm)
        derive = col.get("derive")
        if derive is not None:
            par = out[derive["from"]]
            # the part of this column's latent that is independent of the parent's latent
            zp = z[:, index[(derive["from"], "v")]]
            rho = table["chol"][index[(name, "v")]] @ table["chol"][index[(derive["from"], "v")]]
            u = ndtr((zv - rho * zp) / np.sqrt(max(1 - rho**2, 1e-6)))
            keys = binned_keys(columns[table["names"][derive["from"]]], par)
            d = np.empty(u.size)
            for key in pd.unique(keys):
                mask = keys == key
                quant = np.asarray(derive["bins"].get(str(key), derive["q"]))
                d[mask] = np.interp(u[mask], np.linspace(0, 1, quant.size), quant)
            derived = par * d if derive["op"] == "ratio" else par + d
            derived = np.round(np.clip(derived, derive["min"], derive["max"]), col.get("decimals", 6))
            vals = np.where(np.isnan(vals) | np.isnan(par), vals, derived)
        if force and name in force:
            forced = force[name]
            vals = np.where(np.isnan(forced), vals, forced)
        out[name] = vals
    return out


def prepare(table: TableSpec) -> TableSpec:
    """Add derived fields (name index, decode order, Cholesky factor) to a loaded table spec."""
    columns = table["columns"]
    names = {c["name"]: i for i, c in enumerate(columns)}
    done: list[int] = []
    pending = list(range(len(columns)))
    while pending:  # parents before children
        for i in list(pending):
            needs = [_parent_name(p)[0] for p in columns[i].get("by") or []]
            if columns[i].get("derive"):
                needs.append(columns[i]["derive"]["from"])
            if all(names[p] in done for p in needs):
                done.append(i)
                pending.remove(i)
    table = dict(table)
    table["names"] = names
    table["order"] = done
    table["chol"] = cholesky(np.asarray(table["corr"], dtype=float))
    return table


def sample_latent(table: TableSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    chol = table["chol"]
    return rng.standard_normal((n, chol.shape[0]), dtype=np.float64) @ chol.T


# --------------------------------------------------------------------------- fitting the table
def fit_table(
    frame: pd.DataFrame,
    columns: list[ColumnSpec],
    iterations: int = 6,
    n_sim: int = 40_000,
    seed: int = 0,
    damping: float = 0.8,
    log: Any = None,
) -> TableSpec:
    """Fit the latent correlation so synthetic normal-score correlations match the real ones."""
    encoded = {c["name"]: encode_column(frame[c["name"]], c) for c in columns}
    target = pairwise_corr(score_matrix(columns, encoded, raw=True))
    dim = target.shape[0]
    defined = ~np.isnan(target)
    corr = nearest_corr(np.where(defined, target, 0.0))
    table: TableSpec = {"columns": columns, "corr": corr}
    rng = np.random.default_rng(seed)
    for it in range(iterations):
        prepared = prepare(table)
        synth = decode(prepared, sample_latent(prepared, n_sim, rng))
        got = pairwise_corr(score_matrix(columns, synth, raw=True))
        err = np.where(defined & ~np.isnan(got), target - got, 0.0)
        if log:
            log(f"  iteration {it}: max |err| {np.abs(err).max():.3f}, mean {np.abs(err).mean():.4f}")
        corr = nearest_corr(np.clip(corr + damping * err, -0.999, 0.999))
        table["corr"] = corr
    table["corr"] = [[round(float(v), 4) for v in row] for row in corr]
    assert len(table["corr"]) == dim
    return table
