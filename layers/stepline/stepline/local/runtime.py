"""Stepline on one machine: the embedded engine running the Lambda handlers in-process.

The same compiled definition as on AWS; each ``${Placeholder}`` names an in-process handler
(template.yaml's CodeUri and Handler, loaded by path as Lambda loads it) instead of a function
ARN, and the static state machines template.yaml declares are created on the engine. State lives
in one data directory (default ``.stepline``): the engine's SQLite file, the pipeline
registry, approvals, artifacts, workspaces and build logs.
"""

from __future__ import annotations

import fcntl
import json
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stepline import wiring
from stepline.actions.build.local import clean_workspaces
from stepline.actions.completions import sweep
from stepline.actions.errors import ACTION_FAILURES
from stepline.actions.sweeper import work_kinds
from stepline.adapters.local import private_data_directory
from stepline.adapters.local.engine import EngineCallbacks
from stepline.adapters.local.functions import load_callable
from stepline.adapters.local.objects import LocalObjectStore
from stepline.adapters.local.workflows import EngineWorkflows, status_change_event
from stepline.compiler import compile_checked, substitute
from stepline.definition.models import PipelineDeclaration
from stepline.engine import Engine, EngineError, Functions, Store
from stepline.engine.store import StoreError
from stepline.errors import ConfigurationError
from stepline.local.reporting import ReportedStarts, report_locally
from stepline.local.template import read_template
from stepline.observability import logger
from stepline.ports.pipelines import RegisteredPipeline
from stepline.registry import state_machine_name
from stepline.settings import give, local_settings, take_back
from stepline.status import PipelineRun, run_of

# The stack output naming the function EventBridge sends service state changes to.
CALLBACKS_PLACEHOLDER = "CallbacksFunctionArn"
# The sweeper's polling, which EventBridge Scheduler runs every five minutes on AWS, runs here
# every second on waiters of any age: what it polls (a stack on AWS or an emulator) has no
# event to report its end on this machine. Approvals keep their own path (the API).
SWEEP_EVERY_SECONDS = 1.0


def checkout(configured: Path | None = None) -> Path:
    """Where template.yaml, functions/ and statemachines/ are: STEPLINE_HOME, else the checkout
    this package was installed from (``make`` installs it editable)."""
    home = configured or Path(__file__).resolve().parents[4]
    if not (home / "template.yaml").is_file():
        raise ConfigurationError(
            f"template.yaml and the Lambda handlers are not in {home}: run Stepline from its checkout, "
            "or set STEPLINE_HOME to one"
        )
    return home


class LocalRuntime:
    """The engine, its handlers and the local adapters, wired for one data directory."""

    def __init__(
        self,
        data: Path,
        *,
        workers: int = 4,
        environment: Mapping[str, str] | None = None,
        runs_executions: bool = True,
    ) -> None:
        self.data = data.resolve()
        # The handlers get their settings from this runtime, read once here (``environment``
        # adds variables such as --source's); os.environ is never rewritten.
        self.settings = local_settings(self.data, environment)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._sweeping: threading.Thread | None = None
        private_data_directory(self.data, files=("engine.sqlite", "engine.lock"))  # 0700, its files 0600
        # One engine runs a data directory's executions at a time: two would both pick up the
        # unfinished ones and run them twice. Readers (executions, show) take no lock.
        self._lock_file = self._lock() if runs_executions else None
        if runs_executions:
            clean_workspaces(self.data / "workspaces", self.data / "runs")
        wiring.reset()
        give(self.settings)
        try:
            self._start(workers)
        except BaseException:
            take_back(self.settings)
            raise

    def _start(self, workers: int) -> None:
        """The handlers, the engine and the static state machines, for this runtime's settings."""
        # Handlers and static state machines exactly as template.yaml declares them, the way
        # `sam local invoke` finds a function: the stack output's name is the placeholder.
        stack = read_template(checkout(self.settings.home))
        # An action's own failure (ACTION_FAILURES) is expected; anything else is a bug whose traceback is logged.
        handlers = {placeholder: handler.load() for placeholder, handler in stack.handlers.items()}
        functions = Functions(handlers, expected=ACTION_FAILURES)
        # S3 for distributed Maps' ItemReader and ResultWriter: <data>/buckets/<bucket>/<key>.
        objects = LocalObjectStore(self.data / "buckets")
        self.engine = Engine(
            Store(str(self.data / "engine.sqlite")), functions=functions, workers=workers, objects=objects
        )
        wiring.install_local_callbacks(EngineCallbacks(self.engine))
        # Starts and ends reach the commit-status reporter as EventBridge brings them to it on AWS.
        wiring.install_local_workflows(ReportedStarts(EngineWorkflows(self.engine)))
        # What EventBridge's ExecutionStatusChange rule does on AWS: an execution's end goes to
        # the callbacks function, which answers a Step Functions invoke action waiting for it.
        callbacks = handlers[CALLBACKS_PLACEHOLDER]
        self.engine.on_finished(lambda described: callbacks(status_change_event(described), None))
        self.engine.on_finished(lambda described: report_locally(status_change_event(described)))
        self.registry = wiring.registry()
        self.resources = {placeholder: placeholder for placeholder in stack.handlers}
        for placeholder, machine in stack.machines.items():
            filled = substitute(machine.definition, machine.substitutions)
            self.resources[placeholder] = self.engine.create_state_machine(machine.name, filled)["stateMachineArn"]
        self._add_user_resources(functions)

    def _add_user_resources(self, functions: Functions) -> None:
        """The user's functions (STEPLINE_FUNCTIONS) and state machines (STEPLINE_STATE_MACHINES),
        what Invoke actions reach on AWS, created on this engine."""
        configured = self.settings
        for name, target in configured.functions.items():
            functions.register(name, load_callable(target, f"STEPLINE_FUNCTIONS {name}"))
        for name, file in configured.state_machines.items():
            label = f"STEPLINE_STATE_MACHINES {name}"
            try:
                definition = json.loads(Path(file).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise ConfigurationError(f"{label}: cannot read {file}: {error}") from None
            try:
                self.engine.create_state_machine(name, definition)
            except EngineError as error:
                raise ConfigurationError(f"{label}: {file}: {error.message}") from None

    def _lock(self) -> Any:
        handle = (self.data / "engine.lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ConfigurationError(
                f"another stepline run or serve is using {self.data}: stop it, or give this one its own --data"
            ) from None
        return handle

    # ------------------------------------------------------------------ pipelines ---------

    def apply(
        self, pipeline: PipelineDeclaration, report_status: bool = False, sources: dict[str, str] | None = None
    ) -> RegisteredPipeline:
        """Create or update the pipeline's state machine and register it, with the local
        repositories of its sources: this runtime's (STEPLINE_SOURCES, the sources file) and
        ``sources`` (repository name → path), which win — kept with the pipeline, so pushes to
        those repositories start it and its source actions read them."""
        compiled = compile_checked(pipeline)
        definition = substitute(compiled.definition, {p: self.resources[p] for p in compiled.placeholders})
        arn = self.engine.create_state_machine(state_machine_name(pipeline.name), definition)["stateMachineArn"]
        entry = RegisteredPipeline(
            name=pipeline.name,
            state_machine_arn=arn,
            declaration=pipeline.model_dump(by_alias=True, exclude_none=True, mode="json"),
            registered_at=time.time(),
            report_status=report_status,
            sources={**self.settings.sources, **(sources or {})},
        )
        self.registry.put(entry)
        return entry

    def start(self, pipeline: str, payload: Mapping[str, Any] | None = None, name: str | None = None) -> str:
        entry = self.registry.get(pipeline)
        if entry is None:
            raise ConfigurationError(f"no pipeline {pipeline!r} is registered here: stepline apply FILE first")
        given = payload or {"trigger": {"type": "StartPipelineExecution"}, "variables": {}}
        started = self.engine.start_execution(entry.state_machine_arn, name or str(uuid.uuid4()), json.dumps(given))
        return str(started["executionArn"])

    # ------------------------------------------------------------------ running -----------

    def start_worker(self) -> None:
        """Run the engine, and the sweeper's polling, in background threads until ``close``."""
        self._worker = threading.Thread(target=self._work, name="stepline-engine", daemon=True)
        self._worker.start()
        self._sweeping = threading.Thread(target=self._sweep, name="stepline-sweeper", daemon=True)
        self._sweeping.start()

    def _sweep(self) -> None:
        """What the sweeper function does for waiters on AWS, on this machine's schedule."""
        kinds = work_kinds(
            wiring.build_service,
            wiring.container_service,
            wiring.workflows,
            wiring.artifact_store,
            wiring.stacks,
            wiring.code_deployments,
            wiring.environments,
        )
        while not self._stop.wait(SWEEP_EVERY_SECONDS):
            try:
                for outcome in sweep(wiring.waiters(), kinds, wiring.task_callbacks(), wiring.now(), older_than=0):
                    logger.info(outcome)
            except Exception:  # one sweep failing leaves its waiters to the next
                logger.exception("the sweep failed; the next one tries again")

    def _work(self) -> None:
        try:
            self.engine.run(until=self._stop.is_set, block=True)
        except StoreError as error:  # a full disk: the engine stops at its last commit (run_of says so)
            logger.error("the engine stopped", extra={"reason": str(error)})

    def close(self) -> None:
        self._stop.set()
        for thread in (self._worker, self._sweeping):
            if thread is not None:
                thread.join(timeout=30)
        self.engine.close()
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the lock
        take_back(self.settings)
        wiring.reset()

    # ------------------------------------------------------------------ reading -----------

    def run_of(self, execution_arn: str, entry: RegisteredPipeline | None = None) -> PipelineRun:
        """The run so far; pass the ``entry`` when asking repeatedly, to read the registry once."""
        if self.engine.store.failure is not None:
            raise self.engine.store.failure  # the worker stopped: this run will not move on
        return run_of(entry or self.pipeline_of(execution_arn), EngineWorkflows(self.engine), execution_arn)

    def pipeline_of(self, execution_arn: str) -> RegisteredPipeline:
        machine = self.engine.describe_execution(execution_arn)["stateMachineArn"]
        for entry in self.registry.all():
            if entry.state_machine_arn == machine:
                return entry
        raise ConfigurationError(f"execution {execution_arn} belongs to no registered pipeline")

    def executions(self, pipeline: str | None = None) -> list[dict[str, Any]]:
        """Executions of registered pipelines, newest first, each with its pipeline's name."""
        entries = [e for e in self.registry.all() if pipeline in {None, e.name}]
        listed = []
        for entry in entries:
            for execution in self.engine.list_executions(entry.state_machine_arn)["executions"]:
                listed.append({**execution, "pipeline": entry.name})
        return sorted(listed, key=lambda e: e["startDate"], reverse=True)

    def find_execution(self, name_or_arn: str) -> str:
        """An execution by its name, its ARN, or the start of its name (as `executions` may
        show it cut) when that names one execution only."""
        listed = self.executions()
        matches = [e["executionArn"] for e in listed if name_or_arn in {e["name"], e["executionArn"]}]
        if not matches and name_or_arn:
            matches = [e["executionArn"] for e in listed if str(e["name"]).startswith(name_or_arn)]
        if len(matches) > 1 and not any(name_or_arn == e["name"] for e in listed):
            names = ", ".join(str(arn).rsplit(":", 1)[-1] for arn in matches[:5])
            raise ConfigurationError(
                f"{name_or_arn!r} starts {len(matches)} executions' names ({names}): give more of it"
            )
        if not matches:
            raise ConfigurationError(f"no execution {name_or_arn!r} in {self.data}")
        return str(matches[0])
