"""The embedded engine and moto's interpreter (LocalStack's, >= 5.2.5) on the same definitions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.cases import CASES, Case
from tests.conformance.harness import MotoRunner, moto_runner, run_on_engine

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoRunner]:
    with moto_runner() as runner:
        yield runner


def expected_part(outcome: dict[str, Any], expect: dict[str, Any]) -> dict[str, Any]:
    return {key: outcome.get(key) for key in expect}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_engine_and_moto_agree_with_aws(case: Case, moto: MotoRunner) -> None:
    # Given a definition and its documented outcome
    # When it runs on the embedded engine and on moto
    ours = run_on_engine(case)
    # Then the embedded engine has the documented outcome
    assert expected_part(ours, case.expect) == case.expect, ours
    if case.moto_skip is not None:
        return  # moto cannot run this case to an end at all (the case says why)
    theirs = moto.run(case)
    if case.moto_differs is None:
        # And so does moto, so the two agree on status, output and error
        assert expected_part(theirs, case.expect) == case.expect, theirs
        compared = ("status", "error") if "output" not in case.expect else ("status", "output", "error")
        assert {k: ours.get(k) for k in compared} == {k: theirs.get(k) for k in compared}
    else:
        # moto is known wrong here (the case says how); flag it when that changes
        assert expected_part(theirs, case.expect) != case.expect, (
            f"moto now matches AWS: drop the note ({case.moto_differs})"
        )
