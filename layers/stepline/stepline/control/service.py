"""Run control applied: the gate's decisions written to the pipeline's lock record, then the
waiting gate tasks answered.

Answer, then mark (as approvals and completions do): a decision and the answers it implies are
written together (the record's outbox); the answers are then sent, and only then removed from
the outbox. A crash in between leaves them there, and the next gate call or lever on the
pipeline sends them again; a second answer to a token is refused by the orchestrator
(``TaskTimedOut``) and counts as delivered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from stepline.actions.approval import approval_id, supersede
from stepline.actions.errors import TransientActionError
from stepline.control import conditions, gate
from stepline.control.gate import Entry, LockRecord, Mode
from stepline.definition.models import GateConditions
from stepline.observability import logger
from stepline.ports.approvals import Approvals
from stepline.ports.control import Alarms, Answer, LockStore
from stepline.ports.waiters import TaskCallbacks

MAX_WRITES = 25  # optimistic writes tried before the gate task fails (and is retried) as transient
_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


class GateExecution(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    id: str
    name: str
    start_time: str = Field("", alias="startTime")


class GateRequest(BaseModel):
    """What a compiled gate task sends (compiler/asl.py ``_gate``)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    operation: Literal["enter", "release"]
    pipeline: str
    execution: GateExecution
    mode: Mode = "SUPERSEDED"
    stage: str = ""
    previous: str | None = None
    approvals: list[str] = Field(default_factory=list)
    supersede_approvals: bool = Field(True, alias="supersedeApprovals")
    before_entry: GateConditions | None = Field(None, alias="beforeEntry")
    on_success: GateConditions | None = Field(None, alias="onSuccess")  # of the stage left (``previous``)
    variables: dict[str, dict[str, str]] = Field(default_factory=dict)
    task_token: str | None = Field(None, alias="taskToken")


class RunControl:
    def __init__(
        self,
        locks: LockStore,
        callbacks: TaskCallbacks,
        approvals: Approvals | None = None,
        clock: Callable[[], float] = time.time,
        announce: Callable[[str, str], None] | None = None,
        alarms: Alarms | None = None,
    ) -> None:
        self.alarms = alarms
        self.locks = locks
        self.callbacks = callbacks
        self.approvals = approvals
        self.clock = clock
        self.announce = announce  # (pipeline, execution ARN): publish its events so far

    # ------------------------------------------------------------------ the gate ----------

    def handle(self, request: GateRequest) -> None:
        self._handle(request)
        if self.announce is not None:
            try:
                self.announce(request.pipeline, request.execution.id)
            except Exception:  # events are told again at the next gate and at the end: never hold a stage up
                logger.exception("the execution's events were not published")

    def _handle(self, request: GateRequest) -> None:
        if request.operation == "enter" and not (request.task_token and request.stage):
            raise ValueError("a gate's enter request needs its stage and its task token")
        if request.on_success is not None and not self._succeeded(request):
            return
        if request.before_entry is not None and not self._may_enter(request):
            return
        if request.mode == "PARALLEL" and self._unheld(request):
            return
        if request.operation == "release":
            self.release(request.pipeline, request.execution.name, request.mode)
            return
        assert request.task_token is not None
        entry = Entry(
            stage=request.stage,
            previous=request.previous,
            execution=request.execution.name,
            started=request.execution.start_time,
            token=request.task_token,
            mode=request.mode,
            now=self.clock(),
        )
        superseded = self._supersede_stale_approval(request, entry)
        self.apply(request.pipeline, lambda record: gate.enter(record, entry, superseded))

    def _succeeded(self, request: GateRequest) -> bool:
        """The onSuccess condition of the stage left (``previous``; on release, ``stage``, the
        last). When it fails (result FAIL) the stage fails: a release raises ``ConditionFailed``
        (its Catch takes the failure path, which releases); an entry releases and fails its task."""
        assert request.on_success is not None
        stage = request.previous if request.operation == "enter" else request.stage
        verdict = conditions.check(request.on_success.conditions[0], request.variables, self.alarms)
        if verdict.passed:
            return True
        cause = f"{stage}'s onSuccess condition failed: {verdict.summary}"
        if request.operation == "release" or request.task_token is None:
            raise conditions.ConditionFailed(cause)
        name = request.execution.name
        self.apply(request.pipeline, lambda record: gate.release(record, name, request.mode))
        answer = Answer(token=request.task_token, execution=name, stage=request.stage, error="ConditionFailed")
        self._tell(answer.model_copy(update={"cause": cause}))
        return False

    def _may_enter(self, request: GateRequest) -> bool:
        """The stage's beforeEntry condition (stepline.control.conditions). When it does not
        pass, the execution leaves the stage before (so it waits in front of nothing) and is
        told to skip the stage (SKIP) or fails with ``ConditionFailed`` (FAIL)."""
        assert request.before_entry is not None
        assert request.task_token is not None
        verdict = conditions.check(request.before_entry.conditions[0], request.variables, self.alarms, self.clock())
        if verdict.passed:
            return True
        name = request.execution.name
        if verdict.wait:  # a closed deployment window holds the execution in front of the stage
            self.apply(request.pipeline, lambda record: gate.leave(record, name, request.mode))
            self._tell(Answer(token=request.task_token, execution=name, stage=request.stage), wait=verdict.wait)
        elif verdict.result == "SKIP":
            self.apply(request.pipeline, lambda record: gate.leave(record, name, request.mode))
            self._tell(Answer(token=request.task_token, execution=name, stage=request.stage), skip=True)
        else:
            self.apply(request.pipeline, lambda record: gate.release(record, name, request.mode))
            cause = f"{request.stage}'s beforeEntry condition failed: {verdict.summary}"
            self._tell(
                Answer(
                    token=request.task_token, execution=name, stage=request.stage, error="ConditionFailed", cause=cause
                )
            )
        return False

    def _tell(self, answer: Answer, *, skip: bool = False, wait: int = 0) -> None:
        """Answer a gate task; one answered before (a task invoked again after a crash) or no
        longer waiting counts as told, as the orchestrator refuses it (``TaskTimedOut``)."""
        try:
            if answer.error:
                self.callbacks.fail(answer.token, answer.error, answer.cause)
            else:
                entered = not (skip or wait)
                self.callbacks.succeed(
                    answer.token, {"stage": answer.stage, "entered": entered, "skip": skip, "wait": wait}
                )
        except Exception as error:
            if getattr(error, "code", "") not in _GONE:
                raise
            logger.info("the gate task was answered already", extra={"stage": answer.stage})

    def _unheld(self, request: GateRequest) -> bool:
        """PARALLEL's fast path: nothing holds this execution (no disabled transition in front
        of the stage, no stop asked, nothing of it in the record), so the gate answers without
        writing — a hundred executions at once do not contend for one record."""
        record, _ = self.locks.read(request.pipeline)
        name = request.execution.name
        lock = record.stages.get(request.stage)
        known = name in record.stopping or name in record.orders or record.outbox
        if known or (request.operation == "enter" and lock is not None and lock.disabled is not None):
            return False
        if request.operation == "enter" and request.task_token:
            self._tell(Answer(token=request.task_token, execution=name, stage=request.stage))
        return True

    def release(self, pipeline: str, execution: str, mode: Mode) -> None:
        self.apply(pipeline, lambda record: gate.release(record, execution, mode))

    def _supersede_stale_approval(self, request: GateRequest, entry: Entry) -> str | None:
        """The stale-approval improvement (aws-cdk #20452): the stage's holder waits for an
        approval of an older revision; a newer execution arriving supersedes that approval and
        takes the stage, so nobody approves a stale commit. Returns the holder so superseded."""
        if request.mode != "SUPERSEDED" or not request.supersede_approvals or not request.approvals:
            return None
        if self.approvals is None:
            return None
        record, _ = self.locks.read(request.pipeline)
        lock = record.stages.get(request.stage)
        if lock is None or lock.holder in {None, entry.execution}:
            return None
        if lock.holder_order >= record.orders.get(entry.execution, f"{entry.started}|~"):
            return None  # the holder is the newer one
        holder = str(lock.holder)
        by = f"superseded by execution {entry.execution}, which reached {request.stage} with a newer revision"
        done = False
        for action in request.approvals:
            key = approval_id(request.pipeline, holder, request.stage, action)
            done = supersede(key, by, self.approvals, self.callbacks, self.clock) or done
        return holder if done else None

    # ------------------------------------------------------------------ applying ----------

    def apply(self, pipeline: str, change: Callable[[LockRecord], LockRecord]) -> LockRecord:
        """Write ``change`` of the current record (read again on a conflict), then deliver."""
        record = self._write(pipeline, change)
        self.deliver(record)
        return record

    def _write(self, pipeline: str, change: Callable[[LockRecord], LockRecord]) -> LockRecord:
        for _ in range(MAX_WRITES):
            current, version = self.locks.read(pipeline)
            changed = change(current)
            if self.locks.write(changed, version):
                return changed
        raise TransientActionError(f"the lock record of {pipeline} changed {MAX_WRITES} times while deciding")

    def deliver(self, record: LockRecord) -> None:
        """Send the outbox's answers, then remove those delivered (the others wait for the next call)."""
        delivered = []
        for answer in record.outbox:
            try:
                self._tell(answer)
            except Exception as error:  # an answer not sent now is sent by the next call
                logger.warning("a gate answer was not delivered", extra={"stage": answer.stage, "error": str(error)})
                continue
            delivered.append(answer)
        if delivered:
            self._write(record.pipeline, lambda current: gate.sent(current, delivered))
