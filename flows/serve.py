"""Serve every deployment declared in prefect.yaml from one process (`bigledger worker`).

prefect.yaml stays the single list of deployments: this reads it, so the served deployments
and the ones `prefect deploy --all` registers for a work pool cannot drift apart.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def declared_deployments(path: Path = ROOT / "prefect.yaml") -> list[dict[str, Any]]:
    """The `deployments:` entries of prefect.yaml."""
    return yaml.safe_load(path.read_text())["deployments"]


def load_flow(entrypoint: str):
    """Import 'flows/shopify.py:sync_orders' relative to the repository root."""
    file_part, func = entrypoint.split(":")
    module_name = file_part.removesuffix(".py").replace("/", ".")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    module = importlib.import_module(module_name)
    return getattr(module, func)


def build_deployments() -> list[Any]:
    """RunnerDeployments for every declared deployment."""
    out = []
    for spec in declared_deployments():
        flow = load_flow(spec["entrypoint"])
        out.append(flow.to_deployment(
            name=spec["name"], description=spec.get("description"), tags=spec.get("tags"),
            parameters=spec.get("parameters") or {},
            schedules=_schedules(spec.get("schedules")),
        ))
    return out


def _schedules(declared: list[dict[str, Any]] | None) -> list[Any] | None:
    """prefect.yaml's `schedules:` entries (interval seconds or cron, with a slug) as Prefect
    schedules. None (not []) when a deployment declares none: re-applying it then leaves
    the schedules the API added (per integration) in place."""
    from prefect.schedules import Cron, Interval

    if not declared:
        return None
    out = []
    for entry in declared:
        options = {k: entry[k] for k in ("slug", "timezone", "active") if k in entry}
        if "interval" in entry:
            out.append(Interval(entry["interval"], **options))
        else:
            out.append(Cron(entry["cron"], **options))
    return out


def serve_all(limit: int = 4) -> None:
    """Serve the deployments until interrupted (runs start as subprocesses)."""
    from prefect import serve

    serve(*build_deployments(), limit=limit)
