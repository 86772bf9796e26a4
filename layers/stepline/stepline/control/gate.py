"""The stage gate's decisions: a pure function from a pipeline's lock record and a request to
the next record and what to tell the waiting tasks.

Every stage boundary of a compiled pipeline is a callback task asking to *enter* a stage (and
so to *leave* the previous one); the end of an execution, however it ends, *releases* what it
holds. Execution modes, disabled transitions, superseding and stopping are policies of this one
gate (CodePipeline's rules, ``codepipeline-semantics.md`` §1.9–1.10):

- SUPERSEDED: one execution per stage; a later one waits in front of a locked stage; a waiting
  execution is superseded by a newer one (only between stages). A failure releases the lock.
- QUEUED: one execution per stage; the others wait in first-in first-out order.
- PARALLEL: no lock; only disabled transitions and stopping hold an execution.

Executions are ordered by their start time (ISO 8601, milliseconds), then by the order in which
the gate first saw them (a counter in the record), so "newer" means started later and two
executions started in the same millisecond are still told apart the same way everywhere.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from stepline.ports.control import Answer, LockRecord, Mode, StageLock, Transition, Waiting

__all__ = ["Answer", "LockRecord", "Mode", "StageLock", "Transition", "Waiting"]
SUPERSEDED_ERROR = "Superseded"
STOPPED_ERROR = "Stopped"
# CodePipeline: on enable the latest waiting revision proceeds, "unless the transition has been
# disabled for more than 30 days".
STALE_TRANSITION_SECONDS = 30 * 24 * 3600


class Entry(BaseModel):
    """A gate task asking to enter ``stage`` (leaving ``previous``, if any)."""

    model_config = ConfigDict(frozen=True)

    stage: str
    previous: str | None = None
    execution: str
    started: str  # the execution's start time, ISO 8601
    token: str
    mode: Mode = "SUPERSEDED"
    now: float


def enter(record: LockRecord, entry: Entry, holder_superseded: str | None = None) -> LockRecord:
    """The record after ``entry`` arrived: admitted, waiting, superseded or refused (its answer,
    and any answer to others it caused, are appended to the outbox).

    ``holder_superseded`` names the stage's holder whose pending approval the caller has just
    superseded (the stale-approval improvement): the lock passes to the newcomer.
    """
    new = record.model_copy(deep=True)
    if entry.execution not in new.orders:
        new.seen += 1
        new.orders[entry.execution] = f"{entry.started}|{new.seen:09d}"
    order = new.orders[entry.execution]
    if entry.previous is not None:
        _release_stage(new, entry.previous, entry.execution, entry.mode)
    if entry.execution in new.stopping:
        reason = new.stopping.pop(entry.execution)
        new.outbox.append(_refusal(entry, STOPPED_ERROR, f"stopped before {entry.stage}: {reason}"))
        return new
    lock = new.stage(entry.stage)
    lock.waiting = [w for w in lock.waiting if w.execution != entry.execution]  # a retried gate task
    if holder_superseded is not None and lock.holder == holder_superseded:
        lock.holder = None
    if lock.holder == entry.execution or (lock.disabled is None and _may_enter(lock, entry.mode, order)):
        _admit(new, entry.stage, lock, entry.execution, order, entry.token, entry.now, entry.mode)
        _supersede_older(new, entry.stage, lock, order, entry.mode)
        return new
    lock.waiting.append(Waiting(execution=entry.execution, order=order, token=entry.token, since=entry.now))
    if entry.mode == "SUPERSEDED":
        _supersede_older(new, entry.stage, lock, max(w.order for w in lock.waiting), entry.mode)
    return new


def _may_enter(lock: StageLock, mode: Mode, order: str) -> bool:
    if mode == "PARALLEL":
        return True
    if lock.holder is not None:
        return False
    if mode == "QUEUED":  # first in, first out: nobody queued before it
        return all(w.order >= order for w in lock.waiting)
    return True


def _admit(
    record: LockRecord, stage: str, lock: StageLock, execution: str, order: str, token: str, now: float, mode: Mode
) -> None:
    if mode != "PARALLEL":
        lock.holder, lock.holder_order, lock.since = execution, order, now
    lock.waiting = [w for w in lock.waiting if w.execution != execution]
    record.outbox.append(Answer(token=token, execution=execution, stage=stage))


def _supersede_older(record: LockRecord, stage: str, lock: StageLock, newest: str, mode: Mode) -> None:
    """SUPERSEDED: every execution waiting in front of the stage older than ``newest`` is superseded."""
    if mode != "SUPERSEDED":
        return
    for waiting in [w for w in lock.waiting if w.order < newest]:
        lock.waiting.remove(waiting)
        cause = f"superseded in front of stage {stage} by a newer execution"
        record.outbox.append(_answer(waiting, stage, SUPERSEDED_ERROR, cause))


def release(record: LockRecord, execution: str, mode: Mode) -> LockRecord:
    """The execution ended (succeeded, failed, stopped, superseded): every stage it holds is
    released and handed on, and it waits nowhere any more."""
    new = record.model_copy(deep=True)
    for stage in new.holding(execution):
        _release_stage(new, stage, execution, mode)
    for lock in new.stages.values():
        lock.waiting = [w for w in lock.waiting if w.execution != execution]
    new.stopping.pop(execution, None)
    new.orders.pop(execution, None)
    return new


def leave(record: LockRecord, execution: str, mode: Mode) -> LockRecord:
    """The execution leaves the stages it holds (and goes on: a stage skipped by its condition)."""
    new = record.model_copy(deep=True)
    for stage in new.holding(execution):
        _release_stage(new, stage, execution, mode)
    return new


def _release_stage(record: LockRecord, stage: str, execution: str, mode: Mode) -> None:
    lock = record.stage(stage)
    if lock.holder != execution:
        return  # taken from it meanwhile (its approval superseded), or never held (PARALLEL)
    lock.holder, lock.holder_order, lock.since = None, "", None
    _hand_on(record, stage, lock, mode)


def _hand_on(record: LockRecord, stage: str, lock: StageLock, mode: Mode) -> None:
    """A free, enabled stage takes its next waiting execution: the newest (SUPERSEDED, the
    older ones superseded), the first queued (QUEUED), or all of them (PARALLEL)."""
    if lock.disabled is not None or lock.holder is not None or not lock.waiting:
        return
    ordered = sorted(lock.waiting, key=lambda w: w.order)
    chosen = ordered if mode == "PARALLEL" else [ordered[-1] if mode == "SUPERSEDED" else ordered[0]]
    for waiting in chosen:
        _admit(record, stage, lock, waiting.execution, waiting.order, waiting.token, waiting.since, mode)
    if mode == "SUPERSEDED":
        _supersede_older(record, stage, lock, chosen[0].order, mode)


def disable(record: LockRecord, stage: str, reason: str, by: str, now: float) -> LockRecord:
    new = record.model_copy(deep=True)
    lock = new.stage(stage)
    if lock.disabled is None:
        lock.disabled = Transition(reason=reason, by=by, at=now)
    else:
        lock.disabled = lock.disabled.model_copy(update={"reason": reason, "by": by})
    return new


def enable(record: LockRecord, stage: str, mode: Mode, now: float) -> LockRecord:
    """The transition opens; the latest waiting execution proceeds (the others are superseded),
    unless the transition was disabled for more than 30 days: then none does."""
    new = record.model_copy(deep=True)
    lock = new.stage(stage)
    if lock.disabled is None:
        return new
    stale = now - lock.disabled.at > STALE_TRANSITION_SECONDS
    lock.disabled = None
    if stale:
        for waiting in lock.waiting:
            cause = f"the transition into {stage} was disabled for more than 30 days"
            new.outbox.append(_answer(waiting, stage, SUPERSEDED_ERROR, cause))
        lock.waiting = []
        return new
    if mode == "SUPERSEDED" and lock.waiting:
        newest = max(w.order for w in lock.waiting)
        for waiting in [w for w in lock.waiting if w.order < newest]:
            lock.waiting.remove(waiting)
            new.outbox.append(_answer(waiting, stage, SUPERSEDED_ERROR, f"superseded when {stage} was enabled"))
    _hand_on(new, stage, lock, mode)
    return new


def stop(record: LockRecord, execution: str, reason: str) -> LockRecord:
    """Stop and wait: nothing new starts. An execution waiting at a gate is refused at once;
    one inside a stage finishes what runs and is refused at its next gate."""
    new = record.model_copy(deep=True)
    for stage, lock in new.stages.items():
        for waiting in [w for w in lock.waiting if w.execution == execution]:
            lock.waiting.remove(waiting)
            new.outbox.append(_answer(waiting, stage, STOPPED_ERROR, f"stopped in front of {stage}: {reason}"))
            return new
    new.stopping[execution] = reason
    return new


def sent(record: LockRecord, answers: list[Answer]) -> LockRecord:
    """The record with ``answers`` known to have been delivered (or to be no longer awaited)."""
    new = record.model_copy(deep=True)
    new.outbox = [answer for answer in new.outbox if answer not in answers]
    return new


def _refusal(entry: Entry, error: str, cause: str) -> Answer:
    return Answer(token=entry.token, execution=entry.execution, stage=entry.stage, error=error, cause=cause)


def _answer(waiting: Waiting, stage: str, error: str, cause: str) -> Answer:
    return Answer(token=waiting.token, execution=waiting.execution, stage=stage, error=error, cause=cause)
