"""The scale-out recipe, for real: Prefect server and application database on
PostgreSQL, the deployments of prefect.yaml on a process work pool, two workers."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import text

from rectify_core.delivery.mailsink import MailSink
from rectify_core.importers import read_ledger
from rectify_core.ledger import db
from rectify_core.ledger.store import save_ledger
from tests.deliveries import EMAIL, LEDGER, NOW, mail
from tests.fixtures.channels import write_contacts
from tests.fixtures.databases import ROOT, pg_database
from tests.fixtures.prefect import BIN, run_deployed, wait_for
from tests.test_flows import OTHER_UNIT

UNIT = "区审计局党组"


def _finished(client: Any, ids: list[Any], seconds: float) -> list[Any]:
    def done() -> list[Any] | None:
        runs = [client.read_flow_run(i) for i in ids]
        return runs if all(r.state and r.state.is_final() for r in runs) else None

    return list(wait_for(done, seconds, "flow runs"))


def _window(client: Any, run_id: Any) -> tuple[Any, Any]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    return min(t.start_time for t in tasks), max(t.end_time for t in tasks)


def test_work_pool_with_two_workers(prefect_server: dict[str, str], tmp_path: Path, mail_sink: MailSink) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    app_db = pg_database()
    url = next(app_db)
    engine = db.make_engine(url)
    for name, content in (("区交通运输局党组.csv", LEDGER), ("b.csv", OTHER_UNIT)):
        (tmp_path / name).write_text(content, encoding="utf-8")
        with db.transaction(engine) as s:
            save_ledger(read_ledger(tmp_path / name), NOW, session=s)
    config = write_contacts(tmp_path / "cfg", {**{n: [mail(mail_sink, n)] for n in EMAIL},
                                               "刘洋": [mail_sink.url("liuyang@example.gov.cn")],
                                               "张华": [mail_sink.url("zhanghua@example.gov.cn")]})
    env = {**prefect_server, "RECTIFY_HOME": str(ROOT), "RECTIFY_DATABASE_URL": url,
           "RECTIFY_CONFIG_DIR": str(config)}
    prefect = str(BIN / "prefect")
    subprocess.run([prefect, "work-pool", "create", "rectify", "--type", "process"], env=env, check=True,
                   capture_output=True)
    deploy = subprocess.run([prefect, "--no-prompt", "deploy", "--all"], env=env, cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    logs = [(tmp_path / f"worker{i}.log").open("w") for i in range(2)]
    workers = [subprocess.Popen([prefect, "worker", "start", "--pool", "rectify", "--name", f"worker-{i}"],
                                env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
               for i, log in enumerate(logs)]
    try:
        with temporary_settings({PREFECT_API_URL: prefect_server["PREFECT_API_URL"]}), \
                get_client(sync_client=True) as client:
            # two runs of the same unit at once: the per-unit limit serialises their work
            same = [run_deployed("rectify-daily/daily-unit", parameters={"date": "2026-11-25", "unit": UNIT},
                                   timeout=0) for _ in range(2)]
            first, second = _finished(client, [r.id for r in same], 240)
            assert first.state.is_completed() and second.state.is_completed()
            (a0, a1), (b0, b1) = _window(client, first.id), _window(client, second.id)
            assert a1 <= b0 or b1 <= a0, "two runs worked the same unit at once"
            # the fan-out: one daily-unit run per unit with work, shared by the workers
            fan = run_deployed("rectify-daily-fanout/daily-fanout", parameters={"date": "2026-11-25"},
                                 timeout=240)
            assert fan.state is not None and fan.state.is_completed(), fan.state
            unit_dep = client.read_deployment_by_name("rectify-daily/daily-unit")
            children = [r.id for r in client.read_flow_runs(deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=[unit_dep.id]))) if r.id not in {x.id for x in same}]
            assert len(children) == 2
            runs = _finished(client, children, 240)
            assert all(r.state.is_completed() for r in runs)
            assert {r.parameters["unit"] for r in runs} == {UNIT, "区交通运输局党组"}
        got = Counter(str(m["to"]) for m in mail_sink.messages)
        # every person once: the audit unit's two (first run), the transport unit's three
        assert sum(got.values()) == 5 and set(got.values()) == {1}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM notices WHERE state <> 'sent'")).scalar() == 0
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:  # a busy machine: a worker slow to stop is not what this tests
                w.kill()
                w.wait()
        for log in logs:
            log.close()
        engine.dispose()
        next(app_db, None)
