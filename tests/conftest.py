"""The test suite's fixtures, by concern, on real parts: databases (a SQLite file and a
throwaway PostgreSQL server), channels (an SMTP sink and an HTTP receiver on loopback),
the CLI run in-process, and Prefect (the test harness and a real server)."""

from __future__ import annotations

import os

import pytest

# Prefect's temporary test server: no telemetry writes racing on its own SQLite file
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

pytest_plugins = ["tests.fixtures.databases", "tests.fixtures.channels", "tests.fixtures.cli",
                  "tests.fixtures.prefect", "tests.fixtures.platforms", "tests.fixtures.web"]


@pytest.fixture(autouse=True)
def own_data_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own per-user data folder: files a PostgreSQL-backed test keeps (evidence,
    uploads) never land in the home directory or in another test's store."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.delenv("RECTIFY_FILES_DIR", raising=False)
