"""Stepline on one machine: orchestration overhead per action, and push-to-first-state latency.

1. A no-op pipeline of 10 stages × 3 actions (three git sources, then 27 Lambda invokes whose
   handlers return at once), compiled and run on the embedded engine, and the same definition
   on moto's ASL interpreter (measured as bench_engine measures it), in interleaved rounds:
   the CPU time per action is what the orchestration itself costs.
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

from bench.bench_engine import Moto, OnEngine, pipeline_handler
from bench.timing import interleaved, ratio, row, spread, verdict
from stepline.compiler import compile_checked, substitute
from stepline.definition import valid_pipeline

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


HANDLERS = ("SourceFunctionArn", "InvokeFunctionArn")
ACTION_COUNT = STAGES * ACTIONS


def per_action(definition: dict[str, Any], folder: str) -> None:
    # The stage gates (a PARALLEL pipeline's are let through at once) answer as an unheld gate does.
    functions = {**dict.fromkeys(HANDLERS, no_op), "StageGateFunctionArn": pipeline_handler}
    ours = OnEngine(definition, folder, functions)
    with Moto(functions).running() as moto:
        machine = moto.machine(definition)
        samples = interleaved(
            {
                "ours": (lambda: ours.run(1, "{}"), ACTION_COUNT),
                "moto": (lambda: moto.run(machine, 1, parse=True, given="{}"), ACTION_COUNT),
            },
            rounds=9,
        )
    ours.close()
    print(
        f"local: orchestration per action, no-op pipeline of {STAGES} stages x {ACTIONS} actions "
        "(median (min–max) of 9 interleaved rounds)"
    )
    print(row("stepline's embedded engine (durable, SQLite)", samples["ours"]))
    print(row("moto's ASL interpreter", samples["moto"]))
    print(f"  ratio: moto takes {ratio(samples['moto'], samples['ours'])} ours per action")
    cpu = samples["ours"].cpu_median
    print(f"  target <= 0.5 ms cpu per action: {cpu * 1000:.3f} ms, {verdict(cpu <= 0.0005)}")


def git(cwd: Path, *arguments: str) -> None:
    subprocess.run(["git", *IDENTITY, *arguments], cwd=cwd, check=True, capture_output=True)


def push_latency(home: Path, pushes: int) -> tuple[list[float], list[float]]:
    """Seconds from each `git push` starting to the first state, and of each hook-less push."""
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
        hooked, plain_pushes = [], []  # interleaved: a hooked push, then a plain one
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
        return hooked, plain_pushes
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
        per_action(definition, folder)
        print()
        latency, plain = push_latency(Path(folder), pushes=7)
        print("local: from `git push` to the execution's first state, through Stepline's hook and stepline serve")
        print(f"  push with the hook, to first state, median (min–max) of 7  {spread(latency, digits=1)} ms")
        print(f"  plain `git push` with no hook, median (min–max) of 7       {spread(plain, digits=1)} ms")
        median = statistics.median(latency)
        times = median / statistics.median(plain)
        print(f"  ratio: the hooked push takes {times:,.1f}x a plain push's time to get that far")
        print(f"  target <= 250 ms: {verdict(median <= 0.25)}")


if __name__ == "__main__":
    main()
