"""Completions, exactly once: a task waiting for outside work (a build, an ECS deployment, a
Step Functions execution) is answered once, whichever way the work's end is learnt.

The protocol, for every kind of work:

1. **Register before starting.** The action writes its *waiter* — keyed by the action's
   deterministic key (the same digest its idempotency token is made from), holding the task
   token and what the answer needs — before it starts the work. A retried task attempt
   registers again under the same key with its new token; what an earlier attempt learnt
   (the work's id, how it ended) is kept.
2. **Start, then attach.** The work is started idempotently (StartBuild's ``idempotencyToken``,
   the execution's name; an attempt that finds a work id on its waiter starts nothing), and
   its id is attached to the waiter: a *link* item maps the id to the waiter's key.
3. **Completions find the waiter by the work's id.** An event (or the sweeper's poll) that
   finds a link answers the waiter's token. One that finds nothing is an *early completion*:
   it is kept under the work's id, and the attach in step 2 finds it and answers at once.
4. **Answered, then marked.** The answer is computed (which may call services), sent, and only
   then is the waiter moved from WAITING to ANSWERED, conditionally on the token it answered.
   Anything failing before the mark leaves the waiter WAITING, so a redelivery, a retry or the
   sweeper answers it; answering twice is harmless (Step Functions refuses the second with
   TaskTimedOut or InvalidToken, which the callbacks adapter treats as done).
5. **The sweeper** polls the work of waiters older than a few minutes and completes what has
   ended through the same ``settle``, so a dropped event costs minutes, not the task's timeout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stepline.observability import logger
from stepline.ports.waiters import Completion, Kind, TaskCallbacks, Waiter, Waiters

# A waiter with no work attached this long after it was registered never started its work:
# the start function's longest run (15 minutes, Lambda's cap) has certainly ended.
NEVER_STARTED_SECONDS = 20 * 60


@dataclass(frozen=True)
class Answer:
    """What the task is told: success with an output, or failure with an error and cause."""

    output: Mapping[str, object] | None = None
    error: str = ""
    cause: str = ""


Answerer = Callable[[Waiter, Completion], Answer]
# Finished work among the given waiters, by waiter key; running work is left out.
Poller = Callable[[list[Waiter]], dict[str, Completion]]


@dataclass(frozen=True)
class WorkKind:
    """How one kind of work is answered and polled; built by the action that starts it."""

    answer: Answerer
    poll: Poller


def waiter_key(kind: Kind, execution_id: str, action: str) -> str:
    """The action's key in this execution: the same for every attempt, distinct per action."""
    return f"{kind}#{action_digest(execution_id, action)}"


def action_digest(execution_id: str, action: str) -> str:
    """A 64-character digest of the execution and action: keys and idempotency tokens."""
    return hashlib.sha256(f"{execution_id}/{action}".encode()).hexdigest()


def failed(error: str, cause: str) -> Completion:
    return Completion(succeeded=False, error=error, cause=cause)


def register(waiters: Waiters, waiter: Waiter, now: float) -> Waiter:
    """Step 1: the waiter exists before the work starts; returns it as stored (with any work
    or outcome an earlier attempt recorded)."""
    return waiters.register(waiter, now)


def attach(
    waiters: Waiters, waiter: Waiter, ref: str, work: Mapping[str, str], kind: WorkKind, callbacks: TaskCallbacks
) -> str | None:
    """Step 2's second half: link the started work to the waiter. An early completion kept
    under ``ref`` is answered now; returns what was done then, or None."""
    early = waiters.attach(waiter.key, ref, work)
    if early is None:
        return None
    return settle(waiters.get(waiter.key) or waiter, early, kind, waiters, callbacks)


def complete(ref: str, completion: Completion, kind: WorkKind, waiters: Waiters, callbacks: TaskCallbacks) -> str:
    """Step 3: a completion learnt from an event. Answered if a waiter is linked to ``ref``,
    otherwise kept until one is."""
    waiter = waiters.find(ref)
    if waiter is None:
        if waiters.keep_early(ref, completion):
            return f"kept: nothing waits for {ref} yet (or it is not Stepline's)"
        waiter = waiters.find(ref)  # a waiter was linked between the two calls
        if waiter is None:
            return f"ignored: {ref} ended before, and is kept already"
    return settle(waiter, completion, kind, waiters, callbacks)


def settle(waiter: Waiter, completion: Completion, kind: WorkKind, waiters: Waiters, callbacks: TaskCallbacks) -> str:
    """Step 4, the one path every completion takes: answer the token, then mark the waiter
    answered. A token replaced meanwhile (the task was retried) is answered too."""
    current = waiter
    for _ in range(3):
        if current.state == "ANSWERED":
            return f"ignored: {current.action} was answered already"
        answer = kind.answer(current, completion)  # may raise: nothing is marked, so it is retried
        if answer.output is not None:
            callbacks.succeed(current.token, answer.output)
        else:
            callbacks.fail(current.token, answer.error, answer.cause)
        if waiters.answered(current.key, current.token, completion):
            if answer.output is not None:
                return f"succeeded: {current.action}"
            return f"failed: {current.action}: {answer.error}: {answer.cause}"
        latest = waiters.get(current.key)
        if latest is None or latest.token == current.token:
            return f"ignored: {current.action} was answered a moment ago"
        current = latest  # a newer attempt of the task waits for the same work
    return f"answered: {waiter.action} (its token kept changing while it was answered)"


def answered_before(waiter: Waiter, kind: WorkKind, waiters: Waiters, callbacks: TaskCallbacks) -> str | None:
    """A retried attempt whose work ended already is answered with that end at once."""
    if waiter.outcome is None:
        return None
    return settle(waiter, waiter.outcome, kind, waiters, callbacks)


def sweep(
    waiters: Waiters, kinds: Mapping[str, WorkKind], callbacks: TaskCallbacks, now: float, older_than: float
) -> list[str]:
    """Step 5: complete the waiters older than ``older_than`` seconds whose work has ended.
    One waiter's trouble (throttling, a vanished resource) never stops the others."""
    outcomes: list[str] = []
    stale = waiters.stale(now - older_than)
    by_kind: dict[str, list[Waiter]] = {}
    for waiter in stale:
        if waiter.work:
            by_kind.setdefault(waiter.kind, []).append(waiter)
        elif now - waiter.since >= NEVER_STARTED_SECONDS:
            cause = f"{waiter.action}: its work never started (the start was interrupted and not retried)"
            outcomes.append(_safely(waiter, failed("WorkNeverStarted", cause), kinds, waiters, callbacks))
    for name, group in by_kind.items():
        kind = kinds.get(name)
        if kind is None:
            continue
        try:
            finished = kind.poll(group)
        except Exception:  # one kind's poll failing (throttled) leaves it to the next sweep
            logger.exception("polling failed", extra={"kind": name, "waiters": len(group)})
            continue
        for waiter in group:
            if waiter.key in finished:
                outcomes.append(_safely(waiter, finished[waiter.key], kinds, waiters, callbacks))
    return outcomes


def _safely(
    waiter: Waiter, completion: Completion, kinds: Mapping[str, WorkKind], waiters: Waiters, callbacks: TaskCallbacks
) -> str:
    try:
        return settle(waiter, completion, kinds[waiter.kind], waiters, callbacks)
    except Exception:
        logger.exception("answering failed; the next sweep tries again", extra={"waiter": waiter.key})
        return f"retry later: {waiter.action}"
