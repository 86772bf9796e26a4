"""The console's execution page: a never-run pipeline's stages, arrows, output variables, who
decided an approval, the history's duration, commit and trigger, and Release change — driven
with API Gateway proxy events against a real LocalRuntime (engine, SQLite, git, real builds)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from stepline import wiring
from stepline.actions.approval import approval_id, decide
from stepline.api.app import handle
from tests.helpers import load_event
from tests.unit.test_local_server_api import Served, browse, document


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.chdir(tmp_path)
    state = Served(tmp_path)
    yield state
    state.runtime.close()


def post_form(path: str, fields: dict[str, str], session: str = "", bearer: str = "") -> dict[str, Any]:
    event = load_event("api/review.json")
    event.update({"httpMethod": "POST", "path": path, "body": urlencode(fields), "isBase64Encoded": False})
    event.update({"queryStringParameters": None, "multiValueQueryStringParameters": None})
    event["requestContext"] = {**event["requestContext"], "path": path, "httpMethod": "POST"}
    event["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    if session:
        event["headers"]["Cookie"] = f"stepline_console={session}"
    if bearer:
        event["headers"]["Authorization"] = f"Bearer {bearer}"
    event["multiValueHeaders"] = {}
    return handle(event, None)


def test_a_pipeline_that_never_ran_shows_its_stages_with_arrows_and_a_release_button(served: Served) -> None:
    # Given a pipeline registered, never run
    served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})
    # When its page is opened
    body = served.call("GET", "/pipelines/app")["body"]
    # Then its stages and actions are drawn, Pending, an arrow between them, with the levers
    assert "This pipeline has not run yet." in body
    assert 'data-stage="Source"' in body
    assert '<div class="action s-Pending" data-action="Build.Build">' in body
    assert body.count('<div class="arrow" aria-hidden="true">→</div>') == 1
    assert '<button class="btn" type="submit">Release change</button>' in body
    assert 'href="/pipelines/app/metrics"' in body


def test_release_change_starts_an_execution_and_the_history_says_how_it_went(served: Served) -> None:
    # Given a pipeline registered (its source with a namespace: its commit is then recorded)
    # and a browser session (a signed cookie) on its page
    declaration = document(served.repo.path)
    declaration["stages"][0]["actions"][0]["namespace"] = "SourceVariables"
    served.call("POST", "/api/pipelines", {"declaration": declaration})
    session = wiring.link_signer().sign("console", wiring.now() + 3600)
    page = browse("/pipelines/app", session=session)["body"]
    token = html.unescape(page.split('name="csrf" value="', 1)[1].split('"', 1)[0])
    # When a form without the page's token is posted (another site's form), Then nothing starts
    forged = post_form("/pipelines/app/release", {"csrf": "1.forged"}, session=session)
    assert forged["statusCode"] == 403
    assert served.runtime.executions("app") == []
    # When Release change is pressed with it
    pressed = post_form("/pipelines/app/release", {"csrf": token}, session=session)
    # Then an execution starts and the browser is sent to it
    assert pressed["statusCode"] == 303
    [started] = served.runtime.executions("app")
    location = pressed["multiValueHeaders"]["Location"][0]
    assert location == f"/pipelines/app/executions/{started['name']}"
    served.runtime.engine.run_until_done(started["executionArn"], timeout=60)
    # And the history lists it with its duration, commit and what started it
    body = browse(location, session=session)["body"]
    head = served.repo.git("rev-parse", "HEAD").strip()
    assert '<th>Duration</th><th>Commit</th><th class="opt">Trigger</th>' in body
    row = body.split(f">{started['name']}</a></td>", 1)[1].split("</tr>", 1)[0]
    assert 'class="badge s-Succeeded"' in row
    assert '<td class="opt">Release change</td>' in row
    assert "s</td>" in row  # a duration such as 0.4s
    assert f"<code>{head[:8]}</code>" in row  # the branch head, which the source fetched
    # And a script may press it with the API token, no form needed
    scripted = post_form("/pipelines/app/release", {}, bearer=served.token)
    assert scripted["statusCode"] == 303
    assert len(served.runtime.executions("app")) == 2


def test_an_execution_shows_outputs_and_who_approved_with_what_they_wrote(served: Served) -> None:
    # Given a pipeline whose source has a namespace, then a manual approval
    declaration = document(served.repo.path)
    declaration["stages"][0]["actions"][0]["namespace"] = "SourceVariables"
    declaration["stages"][1] = {
        "name": "Approve",
        "actions": [
            {
                "name": "Release",
                "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
            }
        ],
    }
    served.call("POST", "/api/pipelines", {"declaration": declaration})
    head = served.repo.git("rev-parse", "HEAD").strip()
    arn = served.push("0" * 40, head)["started"][0]
    name = arn.rsplit(":", 1)[1]
    waiting = approval_id("app", name, "Approve", "Release")
    served.runtime.engine.run(until=lambda: wiring.approvals().get(waiting) is not None, block=True, timeout=60)
    # When Grace approves with a comment
    decide(
        waiting,
        True,
        "release notes <checked>",
        "Grace",
        wiring.approvals(),
        wiring.task_callbacks(),
    )
    served.runtime.engine.run_until_done(arn, timeout=60)
    body = served.call("GET", f"/pipelines/app/executions/{name}")["body"]
    # Then the approval's box says who and what, escaped, and the source's box its variables
    assert "Approved by <b>Grace</b> at " in body
    assert "<q>release notes &lt;checked&gt;</q>" in body
    assert f"<dt>CommitId</dt><dd>{head}</dd>" in body
    assert json.loads(served.call("GET", f"/api/pipelines/app/executions/{name}")["body"])["status"] == "Succeeded"


def test_a_failed_action_lists_no_outputs(served: Served) -> None:
    # Given a pipeline whose build fails, its source with a namespace
    declaration = document(served.repo.path)
    declaration["stages"][0]["actions"][0]["namespace"] = "SourceVariables"
    served.repo.commit("break", {"buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: ['false']\n"})
    served.call("POST", "/api/pipelines", {"declaration": declaration})
    arn = served.push("0" * 40, served.repo.git("rev-parse", "HEAD").strip())["started"][0]
    served.runtime.engine.run_until_done(arn, timeout=60)
    body = served.call("GET", f"/pipelines/app/executions/{arn.rsplit(':', 1)[1]}")["body"]
    # Then the failed box holds its error, and neither the source's variables nor its input artifact
    failed = body.split('data-action="Build.Build">', 1)[1].split('<div class="action', 1)[0]
    assert "BuildFailedError" in failed
    assert "<dl" not in failed
    assert "/artifacts/" not in failed


def test_a_running_execution_is_stopped_from_its_page(served: Served) -> None:
    # Given an execution started, not yet run (the engine has no worker here), and its page in a session
    served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})
    session = wiring.link_signer().sign("console", wiring.now() + 3600)
    assert post_form("/pipelines/app/release", {}, bearer=served.token)["statusCode"] == 303
    [started] = served.runtime.executions("app")
    page = browse(f"/pipelines/app/executions/{started['name']}", session=session)["body"]
    # Then the page offers Stop and wait and Abandon
    assert '<button class="btn secondary" name="how" value="wait">Stop and wait</button>' in page
    token = html.unescape(page.split('name="csrf" value="', 1)[1].split('"', 1)[0])
    # When Abandon is pressed with a reason
    stop = f"/pipelines/app/executions/{started['name']}/stop"
    pressed = post_form(stop, {"csrf": token, "how": "abandon", "reason": "wrong branch"}, session=session)
    # Then the execution is stopped now, and the browser goes back to it, which offers no Stop any more
    assert pressed["statusCode"] == 303
    [stopped] = served.runtime.executions("app")
    assert stopped["status"] == "ABORTED"
    after = browse(f"/pipelines/app/executions/{started['name']}", session=session)["body"]
    assert 'class="badge s-Stopped"' in after
    assert "Stop and wait" not in after
    # And stopping it again is refused, saying why
    again = post_form(stop, {"csrf": token, "how": "abandon"}, session=session)
    assert again["statusCode"] == 409
    assert "the execution is not in progress" in again["body"]
