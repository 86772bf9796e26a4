"""Kill the engine (a real subprocess, SIGKILL) at random moments; every execution still finishes once."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from stepline.engine import ManualClock, Store
from tests.e2e import crash_worker

EXECUTIONS = 100
WORKER = Path(crash_worker.__file__)


def running_executions(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT count(*) FROM executions WHERE status = 'RUNNING'").fetchone()[0])


def test_executions_survive_being_killed_mid_flight(tmp_path: Path) -> None:
    # Given the outputs of an uninterrupted run of the same executions
    calm = crash_worker.make_engine(Store(), ManualClock())
    machine = crash_worker.start_all(calm, EXECUTIONS)
    calm.run(
        skip_waits=True,
        block=True,
        timeout=60,
        until=lambda: not calm.list_executions(machine, status_filter="RUNNING")["executions"],
    )
    expected = {
        run["name"]: calm.describe_execution(run["executionArn"])["output"]
        for run in calm.list_executions(machine)["executions"]
    }
    assert len(expected) == EXECUTIONS

    # When a worker process is killed with SIGKILL at random moments and restarted, again and again
    database = tmp_path / "engine.db"
    chance = random.Random(20261122)
    kills_mid_flight = 0
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for _ in range(60):
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), str(database), str(EXECUTIONS)],
            env=environment,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        # Only once the worker says it runs: before that a kill would only interrupt its start-up
        # (on a loaded machine, perhaps every time).
        if worker.stdout.readline() != "running\n":
            assert worker.wait(timeout=180) == 0
            break
        time.sleep(chance.uniform(0.0, 0.25))  # when to pull the plug, not a measurement
        if worker.poll() is not None:
            break
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        if running_executions(database):
            kills_mid_flight += 1
    print(f"kills mid-flight: {kills_mid_flight}")
    finisher = subprocess.run(
        [sys.executable, str(WORKER), str(database), str(EXECUTIONS)], env=environment, timeout=180, check=False
    )
    assert finisher.returncode == 0

    # Then the kills really interrupted work, and every execution finished exactly once, as calmly
    assert kills_mid_flight >= 3
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT name, status, output FROM executions WHERE state_machine_arn LIKE '%:crash'"
        ).fetchall()
        assert sorted(name for name, _, _ in rows) == sorted(expected)
        assert {status for _, status, _ in rows} == {"SUCCEEDED"}
        assert {name: json.loads(output) for name, _, output in rows} == {
            name: json.loads(out) for name, out in expected.items()
        }
        finals = db.execute(
            "SELECT execution_arn, count(*) FROM events WHERE type IN ('ExecutionStarted', 'ExecutionSucceeded') "
            "GROUP BY execution_arn"
        ).fetchall()
        assert {count for _, count in finals} == {2}
        gaps = db.execute("SELECT execution_arn, max(id) - count(*) FROM events GROUP BY execution_arn").fetchall()
        assert {gap for _, gap in gaps} == {0}
        # And recovery left no thread of control behind, nor anything of one: an execution's
        # frames, with their Parallel and Map lists, are deleted as it ends
        for table in ("frames", "map_items", "results"):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
