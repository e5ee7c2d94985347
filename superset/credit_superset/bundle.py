"""Build the import bundle (zip) from the YAML assets in superset/assets/.

The assets are Superset's own export format (databases/, datasets/, charts/, dashboards/, keyed
by stable UUIDs) with three conveniences resolved here, so that the committed files stay short
and reviewable:
- `${CREDIT_SERVING_PATH}` and `${MARTS_SCHEMA}` are replaced (the warehouse URI is templated);
- a dashboard's `layout` (markdown blocks and rows of `chart_key WIDTHxHEIGHT`) becomes the
  `position` tree Superset expects (a dashboard may still carry `position` itself);
- each chart gets a `query_context` derived from its params, so its data can be fetched through
  GET /api/v1/chart/{id}/data (provisioning points it at the imported dataset's id).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from credit_superset.settings import SUPERSET_DIR, serving_path

ASSETS = SUPERSET_DIR / "assets"
BUNDLE_ROOT = "credit_dashboards"
DEFAULT_MARTS_SCHEMA = "marts"


def marts_schema() -> str:
    return os.environ.get("CREDIT_MARTS_SCHEMA", DEFAULT_MARTS_SCHEMA)


def _substitute(text: str, warehouse: Path) -> str:
    return text.replace("${CREDIT_SERVING_PATH}", str(warehouse)).replace("${MARTS_SCHEMA}", marts_schema())


def load_assets(warehouse: Path | None = None, assets: Path = ASSETS) -> dict[str, dict[str, Any]]:
    """{relative path: parsed YAML} with placeholders substituted."""
    warehouse = warehouse or serving_path()
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(assets.rglob("*.yaml")):
        out[str(path.relative_to(assets))] = yaml.safe_load(_substitute(path.read_text("utf-8"), warehouse))
    return out


def chart_keys(assets: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {Path(rel).stem: cfg for rel, cfg in assets.items() if rel.startswith("charts/")}


# ----------------------------------------------------------------------------- layout -> position
def _parse_cell(cell: str) -> tuple[str, int, int]:
    key, size = cell.strip().rsplit(" ", 1)
    width, height = size.lower().split("x")
    return key.strip(), int(width), int(height)


def build_position(title: str, layout: list[dict[str, Any]], charts: dict[str, dict[str, Any]]) -> dict:
    """Superset's dashboard position tree (v2) from the compact layout."""
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": title}},
    }
    chart_id = 0
    for i, block in enumerate(layout, start=1):
        row_id = f"ROW-{i}"
        row = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = row
        parents = ["ROOT_ID", "GRID_ID", row_id]
        if "markdown" in block:
            md_id = f"MARKDOWN-{i}"
            row["children"].append(md_id)
            position[md_id] = {
                "type": "MARKDOWN",
                "id": md_id,
                "children": [],
                "parents": parents,
                "meta": {"width": block["width"], "height": block["height"], "code": block["markdown"]},
            }
            continue
        for cell in block["row"].split(","):
            key, width, height = _parse_cell(cell)
            if key not in charts:
                raise ValueError(
                    f"dashboard {title!r}: layout names chart {key!r}, which has no charts/{key}.yaml"
                )
            chart_id += 1
            node_id = f"CHART-{key}"
            row["children"].append(node_id)
            position[node_id] = {
                "type": "CHART",
                "id": node_id,
                "children": [],
                "parents": parents,
                "meta": {
                    "width": width,
                    "height": height,
                    "chartId": chart_id,
                    "uuid": charts[key]["uuid"],
                    "sliceName": charts[key]["slice_name"],
                },
            }
    return position


# ----------------------------------------------------------------------------- query contexts
def _metric_list(params: dict[str, Any]) -> list[Any]:
    if "metrics" in params:
        return list(params["metrics"])
    return [params["metric"]] if params.get("metric") else []


def _filters(params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    simple, where = [], []
    for flt in params.get("adhoc_filters", []):
        if flt.get("expressionType") == "SIMPLE":
            op = {"==": "==", "IN": "IN", "!=": "!=", "NOT IN": "NOT IN"}.get(
                flt["operator"], flt["operator"]
            )
            simple.append({"col": flt["subject"], "op": op, "val": flt["comparator"]})
        elif flt.get("clause", "WHERE") == "WHERE":
            where.append(f"({flt['sqlExpression']})")
    return simple, " and ".join(where)


def query_object(params: dict[str, Any]) -> dict[str, Any]:
    """The query a chart of these params sends (the part of the front end's buildQuery we use)."""
    viz = params["viz_type"]
    metrics = _metric_list(params)
    filters, where = _filters(params)
    columns: list[Any] = []
    orderby: list[Any] = []
    if viz == "table" and params.get("query_mode") == "raw":
        columns = list(params.get("all_columns", []))
        metrics = []
        orderby = [json.loads(o) for o in params.get("order_by_cols", [])]
    elif viz == "table":
        columns = list(params.get("groupby", []))
        sort = params.get("timeseries_limit_metric") or (metrics[0] if metrics else None)
        orderby = [[sort, not params.get("order_desc", True)]] if sort else []
    elif viz.startswith("echarts_timeseries"):
        columns = [params["x_axis"], *params.get("groupby", [])]
        orderby = [[metrics[0], False]] if metrics else []
    elif viz == "pie":
        columns = list(params.get("groupby", []))
        orderby = [[metrics[0], False]] if metrics else []
    return {
        "filters": filters,
        "extras": {"having": "", "where": where},
        "applied_time_extras": {},
        "columns": columns,
        "metrics": metrics,
        "orderby": orderby,
        "annotation_layers": [],
        "row_limit": params.get("row_limit", 1000),
        "series_limit": 0,
        "order_desc": params.get("order_desc", True),
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }


def query_context(params: dict[str, Any], dataset_id: int = 0) -> dict[str, Any]:
    form_data = {**params, "datasource": f"{dataset_id}__table"}
    return {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": False,
        "queries": [query_object(params)],
        "form_data": form_data,
        "result_format": "json",
        "result_type": "full",
    }


# ----------------------------------------------------------------------------- the bundle
def render(
    warehouse: Path | None = None, assets: Path = ASSETS, kind: str = "Dashboard"
) -> dict[str, dict[str, Any]]:
    """The bundle's files as Superset expects them: {path inside the zip: config}.

    kind "Dashboard" is what the dashboard importers take (CLI, REST /api/v1/dashboard/import/);
    they never overwrite existing databases, datasets or charts. kind "assets" is what
    ImportAssetsCommand takes (provisioning): it overwrites every object by UUID.
    """
    loaded = load_assets(warehouse, assets)
    charts = chart_keys(loaded)
    out: dict[str, dict[str, Any]] = {}
    for rel, cfg in loaded.items():
        cfg = copy.deepcopy(cfg)
        if rel.startswith("charts/") and not cfg.get("query_context"):
            cfg["query_context"] = json.dumps(query_context(cfg["params"]))
        if rel.startswith("dashboards/") and "layout" in cfg:
            cfg["position"] = build_position(cfg["dashboard_title"], cfg.pop("layout"), charts)
        out[rel] = cfg
    out["metadata.yaml"] = {
        "version": "1.0.0",
        "type": kind,
        "timestamp": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
    }
    return out


def contents(warehouse: Path | None = None, assets: Path = ASSETS, kind: str = "Dashboard") -> dict[str, str]:
    """{path: YAML text}, the form Superset's import commands take (no root folder)."""
    files = render(warehouse, assets, kind)
    return {rel: yaml.safe_dump(files[rel], sort_keys=False, allow_unicode=True) for rel in sorted(files)}


def write_zip(
    target: Path, warehouse: Path | None = None, assets: Path = ASSETS, kind: str = "Dashboard"
) -> Path:
    """Write the bundle zip (byte-identical for identical assets); returns its path."""
    files = contents(warehouse, assets, kind)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, text in files.items():
            info = zipfile.ZipInfo(f"{BUNDLE_ROOT}/{rel}", date_time=(2026, 1, 1, 0, 0, 0))
            zf.writestr(info, text)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buf.getvalue())
    return target


def assets_digest(assets: Path = ASSETS) -> str:
    digest = hashlib.sha256()
    for path in sorted(assets.rglob("*.yaml")):
        digest.update(str(path.relative_to(assets)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
