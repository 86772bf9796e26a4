"""The git hook (stepline.local.hooks) when the server is busy, down or refusing: no push is
lost silently. The network is switched off here: urlopen is replaced by a scripted server."""

from __future__ import annotations

import io
import json
import stat
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from stepline.local import hooks

URL = "http://127.0.0.1:8080"
PUSH = "a" * 40 + " " + "b" * 40 + " refs/heads/main\n"


class Scripted:
    """urlopen answering from a script: an exception to raise, or a JSON answer to return."""

    def __init__(self, *answers: BaseException | dict[str, Any]) -> None:
        self.answers = list(answers)
        self.sent: list[dict[str, Any]] = []

    def __call__(self, request: Any, timeout: float) -> Any:
        self.sent.append(json.loads(request.data))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return io.BytesIO(json.dumps(answer).encode())


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / ".stepline"
    folder.mkdir(mode=0o700)
    (folder / "api-token").write_text("token\n")
    return folder


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    delays: list[float] = []
    monkeypatch.setattr(hooks.time, "sleep", delays.append)
    return delays


def run_hook(data: Path, monkeypatch: pytest.MonkeyPatch, server: Scripted, stdin: str = PUSH) -> None:
    monkeypatch.setattr(hooks.urllib.request, "urlopen", server)
    monkeypatch.setattr(hooks.sys, "stdin", io.StringIO(stdin))
    argv = ["--kind", "post-receive", "--repository", "/srv/app.git", "--url", URL, "--data", str(data)]
    assert hooks.main(argv) == 0  # a hook never fails the git command


def refused(code: int, message: str) -> urllib.error.HTTPError:
    body = io.BytesIO(json.dumps({"error": "x", "message": message}).encode())
    return urllib.error.HTTPError(URL, code, "refused", {}, body)  # type: ignore[arg-type]


STARTED = {"started": ["arn:aws:states:local:000000000000:execution:stepline-app:main-bbbbbbbb-1"], "skipped": {}}


def test_a_reset_connection_or_a_busy_server_is_asked_again_with_back_off(
    data: Path, monkeypatch: pytest.MonkeyPatch, slept: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a server whose listen queue overflowed, then answered 503 while restarting
    server = Scripted(urllib.error.URLError(ConnectionResetError(104, "reset")), refused(503, "starting"), STARTED)
    # When the hook reports a push
    run_hook(data, monkeypatch, server)
    # Then it asked three times, waiting longer each time, and the third report started the pipeline
    assert len(server.sent) == 3
    assert slept == [0.25, 0.5]
    assert "stepline: started stepline-app main-bbbbbbbb-1" in capsys.readouterr().out
    assert not (data / "outbox").exists()


def test_a_push_the_server_never_heard_is_kept_once_and_said_on_stderr(
    data: Path, monkeypatch: pytest.MonkeyPatch, slept: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no server listening
    down = Scripted(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")))
    # When a push is reported (and the same push again: git retried, or the hook was run twice)
    run_hook(data, monkeypatch, down)
    run_hook(data, monkeypatch, down)
    # Then each gave up after the back-off, said so on stderr, and the push is kept once
    assert slept == list(hooks.RETRY_DELAYS) * 2
    said = capsys.readouterr().err
    assert (
        said.count("refs/heads/main not reported to http://127.0.0.1:8080 ([Errno 111] Connection refused); kept in")
        == 2
    )
    assert "stepline serve starts it when it next starts" in said
    [kept] = (data / "outbox").iterdir()
    assert json.loads(kept.read_text()) == {
        "repository": "/srv/app.git",
        "ref": "refs/heads/main",
        "before": "a" * 40,
        "after": "b" * 40,
    }
    # And only its owner can read it
    assert stat.S_IMODE((data / "outbox").stat().st_mode) == 0o700
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_without_a_token_the_server_never_ran_and_the_push_is_kept(
    data: Path, monkeypatch: pytest.MonkeyPatch, slept: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    (data / "api-token").unlink()
    run_hook(data, monkeypatch, Scripted(STARTED))
    assert "api-token" in capsys.readouterr().err
    assert len(list((data / "outbox").iterdir())) == 1


def test_a_refusal_is_said_and_not_retried(
    data: Path, monkeypatch: pytest.MonkeyPatch, slept: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a server that refuses the hook's token
    server = Scripted(refused(401, "send the API token as 'Authorization: Bearer …'"))
    run_hook(data, monkeypatch, server)
    # Then the hook asked once and said why, loudly; asking again would be refused again
    assert (len(server.sent), slept) == (1, [])
    assert (
        "stepline: the server at http://127.0.0.1:8080 refused refs/heads/main: HTTP 401: send the API token"
        in capsys.readouterr().err
    )


def test_a_push_that_starts_nothing_says_why(
    data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    skipped = {"started": [], "alreadyStarted": [], "skipped": {"app": ["Checkout: watches branch 'main'"]}}
    run_hook(data, monkeypatch, Scripted(skipped), stdin="a" * 40 + " " + "b" * 40 + " refs/heads/feature\n")
    assert (
        "stepline: refs/heads/feature started nothing: app: Checkout: watches branch 'main'" in capsys.readouterr().out
    )
    run_hook(data, monkeypatch, Scripted({"started": [], "skipped": {}}))
    assert "stepline: refs/heads/main started nothing: no pipeline is registered" in capsys.readouterr().out
    run_hook(data, monkeypatch, Scripted({"started": [], "alreadyStarted": ["app"], "skipped": {}}))
    assert capsys.readouterr().out == "stepline: app was already started by this push\n"
