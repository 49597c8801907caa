"""A real `prefect server start` (its database on PostgreSQL) and a real `rectify serve`:
deployments registered and read back, scheduled at 09:00 Asia/Shanghai, and a run
triggered through the API completes with notices delivered."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from rectify_core.delivery.mailsink import MailSink
from tests.deliveries import EMAIL, mail, setup_db
from tests.fixtures.channels import write_contacts
from tests.fixtures.prefect import BIN, run_deployed, wait_for


def test_serve_registers_schedules_and_runs(prefect_server: dict[str, str], sqlite_url: str, tmp_path: Path,
                                            mail_sink: MailSink) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter
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
            daily, quarterly, fanout, _ = wait_for(lambda: [client.read_deployment_by_name(n) for n in names], 90,
                                                "all deployments")
            for dep, cron, active in ((daily, "0 9 * * *", True), (quarterly, "0 9 1 1,4,7,10 *", True),
                                      (fanout, "0 9 * * *", False)):
                [schedule] = dep.schedules
                assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
                    cron, "Asia/Shanghai", active)
            # the scheduler has planned the next runs: 09:00 in Shanghai is 01:00 UTC
            runs = wait_for(lambda: client.read_flow_runs(deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=[daily.id]))), 60, "scheduled runs")
            starts = [r.expected_start_time.astimezone(dt.UTC) for r in runs if r.expected_start_time]
            assert starts and all((t.hour, t.minute) == (1, 0) for t in starts)
            # a run triggered through the API is picked up by the serve process
            run = run_deployed("rectify-daily/daily", parameters={"date": "2026-11-25"}, timeout=180)
            assert run.state is not None and run.state.is_completed(), run.state
            assert len(client.read_flow_runs(flow_run_filter=FlowRunFilter())) >= 1
        assert len(mail_sink.messages) == 3
    finally:
        serve.terminate()
        serve.wait(30)
        log.close()
