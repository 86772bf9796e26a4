"""State machines: created (or updated) by name, their definitions parsed once and kept."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stepline.engine.definition import AslDefinitionError, parse_definition
from stepline.engine.errors import InvalidDefinition, StateMachineDoesNotExist
from stepline.engine.history import as_datetime

if TYPE_CHECKING:
    from stepline.engine.active import Active, Machine


def create(active: Active, name: str, definition: str | dict[str, Any], role_arn: str) -> dict[str, Any]:
    try:
        parsed = parse_definition(definition)
    except AslDefinitionError as error:
        raise InvalidDefinition(str(error)) from None
    arn = f"arn:aws:states:{active.region}:{active.account}:stateMachine:{name}"
    now = active.clock.now()
    # $$.Execution.RoleArn is never empty on AWS: a machine created without a role runs as this one.
    role = role_arn or default_role(active.account)
    with active.store.transaction() as db:
        db.execute(
            "INSERT INTO state_machines (arn, name, definition, role_arn, created) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (arn) DO UPDATE SET definition = excluded.definition, role_arn = excluded.role_arn",
            (arn, name, parsed.text, role, now),
        )
    active.machines[arn] = (name, parsed, role)
    return {"stateMachineArn": arn, "creationDate": as_datetime(now)}


def derive(active: Active, name: str, definition: dict[str, Any], role_arn: str) -> str:
    """A state machine made from part of another (a distributed map's processor): created once."""
    arn = f"arn:aws:states:{active.region}:{active.account}:stateMachine:{name}"
    if arn not in active.machines:
        create(active, name, definition, role_arn)
    return arn


def default_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/stepline-local"


def get(active: Active, arn: str) -> Machine:
    machine = active.machines.get(arn)
    if machine is None:
        rows = active.store.query("SELECT name, definition, role_arn FROM state_machines WHERE arn = ?", (arn,))
        if not rows:
            raise StateMachineDoesNotExist(f"State machine does not exist: {arn}")
        name, text, role = rows[0]
        machine = active.machines[arn] = (name, parse_definition(text), role)
    return machine
