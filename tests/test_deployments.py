"""prefect.yaml declares exactly the deployments `rectify serve` registers."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from rectify_flows.deploy import TZ, specs

ROOT = Path(__file__).resolve().parent.parent


def test_prefect_yaml_matches_the_served_deployments() -> None:
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]

    def flow_name(entrypoint: str) -> str:
        path, attr = entrypoint.split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        return str(getattr(module, attr).name)

    from_yaml = sorted(
        (flow_name(d["entrypoint"]), d["name"], d["description"],
         tuple((s["cron"], s["timezone"], s["active"]) for s in d.get("schedules", [])))
        for d in declared)
    served = sorted((s.flow, s.name, s.description, ((s.cron, TZ, s.active),) if s.cron else ())
                    for s in specs())
    assert from_yaml == served
