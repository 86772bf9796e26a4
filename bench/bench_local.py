"""Stepline on one machine: orchestration overhead per action, and push-to-first-state latency.

1. A no-op pipeline of 10 stages × 3 actions (three git sources, then 27 Lambda invokes whose
   handlers return at once), compiled and run on the embedded engine, and the same definition
   on moto's ASL interpreter: the time per action is what the orchestration itself costs.
2. A real `stepline serve`, a bare repository with Stepline's hook installed, and `git push`:
   the time from starting the push to the execution's first state entered (read from the
   engine's history), beside a plain `git push` of the same kind of commit with no hook.
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

import bench.bench_engine as engine_bench
from bench.bench_engine import run_moto
from stepline.compiler import compile_checked, substitute
from stepline.definition import valid_pipeline
from stepline.engine import Engine, Functions, ManualClock, Store

STAGES, ACTIONS = 10, 3
IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@stepline.invalid"]


def no_op_pipeline() -> dict[str, Any]:
    def source(index: int) -> dict[str, Any]:
        return {
            "name": f"Checkout{index}",
            "actionTypeId": {"category": "Source", "owner": "Custom", "provider": "Git", "version": "1"},
            "configuration": {"RepositoryUrl": f"/srv/repo{index}.git", "BranchName": "main"},
            "outputArtifacts": [{"name": f"Src{index}"}],
        }

    def invoke(stage: int, index: int) -> dict[str, Any]:
        return {
            "name": f"Invoke{stage}x{index}",
            "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"},
            "configuration": {"FunctionName": "no-op"},
        }

    stages = [{"name": "Source", "actions": [source(i) for i in range(ACTIONS)]}]
    stages += [{"name": f"Stage{s}", "actions": [invoke(s, i) for i in range(ACTIONS)]} for s in range(1, STAGES)]
    return {"name": "no-op", "pipelineType": "V2", "executionMode": "PARALLEL", "stages": stages}


def no_op(event: Any, context: Any) -> Any:
    artifacts = {a["name"]: {"location": f"mem://{a['name']}"} for a in event["action"].get("outputArtifacts", [])}
    return {"artifacts": artifacts, "variables": {}}


def per_action_on_engine(definition: dict[str, Any], count: int, path: str) -> float:
    engine = Engine(Store(path), clock=ManualClock(), functions=Functions(dict.fromkeys(HANDLERS, no_op)))
    machine = engine.create_state_machine("no-op", definition)["stateMachineArn"]
    began = time.perf_counter()
    for index in range(count):
        arn = engine.start_execution(machine, f"e{index}", "{}")["executionArn"]
        engine.run(skip_waits=True)
    elapsed = time.perf_counter() - began
    assert engine.describe_execution(arn)["status"] == "SUCCEEDED"
    engine.store.close()
    return elapsed / count / (STAGES * ACTIONS)


HANDLERS = ("SourceFunctionArn", "InvokeFunctionArn")


def git(cwd: Path, *arguments: str) -> None:
    subprocess.run(["git", *IDENTITY, *arguments], cwd=cwd, check=True, capture_output=True)


def push_latency(home: Path, pushes: int) -> tuple[float, float]:
    """Median seconds from `git push` starting to the first state, and of a hook-less push."""
    stepline = [sys.executable, "-m", "stepline"]
    data = home / ".stepline"
    bare, plain, work = home / "app.git", home / "plain.git", home / "work"
    for repository in (bare, plain):
        git(home, "init", "--quiet", "--bare", "--initial-branch=main", str(repository))
    git(home, "clone", "--quiet", str(bare), str(work))
    git(work, "remote", "add", "plain", str(plain))
    (work / "buildspec.yml").write_text("version: 0.2\nphases:\n  build:\n    commands: ['true']\n")
    document = {
        "name": "pushed",
        "pipelineType": "V2",
        "executionMode": "PARALLEL",
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Checkout",
                "actionTypeId": {"category": "Source", "owner": "Custom", "provider": "Git", "version": "1"},
                "configuration": {"RepositoryUrl": str(bare), "BranchName": "main"},
                "outputArtifacts": [{"name": "Src"}],
            }]},
            {"name": "Build", "actions": [{
                "name": "Build",
                "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "pushed"},
                "inputArtifacts": [{"name": "Src"}],
            }]},
        ],
    }  # fmt: skip
    (home / "pushed.yaml").write_text(yaml.safe_dump(document))
    server = subprocess.Popen(
        [*stepline, "serve", "--port", "0", "--data", str(data)],
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        url = re.search(r"serving on (\S+)", server.stdout.readline())[1]  # type: ignore[index]
        for command in (["apply", str(home / "pushed.yaml")], ["hook", "install", str(bare)]):
            subprocess.run(
                [*stepline, *command, "--url", url, "--data", str(data)], cwd=home, check=True, capture_output=True
            )
        hooked, plain_pushes = [], []
        for index in range(pushes):
            (work / "change.txt").write_text(f"{index}\n")
            git(work, "add", "--all")
            git(work, "commit", "--quiet", "--message", f"change {index}")
            began = time.time()
            git(work, "push", "--quiet", "origin", "main")
            hooked.append(first_state(data / "engine.sqlite", index + 1) - began)
            began_plain = time.perf_counter()
            git(work, "push", "--quiet", "plain", "main")
            plain_pushes.append(time.perf_counter() - began_plain)
        return statistics.median(hooked), statistics.median(plain_pushes)
    finally:
        server.terminate()
        server.wait(timeout=30)


def first_state(database: Path, executions: int) -> float:
    """When the newest execution's first state was entered (the engine's own timestamp)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as db:
            rows = db.execute(
                "SELECT MIN(ev.timestamp) FROM events ev JOIN executions ex ON ex.arn = ev.execution_arn "
                "WHERE ev.type LIKE '%StateEntered' GROUP BY ex.arn ORDER BY ex.started"
            ).fetchall()
        if len(rows) >= executions:
            return float(rows[executions - 1][0])
        time.sleep(0.002)
    raise AssertionError("the push started no execution")


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    loaded = valid_pipeline(no_op_pipeline(), "no-op")
    compiled = compile_checked(loaded.pipeline)
    definition = substitute(compiled.definition, {name: name for name in compiled.placeholders})
    with tempfile.TemporaryDirectory() as folder:
        ours = per_action_on_engine(definition, 50, str(Path(folder) / "no-op.db"))
        theirs = run_moto_no_op(definition) / (STAGES * ACTIONS)
        print(f"local: orchestration overhead per action, no-op pipeline of {STAGES} stages x {ACTIONS} actions")
        print(f"  stepline's embedded engine (durable, SQLite)  {ours * 1000:8.3f} ms/action  (target <= 5 ms)")
        print(f"  moto's ASL interpreter                        {theirs * 1000:8.3f} ms/action")
        print(f"  ratio: moto takes {theirs / ours:,.0f}x as long per action")
        print()
        latency, plain = push_latency(Path(folder), pushes=7)
        print("local: from `git push` to the execution's first state, through Stepline's hook and stepline serve")
        print(f"  push with the hook, to first state (median of 7)  {latency * 1000:8.1f} ms  (target <= 250 ms)")
        print(f"  plain `git push` with no hook (median of 7)       {plain * 1000:8.1f} ms")
        print(f"  ratio: the hooked push takes {latency / plain:,.1f}x a plain push's time to get that far")


def run_moto_no_op(definition: dict[str, Any]) -> float:
    saved = dict(engine_bench.FUNCTIONS)
    engine_bench.FUNCTIONS.update(dict.fromkeys(HANDLERS, no_op))
    try:
        return run_moto(definition, 5)
    finally:
        engine_bench.FUNCTIONS.clear()
        engine_bench.FUNCTIONS.update(saved)


if __name__ == "__main__":
    main()
