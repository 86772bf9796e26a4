"""The console's build log page, its raw text and its live tail, driven with API Gateway proxy
events against a real LocalRuntime (engine, SQLite, git, a real build in bash)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepline.api.app import handle
from tests.helpers import load_event
from tests.unit.test_local_server_api import Served, document


def get(served: Served, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    """A script's GET with the API token as its bearer."""
    event = load_event("api/cli-decision.json")
    event.update({"httpMethod": "GET", "path": path, "body": None})
    event.update({"queryStringParameters": query, "multiValueQueryStringParameters": None})
    event["requestContext"] = {**event["requestContext"], "path": path, "httpMethod": "GET"}
    event["headers"] = {"Authorization": f"Bearer {served.token}"}
    event["multiValueHeaders"] = {}
    return handle(event, None)


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Served, str]]:
    """A finished execution whose Commands action ran two commands, the second failing."""
    monkeypatch.chdir(tmp_path)
    served = Served(tmp_path)
    failing = document(served.repo.path)
    failing["stages"][1]["actions"] = [
        {
            "name": "Test",
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "inputArtifacts": [{"name": "Src"}],
            "commands": ["echo '<b>not markup</b>'", "false"],
        }
    ]
    served.call("POST", "/api/pipelines", {"declaration": failing})
    started = served.push("0" * 40, served.repo.git("rev-parse", "HEAD").strip())["started"][0]
    served.runtime.engine.run_until_done(started, timeout=60)
    yield served, started.rsplit(":", 1)[1]
    served.runtime.close()


def test_the_log_page_shows_phases_commands_and_times_with_a_way_back(built: tuple[Served, str]) -> None:
    served, name = built
    # When the failed action's log is opened
    page = served.call("GET", f"/pipelines/app/executions/{name}/logs/Build.Test")
    body = page["body"]
    # Then it is a page: the phase table and the phase's header say FAILED with a duration,
    # each command is echoed in its own style, and the output is text, not markup
    assert page["statusCode"] == 200
    assert page["multiValueHeaders"]["Content-Type"] == ["text/html"]
    assert "<tr><td>BUILD</td><td>FAILED</td><td>" in body
    assert '<details class="phase phase-FAILED" open><summary>BUILD · FAILED · ' in body
    assert '<span class="c">Running command false</span>' in body
    assert '<span class="x">Command did not exit successfully false exit status 1</span>' in body
    assert "&lt;b&gt;not markup&lt;/b&gt;" in body
    # And it leads back to the execution and to the raw log; a finished log runs no script
    assert f'<a class="back" href="/pipelines/app/executions/{name}">' in body
    assert f'href="/pipelines/app/executions/{name}/logs/Build.Test?format=text"' in body
    assert "console.js" not in body


def test_the_raw_log_and_the_tail_answer_scripts(built: tuple[Served, str]) -> None:
    served, name = built
    log = f"/pipelines/app/executions/{name}/logs/Build.Test"
    # When a script asks for the raw log (as the bearer)
    raw = get(served, log, {"format": "text"})
    # Then it is the file as written
    assert raw["multiValueHeaders"]["Content-Type"] == ["text/plain; charset=utf-8"]
    assert raw["body"].splitlines()[-1].endswith("Phase complete: BUILD State: FAILED")
    # When the tail is asked from the start, and then from where it ended
    event = json.loads(get(served, log + "/tail")["body"])
    # Then the whole log comes, the action is not running, and nothing more follows
    assert event["text"] == raw["body"]
    assert event["running"] is False
    assert event["offset"] == len(raw["body"].encode())
    again = get(served, f"{log}/tail", {"offset": str(event["offset"])})
    assert json.loads(again["body"])["text"] == ""


@pytest.mark.parametrize(
    ("path", "query", "status", "says"),
    [
        ("/logs/Build.Nope", None, 404, "app has no action &#x27;Build.Nope&#x27;"),
        ("/logs/Build.Test/tail", {"offset": "ten"}, 400, "offset must be a byte count, not 'ten'"),
        ("/logs/Build.Nope/tail", None, 404, "app has no action 'Build.Nope'"),
    ],
)
def test_bad_log_requests_are_named(
    built: tuple[Served, str], path: str, query: dict[str, str] | None, status: int, says: str
) -> None:
    served, name = built
    answer = get(served, f"/pipelines/app/executions/{name}{path}", query)
    assert answer["statusCode"] == status
    assert says in answer["body"]


def test_the_console_script_is_served_and_the_log_page_may_run_only_it(built: tuple[Served, str]) -> None:
    served, name = built
    script = served.call("GET", "/console.js")
    assert script["statusCode"] == 200
    assert "data-tail" in script["body"]
    page = served.call("GET", f"/pipelines/app/executions/{name}/logs/Build.Test")
    policy = page["multiValueHeaders"]["Content-Security-Policy"][0]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
