"""The embedded engine beside its peers, and against issue 20's targets, as ratios in one run.

1. Per execution, beside moto's ASL interpreter (LocalStack's), on the same definitions. The
   engine commits to SQLite on disk (WAL, synchronous=NORMAL: survives the process being
   killed). moto runs each execution on a worker thread: the bench joins that thread (no
   polling to compete with it), then checks the status once. moto parses the definition
   again for every execution; it is shown with that parse and with the parsed program kept,
   apart. Its log lines (NoSuchJsonPathError…) are silenced; its JSONata bridge, which moto
   ships stubbed out, is served by jsonatapy as in the conformance suite.
2. A 1,000-state Pass chain beside a bare SQLite loop writing the same rows (the execution,
   its events) in one transaction per execution: the physical limit of durable history.
3. A Map of 100,000 Pass items, in a fresh process each round (peak RSS is the process's). It
   is a distributed Map: an inline Map's 400,000 history events would pass Step Functions'
   quota of 25,000 per execution, here as on AWS. An inline Map of 1,000 and 6,000 items
   beside it shows the cost per item staying flat.

Every figure is the median of interleaved rounds with its spread (bench/timing.py), process
CPU time beside wall time.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.timing import Samples, interleaved, ratio, row, spread, verdict
from stepline.compiler import compile_checked, substitute
from stepline.definition import load_valid_pipeline
from stepline.engine import Engine, Functions, ManualClock, Store

REPO = Path(__file__).resolve().parent.parent
LAMBDA = "arn:aws:states:::lambda:invoke"
MAP_ITEMS = 100_000
ROUNDS = 9  # interleaved rounds of each comparison

SMALL = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n", "tag": "bench"}, "Next": "Decide"},
        "Decide": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Work"}],
            "Default": "Done",
        },
        "Work": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.n, 1)"}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}

TASKS = {
    "StartAt": "Fan out",
    "States": {
        "Fan out": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": f"Echo {i}",
                    "States": {
                        f"Echo {i}": {
                            "Type": "Task",
                            "Resource": LAMBDA,
                            "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
                            "OutputPath": "$.Payload",
                            "End": True,
                        }
                    },
                }
                for i in range(2)
            ],
            "Next": "Last",
        },
        "Last": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {"FunctionName": "echo", "Payload.$": "$[0]"},
            "OutputPath": "$.Payload",
            "End": True,
        },
    },
}


def pass_chain(length: int) -> dict[str, Any]:
    states: dict[str, Any] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(length)}
    states[f"S{length - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "S0", "States": states}


def distributed_map(items: int) -> dict[str, Any]:
    """A Map of ``items`` Pass items, made by the Map itself (an input that big passes 256 KiB)."""
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "Items": f"{{% [0..{items - 1}] %}}",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "Output": "{% $count($states.result) %}",
                "End": True,
            }
        },
    }


def inline_map(items: int) -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}},
                "ResultSelector": {"count.$": "States.ArrayLength($)"},
                "End": True,
            }
        },
    }


def pipeline_definition() -> dict[str, Any]:
    compiled = compile_checked(load_valid_pipeline(REPO / "examples" / "pipelines" / "friend-reminders.json").pipeline)
    return substitute(compiled.definition, {name: name for name in compiled.placeholders})


def echo(event: Any, context: Any) -> Any:
    return event


def pipeline_handler(event: Any, context: Any) -> Any:
    """A stand-in for Stepline's handlers: every declared output artifact, as a reference (a stage
    gate's enter or release names no action: it is let through at once, as an unheld gate is)."""
    declared = event.get("action", {}).get("outputArtifacts", [])
    artifacts = {a["name"]: {"location": f"mem://{a['name']}"} for a in declared}
    result = {"artifacts": artifacts, "variables": {"CommitId": "3f2a9c1"}}
    if "taskToken" in event:
        ENGINE_FOR_CALLBACKS[0].send_task_success(event["taskToken"], json.dumps(result))
        return {}
    return result


ENGINE_FOR_CALLBACKS: list[Engine] = []
FUNCTIONS: dict[str, Callable[[Any, Any], Any]] = {
    "echo": echo,
    **{
        name: pipeline_handler
        for name in ("SourceFunctionArn", "BuildFunctionArn", "DeployEcsFunctionArn", "StageGateFunctionArn")
    },
}
_names = itertools.count()


class OnEngine:
    """One state machine on a durable engine (a file in ``folder``); ``run(n)`` runs n executions."""

    def __init__(self, definition: dict[str, Any], folder: str, functions: dict[str, Any] | None = None) -> None:
        self.engine = Engine(
            Store(str(Path(folder) / f"engine-{next(_names)}.sqlite")),
            clock=ManualClock(),
            functions=Functions(functions or FUNCTIONS),
        )
        self.machine = self.engine.create_state_machine("bench", definition)["stateMachineArn"]

    def run(self, count: int, given: str = '{"n": 1}') -> str:
        """Each execution started, run, and described once, as the moto side does."""
        ENGINE_FOR_CALLBACKS[:] = [self.engine]
        last = ""
        for _ in range(count):
            last = self.engine.start_execution(self.machine, f"e{next(_names)}", given)["executionArn"]
            self.engine.run(skip_waits=True)
            status = self.engine.describe_execution(last)["status"]
            assert status == "SUCCEEDED", status
        return str(last)

    def close(self) -> None:
        self.engine.store.close()


class Moto:
    """moto's Step Functions and Lambda, fairly measured (see the module's docstring).

    ``parse`` says whether an execution parses its definition (moto's own behaviour) or reuses
    the program parsed by the first one.
    """

    def __init__(self, functions: dict[str, Callable[[Any, Any], Any]]) -> None:
        self.functions = functions
        self.parse = True
        self.threads: list[threading.Thread] = []
        self.programs: dict[str, Any] = {}

    @contextmanager
    def running(self) -> Iterator[Moto]:
        import boto3  # noqa: PLC0415 - moto and boto3 load only when a bench needs them
        from moto import mock_aws  # noqa: PLC0415
        from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415
        from moto.stepfunctions.parser.asl.jsonata import jsonata as bridge  # noqa: PLC0415
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser  # noqa: PLC0415
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker  # noqa: PLC0415

        from tests import moto_jsonata  # noqa: PLC0415

        logging.getLogger("moto").setLevel(logging.CRITICAL)  # NoSuchJsonPathError and the like
        bench = self

        def start(worker: Any) -> None:
            thread = threading.Thread(target=worker._execution_logic, daemon=True)
            bench.threads.append(thread)
            thread.start()

        def entrypoint(worker: Any) -> Any:
            definition = worker._evaluation_details.state_machine_details.definition
            if bench.parse or definition not in bench.programs:
                bench.programs[definition] = AmazonStateLanguageParser.parse(definition)[0]
            return bench.programs[definition]

        def invoke(backend: Any, name: str, qualifier: Any, body: Any, headers: Any, response: Any) -> bytes:
            event = json.loads(body)
            function = bench.functions[name.rsplit(":", 1)[-1]]
            if "taskToken" in event:
                token = event.pop("taskToken")
                self.sfn.send_task_success(taskToken=token, output=json.dumps(pipeline_handler(event, None)))
                return b"{}"
            return json.dumps(function(event, None)).encode()

        patched = [
            (LambdaSimpleBackend, "invoke", invoke),
            (ExecutionWorker, "start", start),
            (ExecutionWorker, "_get_evaluation_entrypoint", entrypoint),
            (bridge, "_eval_jsonata", moto_jsonata.evaluate),
        ]
        saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
        for owner, name, value in patched:
            setattr(owner, name, value)
        try:
            config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
            with mock_aws(config=config):  # type: ignore[arg-type]
                self.sfn = boto3.client("stepfunctions", region_name="us-east-1")
                functions = boto3.client("lambda", region_name="us-east-1")
                iam = boto3.client("iam", region_name="us-east-1")
                self.role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
                for name in self.functions:
                    functions.create_function(
                        FunctionName=name, Runtime="python3.12", Role=self.role, Handler="a.b", Code={"ZipFile": b"x"}
                    )
                yield self
        finally:
            for owner, name, value in saved:
                setattr(owner, name, value)

    def machine(self, definition: dict[str, Any]) -> str:
        name = f"bench{next(_names)}"
        created = self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=self.role)
        return str(created["stateMachineArn"])

    def run(self, machine: str, count: int, *, parse: bool, given: str = '{"n": 1}') -> dict[str, Any]:
        self.parse = parse
        described: dict[str, Any] = {}
        for _ in range(count):
            name = f"e{next(_names)}"
            arn = self.sfn.start_execution(stateMachineArn=machine, name=name, input=given)["executionArn"]
            self.threads[-1].join()
            described = self.sfn.describe_execution(executionArn=arn)
            assert described["status"] == "SUCCEEDED", described
        return described


def per_execution(moto: Moto, folder: str) -> None:
    cases = (
        ("Pass/Choice", SMALL, 100, 3, True),
        ("Parallel + lambda:invoke", TASKS, 40, 3, False),
        ("FriendReminders pipeline", pipeline_definition(), 20, 2, True),
    )
    for title, definition, ours_count, moto_count, targeted in cases:
        ours = OnEngine(definition, folder)
        history, execution = rows_of(ours.engine, ours.run(1))
        bare = bare_sqlite_loop(str(Path(folder) / f"bare-{next(_names)}.sqlite"), history, execution)
        machine = moto.machine(definition)
        with_parse = moto.run(machine, 1, parse=True)
        kept = moto.run(machine, 1, parse=False)
        alike = [json.loads(run["output"].replace(run["name"], "NAME")) for run in (with_parse, kept)]
        assert alike[0] == alike[1], "a kept program must run as a parsed one does"
        samples = interleaved(
            {
                "ours": (lambda o=ours, n=ours_count: o.run(n), ours_count),
                "bare": (lambda b=bare, n=ours_count: [b() for _ in range(n)], ours_count),
                "moto": (lambda m=machine, n=moto_count: moto.run(m, n, parse=True), moto_count),
                "kept": (lambda m=machine, n=moto_count: moto.run(m, n, parse=False), moto_count),
            },
            rounds=ROUNDS,
        )
        transitions = sum(kind.endswith("StateEntered") for _, kind, *_ in history)
        ours.close()
        print(f"engine: {title} ({transitions} state transitions; per execution, median (min–max) of {ROUNDS} rounds)")
        print(row("stepline, durable (SQLite, WAL)", samples["ours"]))
        print(row("moto, parsing its definition each execution (as it does)", samples["moto"]))
        print(row("moto, its parsed program kept", samples["kept"]))
        print(row(f"bare SQLite: its {len(history)} events and its row, 1 commit", samples["bare"]))
        with_parse_ratio = samples["moto"].cpu_median / samples["ours"].cpu_median
        kept_ratio = samples["kept"].cpu_median / samples["ours"].cpu_median
        print(f"  ratio: moto with its parse takes {ratio(samples['moto'], samples['ours'])} ours")
        print(f"  ratio: moto without it takes       {ratio(samples['kept'], samples['ours'])} ours")
        ceiling = samples["moto"].cpu_median / samples["bare"].cpu_median
        print(f"  (moto with its parse takes {ceiling:,.0f}x cpu what writing this execution's rows alone takes)")
        if targeted:
            print(
                f"  target >= 100x with the parse: {with_parse_ratio:,.0f}x cpu, {verdict(with_parse_ratio >= 100)}; "
                f">= 30x without: {kept_ratio:,.0f}x cpu, {verdict(kept_ratio >= 30)}"
            )
        print()


def bare_sqlite_loop(path: str, history: list[tuple[Any, ...]], execution: tuple[Any, ...]) -> Callable[[], None]:
    """One execution's rows written as plainly as SQLite allows: the execution, its events, its end,
    on the engine's own schema and settings, in one transaction (the engine's floor: StartExecution
    commits an execution that never pauses in one, with its start)."""
    store = Store(path)
    db = store.db
    arn, machine, _, _, given, output, _ = execution
    insert = (
        "INSERT INTO events (execution_arn, id, type, timestamp, previous, details, payload_field, payload) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )

    def run() -> None:
        name = f"e{next(_names)}"
        key = f"{arn.rsplit(':', 1)[0]}:{name}"
        now = time.time()
        rows = [
            (key, number, kind, now, previous, details, field, payload)
            for number, kind, previous, details, field, payload in history
        ]
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO executions (arn, state_machine_arn, name, status, input, started) VALUES (?, ?, ?, ?, ?, ?)",
            (key, machine, name, "RUNNING", given, now),
        )
        db.executemany(insert, rows)
        db.execute(
            "UPDATE executions SET status = ?, output = ?, stopped = ? WHERE arn = ?", ("SUCCEEDED", output, now, key)
        )
        db.execute("COMMIT")

    return run


def rows_of(engine: Engine, execution: str) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """An execution's event rows (without their execution and time) and its own row."""
    history = engine.store.query(
        "SELECT id, type, previous, details, payload_field, payload FROM events WHERE execution_arn = ? ORDER BY id",
        (execution,),
    )
    (row,) = engine.store.query(
        "SELECT arn, state_machine_arn, name, status, input, output, started FROM executions WHERE arn = ?",
        (execution,),
    )
    return history, row


def chain_beside_sqlite(folder: str) -> None:
    states = 1000
    ours = OnEngine(pass_chain(states), folder)
    history, execution = rows_of(ours.engine, ours.run(1))
    bare = bare_sqlite_loop(str(Path(folder) / "bare.sqlite"), history, execution)
    samples = interleaved({"ours": (lambda: ours.run(1), 1), "bare": (bare, 1)}, rounds=9)
    ours.close()
    mine, floor = samples["ours"], samples["bare"]
    rate = [states / seconds for seconds in mine.cpu]
    print(f"engine: a {states}-state Pass chain, {len(history)} events (per execution, median (min–max) of 9 rounds)")
    print(row("stepline, durable (SQLite, WAL)", mine))
    print(row("bare SQLite loop: the same rows, one transaction", floor))
    print(f"  durable transitions per second of CPU: {spread(rate, 1, 0)}")
    over = mine.cpu_median / floor.cpu_median
    median_rate, wall_over = statistics.median(rate), mine.wall_median / floor.wall_median
    print(f"  target >= 50,000 transitions/s of cpu: {median_rate:,.0f}, {verdict(median_rate >= 50_000)}")
    print(f"  target within 3x of the bare loop: {over:.2f}x cpu ({wall_over:.2f}x wall), {verdict(over <= 3)}")
    print()


def map_in_a_fresh_process(items: int) -> dict[str, float]:
    """Run ``python -m bench.bench_engine --map N``: its CPU, wall and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_engine", "--map", str(items)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.splitlines()[-1]))


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def map_child(items: int) -> None:
    """In the fresh process: one Map of ``items`` items; prints what it cost as JSON."""
    with tempfile.TemporaryDirectory() as folder:
        engine = Engine(Store(str(Path(folder) / "map.sqlite")), clock=ManualClock())
        machine = engine.create_state_machine("map", distributed_map(items))["stateMachineArn"]
        before = peak_rss_mb()
        cpu, wall = time.process_time(), time.perf_counter()
        execution = engine.start_execution(machine, "many", "{}")["executionArn"]
        engine.run(skip_waits=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        described = engine.describe_execution(execution)
        assert (described["status"], described["output"]) == ("SUCCEEDED", str(items)), described
        print(json.dumps({"cpu": cpu, "wall": wall, "peak_mb": peak_rss_mb(), "start_mb": before}))


def maps(folder: str) -> None:
    rounds = [map_in_a_fresh_process(MAP_ITEMS) for _ in range(3)]
    cpu, wall = [r["cpu"] for r in rounds], [r["wall"] for r in rounds]
    peak, start = [r["peak_mb"] for r in rounds], [r["start_mb"] for r in rounds]
    print(f"engine: a Map of {MAP_ITEMS:,} Pass items (distributed), a fresh process each round, median (min–max) of 3")
    rate = MAP_ITEMS / statistics.median(cpu)
    print(f"  cpu {spread(cpu, 1)} s   wall {spread(wall, 1)} s   {rate:,.0f} items/s of cpu")
    print(f"  peak RSS {spread(peak, 1, 0)} MB (the process held {statistics.median(start):.0f} MB before the Map)")
    print(
        f"  target <= 10 s cpu: {verdict(statistics.median(cpu) <= 10)}; "
        f"<= 300 MB peak: {verdict(statistics.median(peak) <= 300)}"
    )
    small, large = OnEngine(inline_map(1000), folder), OnEngine(inline_map(6000), folder)
    inputs = {size: json.dumps({"items": list(range(size))}) for size in (1000, 6000)}
    samples: dict[str, Samples] = interleaved(
        {
            "1000": (lambda: small.run(1, inputs[1000]), 1000),
            "6000": (lambda: large.run(1, inputs[6000]), 6000),
        },
        rounds=5,
    )
    small.close()
    large.close()
    print("engine: an inline Map's cost per item (the most items under the 25,000-event quota), median (min–max) of 5")
    print(row("1,000 items", samples["1000"], unit="ms", digits=4))
    print(row("6,000 items", samples["6000"], unit="ms", digits=4))
    growth = samples["6000"].cpu_median / samples["1000"].cpu_median
    print(f"  6x the items, {growth:.2f}x the cost per item: linear {verdict(growth < 1.5)}")
    print()


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with tempfile.TemporaryDirectory() as folder:
        with Moto(FUNCTIONS).running() as moto:
            per_execution(moto, folder)
        chain_beside_sqlite(folder)
        maps(folder)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--map"]:
        map_child(int(sys.argv[2]))
    else:
        main()
