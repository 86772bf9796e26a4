"""ActionRequest's naming and task-token check, which every action that ends later shares."""

from __future__ import annotations

import pytest

from stepline.actions.request import ActionRequest
from stepline.errors import ConfigurationError
from tests.helpers import load_event


def test_a_waiting_action_gets_its_token_and_one_without_is_refused_by_name() -> None:
    # Given the documented sample a CloudFormation action receives (events/)
    event = load_event("deploy_cloudformation/change-set-execute.json")
    request = ActionRequest.model_validate(event)
    # When its token is asked for, Then it is the Task's, and the action is named Stage.Action
    assert request.waiting_token("a CloudFormation action") == event["taskToken"]
    assert request.label == f"{event['stage']}.{event['action']['name']}"
    # And the same request sent without a token is refused, naming the action and what waits
    tokenless = ActionRequest.model_validate({k: v for k, v in event.items() if k != "taskToken"})
    with pytest.raises(ConfigurationError) as refused:
        tokenless.waiting_token("a CloudFormation action")
    assert str(refused.value) == (f"{request.label}: a CloudFormation action waits for a task token, and none came")
