"""The routes `stepline serve` adds (registering pipelines, git hook pushes) and the console,
driven with API Gateway proxy events against a real LocalRuntime: engine, SQLite, git."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from stepline import wiring
from stepline.api.app import handle
from stepline.local import hooks
from stepline.local.outbox import drain
from stepline.local.runtime import LocalRuntime
from tests.gitrepo import Repo
from tests.helpers import load_event, watching


class Served:
    def __init__(self, tmp_path: Path) -> None:
        self.runtime = LocalRuntime(tmp_path / ".stepline", workers=0)
        wiring.install_local_host(self.runtime)
        self.token = wiring.api_token()
        self.repo = Repo(tmp_path / "app")
        self.repo.commit("first", {"buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: ['true']\n"})

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
        event = load_event("api/cli-decision.json")
        event.update({"httpMethod": method, "path": path, "body": None if body is None else json.dumps(body)})
        event["requestContext"] = {**event["requestContext"], "path": path, "httpMethod": method}
        event["headers"] = {"Content-Type": "application/json", "Authorization": f"Bearer {token or self.token}"}
        event["multiValueHeaders"] = {}
        return handle(event, None)

    def push(self, before: str, after: str, ref: str = "refs/heads/main") -> dict[str, Any]:
        answer = self.call(
            "POST", "/api/hooks/git", {"repository": str(self.repo.path), "ref": ref, "before": before, "after": after}
        )
        assert answer["statusCode"] == 202, answer["body"]
        loaded: dict[str, Any] = json.loads(answer["body"])
        return loaded


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.chdir(tmp_path)
    state = Served(tmp_path)
    yield state
    state.runtime.close()


def document(repo: Path, **fields: Any) -> dict[str, Any]:
    return watching("app", provider="Git", repository=str(repo), branch="main", **fields)


def test_applying_needs_the_token_and_a_valid_pipeline(served: Served) -> None:
    refused = served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)}, token="forged")
    assert refused["statusCode"] == 401
    broken = document(served.repo.path)
    broken["stages"] = broken["stages"][:1]
    invalid = served.call("POST", "/api/pipelines", {"declaration": broken, "source": "app.yaml"})
    assert invalid["statusCode"] == 400
    assert json.loads(invalid["body"])["message"] == "app.yaml: stages: has 1 stages; a pipeline has 2 to 50"
    assert wiring.registry().all() == []
    applied = served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})
    assert applied["statusCode"] == 201
    assert json.loads(applied["body"])["startsOn"] == [f"pushes to git {served.repo.path} branch main (Source)"]


def test_a_hook_push_starts_the_pipeline_once_and_the_console_draws_it(served: Served) -> None:
    # Given the pipeline applied and a commit pushed to main
    served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})
    head = served.repo.git("rev-parse", "HEAD").strip()
    # When the hook reports it (twice: a retried hook)
    first = served.push("0" * 40, head)
    again = served.push("0" * 40, head)
    # Then one execution starts, and the retry starts nothing
    assert len(first["started"]) == 1
    assert (again["started"], again["alreadyStarted"]) == ([], ["app"])
    # And while it runs, its page refreshes itself
    running = served.call("GET", "/pipelines/app")["body"]
    assert '<meta http-equiv="refresh" content="2">' in running
    served.runtime.engine.run_until_done(first["started"][0], timeout=60)
    # And the console shows the pipeline's latest execution, stage by stage
    page = served.call("GET", "/pipelines/app")
    assert page["statusCode"] == 200
    assert "http-equiv" not in page["body"]  # a finished run's page stays still
    assert 'data-stage="Source"' in page["body"]
    assert '<div class="action s-Succeeded" data-action="Build.Build">' in page["body"]
    assert f"Commit <code>{head[:12]}</code>" in page["body"]  # from the trigger: this source has no namespace
    listing = served.call("GET", "/")
    assert '<a href="/pipelines/app">app</a>' in listing["body"]
    # And scripts read the same run as JSON, with the API token
    name = first["started"][0].rsplit(":", 1)[1]
    as_json = json.loads(served.call("GET", f"/api/pipelines/app/executions/{name}")["body"])
    assert (as_json["status"], as_json["commit"]) == ("Succeeded", head)
    assert [stage["name"] for stage in as_json["stages"]] == ["Source", "Build"]
    assert served.call("GET", "/api/pipelines", token="forged")["statusCode"] == 401
    assert json.loads(served.call("GET", "/api/pipelines")["body"])["pipelines"][0]["latest"]["status"] == "Succeeded"


def test_deleting_a_branch_or_pushing_elsewhere_starts_nothing(served: Served) -> None:
    served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})
    head = served.repo.git("rev-parse", "HEAD").strip()
    assert served.push(head, "0" * 40)["started"] == []
    assert served.push("0" * 40, head, ref="refs/heads/other")["skipped"] == {"app": ["Source: watches branch 'main'"]}


def test_console_paths_name_what_is_missing(served: Served) -> None:
    assert served.call("GET", "/pipelines/nope")["statusCode"] == 404
    served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})
    missing = served.call("GET", "/pipelines/app/executions/nothing-here")
    assert missing["statusCode"] == 404
    assert "app has no execution &#x27;nothing-here&#x27;" in missing["body"]
    as_json = served.call("GET", "/api/pipelines/app/executions/nothing-here")
    assert as_json["statusCode"] == 404
    assert json.loads(as_json["body"])["message"] == "app has no execution 'nothing-here'"


def test_a_failed_action_is_one_line_with_its_log_tail_on_the_page_and_in_json(served: Served) -> None:
    # Given a pipeline whose Commands action prints 30 lines and then fails
    failing = document(served.repo.path)
    failing["stages"][1]["actions"] = [
        {
            "name": "Test",
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "inputArtifacts": [{"name": "Src"}],
            "commands": ['for i in $(seq 1 30); do echo "output line $i"; done', "false"],
        }
    ]
    served.call("POST", "/api/pipelines", {"declaration": failing})
    started = served.push("0" * 40, served.repo.git("rev-parse", "HEAD").strip())["started"][0]
    served.runtime.engine.run_until_done(started, timeout=60)
    name = started.rsplit(":", 1)[1]
    line = "Build.Test failed: BuildFailedError — phase BUILD failed: `false` exited with status 1"
    # When the console draws the execution
    page = served.call("GET", f"/pipelines/app/executions/{name}")["body"]
    # Then it says what failed in one line, with the log's last lines and a link to it
    assert html.escape(line) in page
    assert "output line 30" in page
    assert "output line 2\n" not in page  # only the tail
    assert f'href="/pipelines/app/executions/{name}/logs/Build.Test"' in page
    # And never a stack trace or a path on the server
    for leak in ("stackTrace", "Traceback", 'File "', str(served.runtime.data)):
        assert leak not in page
    # When a script reads the execution as JSON
    answer = served.call("GET", f"/api/pipelines/app/executions/{name}")["body"]
    failure = json.loads(answer)["failure"]
    # Then the same line, the cause alone, the log's link and its last lines
    assert failure["summary"] == line
    assert (failure["action"], failure["error"]) == ("Build.Test", "BuildFailedError")
    assert failure["message"] == "phase BUILD failed: `false` exited with status 1"
    assert failure["log"] == f"/pipelines/app/executions/{name}/logs/Build.Test"
    assert "output line 30" in failure["logTail"]
    assert len(failure["logTail"]) <= 20
    for leak in ("stackTrace", "Traceback", 'File \\"', str(served.runtime.data) + "/logs"):
        assert leak not in answer


def test_pushes_kept_while_the_server_was_down_start_once_when_it_starts(served: Served) -> None:
    # Given the pipeline applied, and a push the hook could not report: kept twice (the hook ran
    # twice), beside a file that is not a push at all
    served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})
    head = served.repo.git("rev-parse", "HEAD").strip()
    move = {"ref": "refs/heads/main", "before": "0" * 40, "after": head}
    data = served.runtime.data
    hooks.keep(data, str(served.repo.path), move)
    hooks.keep(data, str(served.repo.path), move)
    (data / "outbox" / "torn.json").write_text('{"repository": ')
    # When the server starts and drains its outbox
    said = drain(data)
    # Then the push starts its pipeline once, the torn file is set aside, and nothing is left
    [torn, started] = sorted(said, key=lambda line: "unreadable" not in line)
    assert f"a kept push in {data / 'outbox' / 'torn.json'} is unreadable (Invalid JSON" in torn
    assert torn.endswith("; set aside as .rejected")
    assert f"refs/heads/main of {served.repo.path}: started stepline-app main-{head[:8]}-" in started
    assert sorted(path.name for path in (data / "outbox").iterdir()) == ["torn.rejected"]
    # And a push kept although the server also heard it (the answer was lost) starts nothing new
    hooks.keep(data, str(served.repo.path), move)
    assert drain(data) == [
        f"stepline: a push kept while the server was down, refs/heads/main of {served.repo.path}: "
        "app was already started by this push"
    ]
    [machine] = [entry.state_machine_arn for entry in wiring.registry().all()]
    assert len(served.runtime.engine.list_executions(machine)["executions"]) == 1


def browse(path: str, session: str | None = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    """A browser's GET: no API token, only the cookie it holds."""
    event = load_event("api/review.json")
    event.update({"path": path, "queryStringParameters": query, "multiValueQueryStringParameters": None})
    event["requestContext"] = {**event["requestContext"], "path": path, "httpMethod": "GET"}
    event["headers"] = {"Cookie": f"stepline_console={session}"} if session else {}
    event["multiValueHeaders"] = {}
    return handle(event, None)


def signed_in_with(link: str) -> dict[str, Any]:
    parts = urlsplit(link)
    return browse(parts.path, query=dict(parse_qsl(parts.query)))


def test_the_local_console_and_its_logs_need_a_sign_in(served: Served) -> None:
    # Given a pipeline registered with the local server
    served.call("POST", "/api/pipelines", {"declaration": document(served.repo.path)})
    # When a browser with no session (another local user, a web page) asks for the console
    for path in ("/", "/pipelines/app", "/pipelines/app/executions/x/logs/Build.Build"):
        refused = browse(path)
        # Then it is asked to sign in, and shown nothing of the pipelines
        assert refused["statusCode"] == 401, path
        assert "stepline console" in refused["body"]
        assert "app" not in refused["body"]
    # And a forged or expired session cookie is no better
    assert browse("/", session="4102444800.forged")["statusCode"] == 401
    stale = wiring.link_signer().sign("console", wiring.now() - 1)
    assert browse("/", session=stale)["statusCode"] == 401


def test_a_sign_in_link_sets_a_session_once(served: Served) -> None:
    # Given a fresh sign-in link, asked for with the API token (what `stepline console` does)
    assert served.call("POST", "/api/console/login-links", token="forged")["statusCode"] == 401
    asked = served.call("POST", "/api/console/login-links")
    assert asked["statusCode"] == 201
    link = json.loads(asked["body"])["url"]
    assert link.startswith("http://127.0.0.1:8080/login?token=")
    # When a browser opens it
    opened = signed_in_with(link)
    # Then it gets the session cookie (HttpOnly, SameSite=Strict) and goes on to the pipelines
    assert (opened["statusCode"], opened["multiValueHeaders"]["Location"]) == (303, ["/"])
    [jar] = opened["multiValueHeaders"]["Set-Cookie"]
    assert "HttpOnly" in jar
    assert "SameSite=Strict" in jar
    session = jar.split(";")[0].split("=", 1)[1]
    assert browse("/", session=session)["statusCode"] == 200
    # When the same link is opened again (from the terminal's scrollback, by someone else)
    again = signed_in_with(link)
    # Then it signs nobody in
    assert again["statusCode"] == 403
    assert "This sign-in link was used already: each works once." in again["body"]
    assert "Set-Cookie" not in again["multiValueHeaders"]


def test_a_forged_or_expired_sign_in_link_signs_nobody_in(served: Served) -> None:
    link = json.loads(served.call("POST", "/api/console/login-links")["body"])["url"]
    nonce = link.split("token=", 1)[1].split(".", 1)[0]
    forged = browse("/login", query={"token": f"{nonce}.4102444800.AAAA"})
    assert (forged["statusCode"], "not a sign-in link of this server" in forged["body"]) == (403, True)
    later = wiring.now() + 24 * 3600 + 1
    wiring.install_clock(lambda: later)
    expired = signed_in_with(link)
    assert (expired["statusCode"], "This sign-in link has expired." in expired["body"]) == (403, True)
