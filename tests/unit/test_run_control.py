"""The stage gate's decisions (stepline.control.gate), table-driven: a lock record and a request
in, the next record and the answers to waiting gate tasks out. Pure: no store, no engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stepline.adapters.local.locks import SqliteLocks
from stepline.control import gate
from stepline.control.gate import Entry, LockRecord, Mode
from stepline.control.service import GateRequest, RunControl

T = "2026-12-02T13:00:0{}.000Z"  # start times: T.format(n) is the n-th second


def arrive(record: LockRecord, execution: str, stage: str, mode: Mode = "SUPERSEDED", **extra: object) -> LockRecord:
    second = int(execution.removeprefix("e")) if execution.removeprefix("e").isdigit() else 9
    fields: dict[str, object] = {
        "stage": stage,
        "execution": execution,
        "started": T.format(second),
        "token": f"{execution}@{stage}",
        "mode": mode,
        "now": 1000.0,
    }
    fields.update(extra)
    return gate.enter(record, Entry.model_validate(fields), None)


def told(record: LockRecord) -> list[tuple[str, str]]:
    """The outbox as (token, error or 'enter'), and the record emptied of it."""
    return [(answer.token, answer.error or "enter") for answer in record.outbox]


def drained(record: LockRecord) -> LockRecord:
    return gate.sent(record, list(record.outbox))


@dataclass(frozen=True)
class Case:
    name: str
    mode: Mode
    # (execution, stage, previous) arrivals in order, or ("release", execution, "")
    steps: list[tuple[str, str, str]]
    answers: list[tuple[str, str]]  # every answer sent, in order
    holders: dict[str, str | None]


CASES = [
    Case(
        "a free stage is entered at once",
        "SUPERSEDED",
        [("e1", "Build", "")],
        [("e1@Build", "enter")],
        {"Build": "e1"},
    ),
    Case(
        "SUPERSEDED: a later execution waits; a newer one supersedes it; the newest enters on release",
        "SUPERSEDED",
        [("e1", "Deploy", ""), ("e2", "Deploy", ""), ("e3", "Deploy", ""), ("release", "e1", "")],
        [("e1@Deploy", "enter"), ("e2@Deploy", "Superseded"), ("e3@Deploy", "enter")],
        {"Deploy": "e3"},
    ),
    Case(
        "SUPERSEDED: an older execution arriving behind a newer waiting one is itself superseded",
        "SUPERSEDED",
        [("e1", "Deploy", ""), ("e3", "Deploy", ""), ("e2", "Deploy", "")],
        [("e1@Deploy", "enter"), ("e2@Deploy", "Superseded")],
        {"Deploy": "e1"},
    ),
    Case(
        "QUEUED: every execution waits its turn, first in first out",
        "QUEUED",
        [
            ("e1", "Deploy", ""),
            ("e2", "Deploy", ""),
            ("e3", "Deploy", ""),
            ("release", "e1", ""),
            ("release", "e2", ""),
        ],
        [("e1@Deploy", "enter"), ("e2@Deploy", "enter"), ("e3@Deploy", "enter")],
        {"Deploy": "e3"},
    ),
    Case(
        "PARALLEL: nobody waits, nobody holds",
        "PARALLEL",
        [("e1", "Deploy", ""), ("e2", "Deploy", ""), ("e3", "Deploy", "")],
        [("e1@Deploy", "enter"), ("e2@Deploy", "enter"), ("e3@Deploy", "enter")],
        {"Deploy": None},
    ),
    Case(
        "entering the next stage leaves the previous one, which its waiting execution then enters",
        "SUPERSEDED",
        [("e1", "Build", ""), ("e2", "Build", ""), ("e1", "Deploy", "Build")],
        [("e1@Build", "enter"), ("e2@Build", "enter"), ("e1@Deploy", "enter")],
        {"Build": "e2", "Deploy": "e1"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gate_decisions(case: Case) -> None:
    record = LockRecord(pipeline="app")
    answers: list[tuple[str, str]] = []
    for first, second, third in case.steps:
        if first == "release":
            record = gate.release(record, second, case.mode)
        else:
            record = arrive(record, first, second, case.mode, previous=third or None)
        answers += told(record)
        record = drained(record)
    assert answers == case.answers
    assert {stage: lock.holder for stage, lock in record.stages.items()} == case.holders


def run(
    record: LockRecord, *steps: tuple[str, ...], mode: Mode = "SUPERSEDED"
) -> tuple[LockRecord, list[tuple[str, str]]]:
    """Apply lever and gate steps; return the record and every answer sent."""
    answers: list[tuple[str, str]] = []
    for step in steps:
        kind, *rest = step
        if kind == "arrive":
            record = arrive(record, rest[0], rest[1], mode)
        elif kind == "release":
            record = gate.release(record, rest[0], mode)
        elif kind == "disable":
            record = gate.disable(record, rest[0], "hold for the release freeze", "ops", float(rest[1]))
        elif kind == "enable":
            record = gate.enable(record, rest[0], mode, float(rest[1]))
        elif kind == "stop":
            record = gate.stop(record, rest[0], "a bad commit")
        answers += told(record)
        record = drained(record)
    return record, answers


@pytest.mark.parametrize("mode", ["SUPERSEDED", "QUEUED", "PARALLEL"])
def test_a_disabled_transition_holds_every_mode_and_enabling_lets_the_newest_through(mode: Mode) -> None:
    # Given the transition into Deploy disabled, When three executions arrive there
    record, answers = run(
        LockRecord(pipeline="app"),
        ("disable", "Deploy", 1000),
        ("arrive", "e1", "Deploy"),
        ("arrive", "e2", "Deploy"),
        ("arrive", "e3", "Deploy"),
        mode=mode,
    )
    # Then none enters (SUPERSEDED supersedes the older waiting ones already)
    assert all(error != "enter" for _, error in answers)
    # When it is enabled within 30 days
    record, answers = run(record, ("enable", "Deploy", 2000), mode=mode)
    # Then the newest proceeds (SUPERSEDED); the first queued (QUEUED); all of them (PARALLEL)
    expected = {
        "SUPERSEDED": [("e3@Deploy", "enter")],
        "QUEUED": [("e1@Deploy", "enter")],
        "PARALLEL": [("e1@Deploy", "enter"), ("e2@Deploy", "enter"), ("e3@Deploy", "enter")],
    }[mode]
    assert answers == expected
    assert record.stages["Deploy"].disabled is None


def test_enabling_after_30_days_lets_nobody_through() -> None:
    day = 24 * 3600.0
    record, _ = run(LockRecord(pipeline="app"), ("disable", "Deploy", 0), ("arrive", "e1", "Deploy"))
    record, answers = run(record, ("enable", "Deploy", 31 * day))
    assert answers == [("e1@Deploy", "Superseded")]
    assert record.stages["Deploy"].waiting == []


def test_a_disabled_transition_does_not_stop_the_execution_already_inside() -> None:
    record, answers = run(LockRecord(pipeline="app"), ("arrive", "e1", "Deploy"), ("disable", "Deploy", 1000))
    assert answers == [("e1@Deploy", "enter")]
    assert record.stages["Deploy"].holder == "e1"


def test_stop_refuses_a_waiting_execution_at_once_and_a_running_one_at_its_next_gate() -> None:
    # Given e1 inside Build and e2 waiting in front of it
    record, _ = run(LockRecord(pipeline="app"), ("arrive", "e1", "Build"), ("arrive", "e2", "Build"))
    # When both are stopped
    record, answers = run(record, ("stop", "e2"), ("stop", "e1"))
    # Then the waiting one is refused now; the one inside is marked, and refused at its next gate,
    # which releases Build on its way
    assert answers == [("e2@Build", "Stopped")]
    assert record.stopping == {"e1": "a bad commit"}
    entry = Entry(stage="Deploy", previous="Build", execution="e1", started=T.format(1), token="t", now=1.0)
    record = gate.enter(record, entry)
    assert [(a.token, a.error) for a in record.outbox] == [("t", "Stopped")]
    assert record.stages["Build"].holder is None
    assert record.stopping == {}


def test_a_holder_whose_stale_approval_was_superseded_gives_the_stage_to_the_newcomer() -> None:
    record, _ = run(LockRecord(pipeline="app"), ("arrive", "e1", "Approve"))
    entry = Entry(stage="Approve", execution="e2", started=T.format(2), token="e2@Approve", now=2.0)
    record = gate.enter(record, entry, holder_superseded="e1")
    assert told(record) == [("e2@Approve", "enter")]
    assert record.stages["Approve"].holder == "e2"
    # And the superseded holder's own release, on its failure path, takes nothing from e2
    record = gate.release(drained(record), "e1", "SUPERSEDED")
    assert record.stages["Approve"].holder == "e2"


def test_a_retried_gate_task_is_admitted_again_with_its_new_token() -> None:
    record, _ = run(LockRecord(pipeline="app"), ("arrive", "e1", "Build"))
    entry = Entry(stage="Build", execution="e1", started=T.format(1), token="retry", now=2.0)
    assert told(gate.enter(record, entry)) == [("retry", "enter")]


def test_two_executions_started_in_the_same_millisecond_are_ordered_by_arrival() -> None:
    record = LockRecord(pipeline="app")
    for name in ("zz", "aa"):  # names sort the other way round
        entry = Entry(stage="Deploy", execution=name, started=T.format(5), token=f"{name}@Deploy", now=1.0)
        record = drained(gate.enter(record, entry))
    record = gate.release(record, "zz", "SUPERSEDED")
    assert told(record) == [("aa@Deploy", "enter")]


class Told:
    """TaskCallbacks that record what each gate task was told."""

    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    def succeed(self, token: str, output: object) -> None:
        self.said.append((token, "enter"))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.said.append((token, error))


def test_parallel_gates_answer_without_writing_until_something_holds_an_execution(tmp_path: Path) -> None:
    # Given the real service on a SQLite lock store, and a PARALLEL pipeline
    locks = SqliteLocks(tmp_path / "locks.sqlite")
    told = Told()
    control = RunControl(locks, told)

    def enter(execution: str) -> None:
        execution_ref = {"id": f"arn:e:{execution}", "name": execution, "startTime": T.format(1)}
        request = {"operation": "enter", "pipeline": "app", "stage": "Deploy", "mode": "PARALLEL"}
        control.handle(GateRequest.model_validate({**request, "execution": execution_ref, "taskToken": execution}))

    # When executions reach a stage nothing holds, Then each enters and the record is never written
    enter("e1")
    enter("e2")
    assert told.said == [("e1", "enter"), ("e2", "enter")]
    assert locks.read("app")[1] == 0
    # When the transition is disabled, Then the next one waits, and enters when it is enabled
    control.apply("app", lambda record: gate.disable(record, "Deploy", "freeze", "ops", 1.0))
    enter("e3")
    assert told.said[-1] == ("e2", "enter")
    control.apply("app", lambda record: gate.enable(record, "Deploy", "PARALLEL", 2.0))
    assert told.said[-1] == ("e3", "enter")


def test_conditions_the_gate_evaluates_are_not_warned_about_and_others_still_are() -> None:
    from stepline.definition.models import PipelineDeclaration
    from stepline.definition.rules import validate
    from tests.helpers import minimal

    def rule(provider: str) -> dict[str, object]:
        configuration = {"Variable": "#{SourceVariables.CommitId}", "Operator": "NE", "Value": "x"}
        return {
            "name": "Check",
            "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": provider, "version": "1"},
            "configuration": configuration if provider == "VariableCheck" else {"AlarmName": "errors"},
        }

    def warnings_for(before_entry: dict[str, object]) -> list[str]:
        document = minimal()
        document["stages"][1]["beforeEntry"] = before_entry
        problems = validate(PipelineDeclaration.model_validate(document))
        return [problem.path for problem in problems if "not yet supported" in problem.message]

    assert warnings_for({"conditions": [{"result": "SKIP", "rules": [rule("VariableCheck")]}]}) == []
    assert warnings_for({"conditions": [{"result": "FAIL", "rules": [rule("CloudWatchAlarm")]}]}) == []
    assert warnings_for({"conditions": [{"result": "FAIL", "rules": [rule("LambdaInvoke")]}]}) == [
        "stages[1].beforeEntry"
    ]
