"""A real `prefect server start` (its database on PostgreSQL) and a real `rectify serve`:
deployments registered and read back, scheduled at 09:00 Asia/Shanghai, and a run
triggered through the API completes with notices delivered."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from rectify_core import db
from rectify_core.mailsink import MailSink, free_port
from tests.conftest import _need_pg, write_contacts
from tests.test_delivery import EMAIL, mail, setup_db

BIN = Path(sys.executable).parent


def _wait(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception:  # not up yet
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    pg = _need_pg()
    admin = db.make_engine(pg.url())
    name = f"prefect_{os.getpid()}_{free_port()}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/{name}",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2).status == 200,
              120, "prefect server")
        yield env
    finally:
        server.terminate()
        server.wait(30)
        log.close()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_serve_registers_schedules_and_runs(prefect_server: dict[str, str], sqlite_url: str, tmp_path: Path,
                                            mail_sink: MailSink) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    setup_db(sqlite_url, tmp_path)
    config = write_contacts(tmp_path / "cfg", {n: [mail(mail_sink, n)] for n in EMAIL})
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen([str(BIN / "rectify"), "--db", sqlite_url, "--config", str(config), "serve"],
                             env=prefect_server, stdout=log, stderr=subprocess.STDOUT)
    try:
        with temporary_settings({PREFECT_API_URL: prefect_server["PREFECT_API_URL"]}), \
                get_client(sync_client=True) as client:
            names = ("rectify-daily/daily", "rectify-lookback/quarterly", "rectify-daily-fanout/daily-fanout",
                     "rectify-daily/daily-unit")
            daily, quarterly, fanout, _ = _wait(lambda: [client.read_deployment_by_name(n) for n in names], 90,
                                                "all deployments")
            for dep, cron, active in ((daily, "0 9 * * *", True), (quarterly, "0 9 1 1,4,7,10 *", True),
                                      (fanout, "0 9 * * *", False)):
                [schedule] = dep.schedules
                assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
                    cron, "Asia/Shanghai", active)
            # the scheduler has planned the next runs: 09:00 in Shanghai is 01:00 UTC
            runs = _wait(lambda: client.read_flow_runs(deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=[daily.id]))), 60, "scheduled runs")
            starts = [r.expected_start_time.astimezone(dt.UTC) for r in runs if r.expected_start_time]
            assert starts and all((t.hour, t.minute) == (1, 0) for t in starts)
            # a run triggered through the API is picked up by the serve process
            run = run_deployment("rectify-daily/daily", parameters={"date": "2026-11-25"}, timeout=180)
            assert run.state is not None and run.state.is_completed(), run.state
            assert len(client.read_flow_runs(flow_run_filter=FlowRunFilter())) >= 1
        assert len(mail_sink.messages) == 3
    finally:
        serve.terminate()
        serve.wait(30)
        log.close()
