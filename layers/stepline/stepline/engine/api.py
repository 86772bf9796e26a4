"""The embedded engine: runs any ASL definition durably, with an API shaped like Step Functions'.

``Engine`` is the facade: each method is one Step Functions call (responses in boto3's
shapes), or runs what can run. Behind it (see docs/ARCHITECTURE.md, "The embedded engine"):
``scheduler`` runs frames in groups, ``steps`` moves one frame, ``states`` holds each state
type's behaviour, ``retry`` handles errors, ``timers`` and ``recovery`` do what they say, all
working on one ``Active``: what memory holds about unfinished executions.

Durability: an execution runs in memory until it pauses, and what it did is committed in one
transaction before anything leaves the engine (a task's call, an API call's return, a
wait), so a crash loses only steps nothing outside has seen. StartExecution runs the new
execution to its first pause inside its own commit (``Scheduler.run_ahead``). ``Engine(...)`` on the same
database resumes every unfinished execution. A task interrupted mid-call is called again,
with the same parameters and task token — at least once, as with Step Functions' own
retries — so handlers must be idempotent.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from stepline.engine import callbacks, executions, history, machines, recovery
from stepline.engine.active import Active
from stepline.engine.clock import Clock, SystemClock
from stepline.engine.errors import InvalidOutput
from stepline.engine.integrations import Functions
from stepline.engine.model import ExecutionStatus
from stepline.engine.scheduler import MAX_GROUP, Scheduler
from stepline.engine.states import KINDS
from stepline.engine.store import Store
from stepline.ports.objects import ObjectStore


class Engine:
    def __init__(
        self,
        store: Store | None = None,
        *,
        clock: Clock | None = None,
        functions: Functions | None = None,
        region: str = "local",
        account: str = "000000000000",
        workers: int = 0,
        jitter: random.Random | None = None,
        durability: str = "group",
        objects: ObjectStore | None = None,
    ) -> None:
        if durability not in {"group", "transition"}:
            raise ValueError("durability is 'group' (commit before anything leaves the engine) or 'transition'")
        self.store = store or Store()
        self.clock: Clock = clock or SystemClock()
        self.region, self.account = region, account
        self._active = Active(
            self.store,
            self.clock,
            functions or Functions(),
            KINDS,
            region=region,
            account=account,
            jitter=jitter or random.Random(),  # noqa: S311 - retry jitter, not a secret
            objects=objects,
        )
        self._scheduler = Scheduler(self._active, workers=workers, group=1 if durability == "transition" else MAX_GROUP)
        recovery.recover(self._active)

    @property
    def functions(self) -> Functions:
        return self._active.functions

    @functions.setter
    def functions(self, functions: Functions) -> None:
        self._active.functions = functions

    @property
    def transitions(self) -> int:
        """Steps taken since this engine was made."""
        return self._active.transitions

    # --- state machines and executions -------------------------------------------------------

    def create_state_machine(self, name: str, definition: str | dict[str, Any], role_arn: str = "") -> dict[str, Any]:
        return machines.create(self._active, name, definition, role_arn)

    update_state_machine_definition = create_state_machine

    def start_execution(self, state_machine_arn: str, name: str | None = None, input: str = "{}") -> dict[str, Any]:
        return self._scheduler.start(state_machine_arn, name, input)

    def describe_execution(self, execution_arn: str) -> dict[str, Any]:
        return history.describe(self.store, execution_arn)

    def list_executions(
        self,
        state_machine_arn: str | None = None,
        status_filter: str | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """Newest first; ``max_results`` pages as Step Functions does (0: its default of 100, with
        ``nextToken`` when more follow); None lists them all."""
        return history.listed(self.store, state_machine_arn, status_filter, max_results, next_token)

    def get_execution_history(
        self,
        execution_arn: str,
        reverse_order: bool = False,
        max_results: int | None = None,
        next_token: str | None = None,
        include_execution_data: bool = True,
    ) -> dict[str, Any]:
        """Oldest first (newest with ``reverse_order``); ``max_results`` pages as Step Functions does
        (0: its default of 100, with ``nextToken`` when more follow); None gives the whole history."""
        self.describe_execution(execution_arn)
        return history.events(
            self.store,
            execution_arn,
            reverse_order=reverse_order,
            max_results=max_results,
            next_token=next_token,
            include_data=include_execution_data,
        )

    def stop_execution(self, execution_arn: str, error: str | None = None, cause: str | None = None) -> dict[str, Any]:
        stopped = executions.stop(self._active, execution_arn, error, cause)
        executions.announce(self._active)
        return {"stopDate": history.as_datetime(stopped)}

    # --- task tokens ---------------------------------------------------------------------------

    def send_task_success(self, task_token: str, output: str) -> dict[str, Any]:
        try:
            result = json.loads(output)
        except (TypeError, json.JSONDecodeError) as error:
            raise InvalidOutput(f"the task output is not JSON: {error}") from None
        callbacks.answer(self._active, task_token, {"result": result})
        return {}

    def send_task_failure(self, task_token: str, error: str | None = None, cause: str | None = None) -> dict[str, Any]:
        callbacks.answer(self._active, task_token, {"error": error or "", "cause": cause})
        return {}

    def send_task_heartbeat(self, task_token: str) -> dict[str, Any]:
        callbacks.heartbeat(self._active, task_token)
        return {}

    def on_finished(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with each execution's description once it ends (as EventBridge would).

        At least once: an end is recorded in the same transaction as the execution's last
        event and forgotten only after every listener has heard it, so an end a crash kept
        from the listeners is told when the engine next runs (from ``run``).
        """
        self._active.listeners.append(listener)

    # --- running -------------------------------------------------------------------------------

    def run(
        self,
        *,
        until: Callable[[], bool] | None = None,
        skip_waits: bool = False,
        block: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Run what can run. ``skip_waits`` moves a ManualClock to the next timer when idle
        (days pass instantly); ``block`` waits for timers, callbacks and in-flight tasks in
        real time until ``until()`` holds or ``timeout`` seconds pass."""
        self._scheduler.run(until=until, skip_waits=skip_waits, block=block, timeout=timeout)

    def run_until_done(
        self, execution_arn: str, *, skip_waits: bool = False, timeout: float | None = None
    ) -> dict[str, Any]:
        block = not skip_waits

        def done() -> bool:
            execution = self._active.executions.get(execution_arn)
            return (
                execution is None
                or execution.status is not ExecutionStatus.RUNNING
                or (not block and self.awaiting_outside())
            )

        self.run(until=done, skip_waits=skip_waits, block=block, timeout=timeout)
        return self.describe_execution(execution_arn)

    def awaiting_outside(self) -> bool:
        """Only an outside answer (a task token, a heartbeat) or a task's timeout can move things now."""
        return self._scheduler.awaiting_outside()

    def close(self) -> None:
        self._scheduler.close()
