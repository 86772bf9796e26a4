"""The HTTP API's resolver driven with the API Gateway proxy events in events/api/ — no sockets.

Given a local runtime (SQLite approvals) with a pending approval made by the approval handler
from events/approval/request.json, and a recorder in place of Step Functions' callbacks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from stepline import wiring
from stepline.api.app import handle
from stepline.triggers.changes import RepositoryChange
from tests.handlers import load_handler
from tests.helpers import load_event

NOW = 1_790_000_000.0
SECRET = "It's a Secret to Everybody"  # the secret the samples in events/api/ are signed with


class Recorded:
    def __init__(self) -> None:
        self.answers: list[tuple[str, Any]] = []
        self.crash_next = 0  # the next sends fail, as a throttled SendTask* or a crashed process would

    def succeed(self, token: str, output: Any) -> None:
        self._crash()
        self.answers.append(("succeed", token, output))  # type: ignore[arg-type]

    def fail(self, token: str, error: str, cause: str) -> None:
        self._crash()
        self.answers.append(("fail", token, (error, cause)))  # type: ignore[arg-type]

    def _crash(self) -> None:
        if self.crash_next:
            self.crash_next -= 1
            raise RuntimeError("ThrottlingException: Rate exceeded")


class Pushes:
    def __init__(self) -> None:
        self.received_pushes: list[RepositoryChange] = []

    def received(self, change: RepositoryChange) -> list[str]:
        self.received_pushes.append(change)
        return ["payments-release/push-3e9ecf5"]


class World:
    def __init__(self) -> None:
        self.time = NOW
        self.callbacks = Recorded()
        self.pushes = Pushes()
        self.notices: list[str] = []

    def request_approval(self, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
        answer = load_handler("approval").lambda_handler(load_event("approval/request.json"), None)
        printed = capsys.readouterr().err
        [link] = re.findall(r"review: (\S+)", printed)
        return answer["approval"], link.split("?sig=")[1]

    def get(self, approval: str, sig: str | None) -> dict[str, Any]:
        event = load_event("api/review.json")
        event["path"] = f"/approvals/{approval}"
        event["queryStringParameters"] = {"sig": sig} if sig is not None else None
        return handle(event, None)

    def post(self, approval: str, fields: dict[str, str], cookie: str | None) -> dict[str, Any]:
        event = load_event("api/decide.json")
        event["path"] = f"/approvals/{approval}"
        event["body"] = urlencode(fields)
        event["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie is not None:
            event["headers"]["Cookie"] = f"stepline_csrf={cookie}"
        return handle(event, None)

    def open_form(self, approval: str, sig: str) -> tuple[dict[str, str], str]:
        page = self.get(approval, sig)
        assert page["statusCode"] == 200, page["body"]
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page["body"]))
        [cookie] = page["multiValueHeaders"]["Set-Cookie"]
        return fields, cookie.split(";")[0].split("=", 1)[1]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / ".stepline"))
    monkeypatch.setenv("STEPLINE_SECRET_STEPLINE_GITHUB_WEBHOOK_SECRET", SECRET)
    wiring.reset()
    state = World()
    wiring.install_local_callbacks(state.callbacks)
    wiring.install_clock(lambda: state.time)
    wiring.install_pushes(state.pushes)
    yield state
    wiring.reset()


def test_the_review_link_shows_the_approval_and_decides_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    approval, sig = world.request_approval(capsys)
    page = world.get(approval, sig)
    assert page["statusCode"] == 200
    assert "Release 3e9ecf5a1ad7a2c5f8e6b4d2c1a09f8e7d6c5b4a of payments to production?" in page["body"]
    assert "AQCEAAAAKgAAAAMAAAAAAAAAAe+Example+Task+Token" not in page["body"]  # the token never leaves the store
    assert page["multiValueHeaders"]["Referrer-Policy"] == ["same-origin"]
    assert world.get(approval, sig)["statusCode"] == 200  # opening it twice (a mail scanner) is harmless
    assert world.callbacks.answers == []


def test_approve_answers_the_token_once_with_the_reviewer_and_comment(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    approval, sig = world.request_approval(capsys)
    fields, cookie = world.open_form(approval, sig)
    done = world.post(approval, fields | {"decision": "approve", "reviewer": "Ada", "comment": "Looks good"}, cookie)
    assert done["statusCode"] == 200
    assert "approved by Ada" in done["body"]
    [(kind, token, output)] = world.callbacks.answers
    assert (kind, token) == ("succeed", "AQCEAAAAKgAAAAMAAAAAAAAAAe+Example+Task+Token")
    assert output["approval"] == {
        "status": "Approved",
        "summary": "Looks good",
        "approvedBy": "Ada",
        "approvedAt": "2026-09-21T14:13:20+00:00",
    }
    # Then a second submit of the same form changes nothing
    again = world.post(approval, fields | {"decision": "reject", "reviewer": "Bo"}, cookie)
    assert again["statusCode"] == 409
    assert "already approved by Ada" in again["body"]
    assert len(world.callbacks.answers) == 1


def test_a_decision_whose_answer_was_lost_is_answered_again_when_it_is_retried(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an approval decided while Step Functions could not be reached: the decision is
    # recorded, its answer never sent, and the reviewer sees an error
    approval, sig = world.request_approval(capsys)
    fields, cookie = world.open_form(approval, sig)
    world.callbacks.crash_next = 1
    crashed = world.post(approval, fields | {"decision": "approve", "reviewer": "Ada", "comment": "ship"}, cookie)
    assert crashed["statusCode"] == 500
    assert world.callbacks.answers == []
    # When the reviewer submits the same decision again, a minute later
    world.time += 60
    again = world.post(approval, fields | {"decision": "approve", "reviewer": "Ada", "comment": "ship"}, cookie)
    # Then the recorded decision is answered (as recorded: its time, its comment), once
    assert again["statusCode"] == 200, again["body"]
    [(kind, _, output)] = world.callbacks.answers
    assert kind == "succeed"
    assert output["approval"] == {
        "status": "Approved",
        "summary": "ship",
        "approvedBy": "Ada",
        "approvedAt": "2026-09-21T14:13:20+00:00",
    }
    # And it is answered for good: another decision is refused, nothing more is sent
    late = world.post(approval, fields | {"decision": "reject", "reviewer": "Bo"}, cookie)
    assert late["statusCode"] == 409
    assert len(world.callbacks.answers) == 1


def test_a_lost_answer_is_sent_by_the_sweeper_or_the_cli_and_a_contrary_decision_is_refused(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from stepline.actions.approval import answer_unanswered

    approval, sig = world.request_approval(capsys)
    fields, cookie = world.open_form(approval, sig)
    world.callbacks.crash_next = 1
    world.post(approval, fields | {"decision": "reject", "reviewer": "Ada", "comment": "freeze"}, cookie)
    # A contrary decision sends the recorded one, and is itself refused
    contrary = world.post(approval, fields | {"decision": "approve", "reviewer": "Bo"}, cookie)
    assert contrary["statusCode"] == 409
    assert "already rejected by Ada" in contrary["body"]
    assert world.callbacks.answers == [
        ("fail", "AQCEAAAAKgAAAAMAAAAAAAAAAe+Example+Task+Token", ("ApprovalRejected", "rejected by Ada: freeze"))
    ]
    # And the sweeper, finding it answered, sends nothing more
    assert answer_unanswered(wiring.approvals(), world.callbacks, decided_before=world.time + 600) == []

    # Given another approval whose decision's answer was lost
    second = load_event("approval/request.json")
    second["execution"]["name"] = "push-second"
    load_handler("approval").lambda_handler(second, None)
    [link] = re.findall(r"review: (\S+)", capsys.readouterr().err)
    other, other_sig = link.rsplit("/", 1)[1].split("?sig=")
    fields, cookie = world.open_form(other, other_sig)
    world.callbacks.crash_next = 1
    world.post(other, fields | {"decision": "approve", "reviewer": "Ada"}, cookie)
    # When the sweeper runs, before and after the decision is old enough, Then it answers it once
    assert answer_unanswered(wiring.approvals(), world.callbacks, decided_before=world.time - 1) == []
    assert answer_unanswered(wiring.approvals(), world.callbacks, decided_before=world.time + 1) == [
        "answered again: payments-release Release.Approve Approved"
    ]
    assert answer_unanswered(wiring.approvals(), world.callbacks, decided_before=world.time + 600) == []
    assert [kind for kind, _, _ in world.callbacks.answers] == ["fail", "succeed"]


def test_reject_fails_the_action_with_the_comment(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    approval, sig = world.request_approval(capsys)
    fields, cookie = world.open_form(approval, sig)
    world.post(approval, fields | {"decision": "reject", "reviewer": "Bo", "comment": "Not on a Friday"}, cookie)
    assert world.callbacks.answers == [
        (
            "fail",
            "AQCEAAAAKgAAAAMAAAAAAAAAAe+Example+Task+Token",
            ("ApprovalRejected", "rejected by Bo: Not on a Friday"),
        )
    ]


@pytest.mark.parametrize(
    ("tamper", "status", "says"),
    [
        (lambda sig: None, 403, "the link has no signature"),
        (lambda sig: sig[:-2] + ("AA" if not sig.endswith("AA") else "BB"), 403, "does not match this approval"),
        (lambda sig: str(int(sig.split(".")[0]) + 3600) + "." + sig.split(".")[1], 403, "does not match"),
        (lambda sig: "not-a-signature", 403, "malformed"),
    ],
    ids=["missing", "forged", "expiry-stretched", "malformed"],
)
def test_a_bad_link_is_refused_with_a_page(
    world: World, capsys: pytest.CaptureFixture[str], tamper: Any, status: int, says: str
) -> None:
    approval, sig = world.request_approval(capsys)
    page = world.get(approval, tamper(sig))
    assert page["statusCode"] == status
    assert says in page["body"]
    assert "Nothing was changed" in page["body"]


def test_a_link_signed_for_another_approval_is_refused(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    approval, sig = world.request_approval(capsys)
    other = "a" * len(approval)
    assert world.get(other, sig)["statusCode"] == 403
    fields, cookie = world.open_form(approval, sig)
    assert world.post(other, fields | {"decision": "approve"}, cookie)["statusCode"] == 403
    assert world.callbacks.answers == []


def test_an_expired_link_is_gone_and_decides_nothing(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    approval, sig = world.request_approval(capsys)
    fields, cookie = world.open_form(approval, sig)
    world.time += 1440 * 60  # the sample's timeoutInMinutes
    assert world.get(approval, sig)["statusCode"] == 410
    assert world.post(approval, fields | {"decision": "approve"}, cookie)["statusCode"] == 410
    assert world.callbacks.answers == []


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"csrf": ""}, 403, "CSRF token is missing"),
        ({"csrf": "forged.token"}, 403, "CSRF token"),
        ({"execution": "push-0000000"}, 409, "another execution"),
        ({"decision": "maybe"}, 400, "choose Approve or Reject"),
    ],
    ids=["csrf-missing", "csrf-forged", "wrong-execution", "no-decision"],
)
def test_a_bad_form_changes_nothing(
    world: World, capsys: pytest.CaptureFixture[str], change: dict[str, str], status: int, says: str
) -> None:
    approval, sig = world.request_approval(capsys)
    fields, cookie = world.open_form(approval, sig)
    page = world.post(approval, fields | {"decision": "approve"} | change, cookie)
    assert (page["statusCode"], says in page["body"]) == (status, True), page["body"]
    assert world.callbacks.answers == []
    # and the form still works afterwards
    assert world.post(approval, fields | {"decision": "approve"}, cookie)["statusCode"] == 200


def test_a_form_without_the_cookie_is_refused(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    approval, sig = world.request_approval(capsys)
    fields, _ = world.open_form(approval, sig)
    assert world.post(approval, fields | {"decision": "approve"}, None)["statusCode"] == 403
    assert world.callbacks.answers == []


def test_a_retried_request_keeps_one_approval_with_the_new_token(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    approval, sig = world.request_approval(capsys)
    retried = load_event("approval/request.json") | {"taskToken": "second-attempt-token"}
    assert load_handler("approval").lambda_handler(retried, None)["approval"] == approval
    fields, cookie = world.open_form(approval, sig)
    world.post(approval, fields | {"decision": "approve", "reviewer": "Ada"}, cookie)
    assert [token for _, token, _ in world.callbacks.answers] == ["second-attempt-token"]
    assert len(wiring.approvals().pending()) == 0


def test_the_json_api_decides_by_execution_stage_and_action(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.request_approval(capsys)
    event = load_event("api/cli-decision.json")
    assert handle(event, None)["statusCode"] == 401  # the sample's token is not this machine's
    event["headers"]["Authorization"] = f"Bearer {wiring.api_token()}"
    answer = handle(event, None)
    assert answer["statusCode"] == 200, answer["body"]
    assert json.loads(answer["body"])["approval"]["status"] == "Approved"
    assert world.callbacks.answers[0][2]["approval"]["approvedBy"] == "ada"
    again = handle(event, None)
    assert (again["statusCode"], json.loads(again["body"])["error"]) == (404, "No such approval")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{not json", "the body is not JSON: Expecting property name"),
        ('{"execution": "e"}', "stage: Field required"),
    ],
)
def test_a_bad_json_api_body_is_a_400_naming_the_problem(world: World, body: str, says: str) -> None:
    event = load_event("api/cli-decision.json") | {"body": body}
    event["headers"]["Authorization"] = f"Bearer {wiring.api_token()}"
    answer = handle(event, None)
    assert answer["statusCode"] == 400
    assert says in json.loads(answer["body"])["message"]


def test_an_unknown_route_is_a_json_404(world: World) -> None:
    event = load_event("api/review.json") | {"path": "/nothing/here"}
    answer = handle(event, None)
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["message"] == "no route GET /nothing/here"


def signed(event: dict[str, Any], body: str, secret: str = SECRET) -> dict[str, Any]:
    event["body"] = body
    event["headers"]["X-Hub-Signature-256"] = (
        "sha256=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    )
    return event


def test_a_signed_push_reaches_the_trigger_logic_once(world: World) -> None:
    event = load_event("api/github-push.json")
    answer = handle(event, None)
    assert answer["statusCode"] == 202, answer["body"]
    [push] = world.pushes.received_pushes
    assert (push.repository, push.reference_name, push.commit_id[:7]) == ("example-org/payments", "main", "3e9ecf5")
    assert push.paths == {"payments/retry.py", "payments/client.py", "README.md"}
    replay = handle(load_event("api/github-push.json"), None)
    assert (replay["statusCode"], json.loads(replay["body"])["duplicate"]) == (200, True)
    assert len(world.pushes.received_pushes) == 1


def test_ping_is_answered(world: World) -> None:
    answer = handle(load_event("api/github-ping.json"), None)
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"pong": True, "hook": 292430182})


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        (lambda e: signed(e, e["body"], "wrong secret"), 401, "does not match"),
        (lambda e: e["headers"].pop("X-Hub-Signature-256") and e, 401, "X-Hub-Signature-256 is missing"),
        (lambda e: e | {"body": e["body"].replace("refs/heads/main", "refs/heads/prod")}, 401, "does not match"),
        (lambda e: signed(e, "x" * (5 * 1024 * 1024 + 1)), 413, "the limit is"),
        (lambda e: signed(e, "{not json"), 400, "not JSON"),
        (lambda e: signed(e, '{"ref": "refs/heads/main"}'), 400, "not a GitHub push: before"),
        (lambda e: e["headers"].update({"X-GitHub-Event": "issues"}) or e, 400, "'issues'"),
    ],
    ids=["wrong-secret", "missing-header", "altered-body", "oversized", "bad-json", "wrong-shape", "non-push"],
)
def test_a_bad_webhook_is_refused_and_starts_nothing(world: World, change: Any, status: int, says: str) -> None:
    answer = handle(change(load_event("api/github-push.json")), None)
    assert answer["statusCode"] == status, answer["body"]
    assert says in json.loads(answer["body"])["message"]
    assert world.pushes.received_pushes == []


def test_a_failed_handoff_lets_the_redelivery_through(world: World) -> None:
    class Down:
        def received(self, change: RepositoryChange) -> list[str]:
            raise RuntimeError("trigger store unavailable")

    wiring.install_pushes(Down())
    assert handle(load_event("api/github-push.json"), None)["statusCode"] == 500
    wiring.install_pushes(world.pushes)
    assert handle(load_event("api/github-push.json"), None)["statusCode"] == 202
