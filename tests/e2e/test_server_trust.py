"""`stepline serve` attacked as issue 12 found it open: a page reaching it under a foreign Host
(DNS rebinding), cross-origin posts, requests racing in its threads, a flood of pushes, a
captured push replayed. Each test is the attack, against a real server on loopback."""

from __future__ import annotations

import http.client
import itertools
import json
import re
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import pytest

from stepline.local import hooks
from tests.e2e.local_server import (
    APPROVE,
    BUILD,
    Server,
    commit_and_push,
    git,
    pipeline,
    repositories,
    stepline,
    wait_for,
)

T = TypeVar("T")


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    server: Server,
    method: str,
    path: str,
    *,
    host: str | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> Answer:
    """One request on its own connection, with the Host a browser would send for ``host``."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        sent = {"Host": host or f"127.0.0.1:{server.port}", **(headers or {})}
        connection.request(method, path, body=body.encode() if body is not None else None, headers=sent)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read().decode("utf-8", errors="replace"))
    finally:
        connection.close()


def all_at_once(requests: list[Callable[[], T]]) -> list[T]:
    """Every request sent together: each thread waits at a barrier, then fires."""
    barrier = threading.Barrier(len(requests))

    def fire(request: Callable[[], T]) -> T:
        barrier.wait(timeout=120)
        return request()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(fire, requests))


def token(server: Server) -> str:
    return (server.data / "api-token").read_text().strip()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    running.start()
    yield running
    running.stop()


# --- DNS rebinding and cross-origin posts ----------------------------------------------------


def test_a_page_reaching_the_server_under_its_own_name_is_misdirected(server: Server) -> None:
    # Given an attacker's page at http://rebind.example:PORT whose name now resolves to
    # 127.0.0.1: its requests reach the server carrying Host rebind.example:PORT
    foreign = f"rebind.example:{server.port}"
    # When it reads the console, a review page, or the API
    for path in ("/", "/pipelines/app", "/approvals/abc?sig=1.x", "/api/approvals"):
        answer = call(server, "GET", path, host=foreign, headers={"Accept": "text/html"})
        # Then each is refused 421 with a page saying why, and nothing of the console is in it
        assert answer.status == 421, (path, answer.body)
        assert "Misdirected request" in answer.body
        assert f"answers only for 127.0.0.1:{server.port}" in answer.body
    # And a form post under that name is refused the same way, before any route runs
    posted = call(server, "POST", "/login", host=foreign, body="token=x")
    assert (posted.status, posted.json()["error"]) == (421, "Misdirected request")
    # While the loopback names themselves are served
    for name in ("127.0.0.1", "localhost"):
        assert call(server, "GET", "/login", host=f"{name}:{server.port}").status == 200


def test_a_cross_origin_post_is_refused_and_scripts_still_post(server: Server) -> None:
    push = json.dumps({"repository": str(server.home / "none.git"), "ref": "refs/heads/main", "after": "a" * 40})
    bearer = {"Authorization": f"Bearer {token(server)}", "Content-Type": "application/json"}
    # Given a page on another site (or another local port) that makes the browser post here
    for origin in ("https://evil.example", "http://127.0.0.1:1"):
        refused = call(server, "POST", "/api/hooks/git", headers={**bearer, "Origin": origin}, body=push)
        # Then it is refused 403 naming the origin, even with a valid token in hand
        assert refused.status == 403, refused.body
        assert f"from a page of {origin}" in refused.json()["message"]
    no_origin = {**bearer, "Sec-Fetch-Site": "cross-site"}
    assert call(server, "POST", "/api/hooks/git", headers=no_origin, body=push).status == 403
    # When a script posts without any Origin (curl, the CLI, a git hook), Then it goes through
    assert call(server, "POST", "/api/hooks/git", headers=bearer, body=push).status == 202


# --- request state per request ----------------------------------------------------------------


@dataclass
class Form:
    """A review form as a browser holds it: its hidden fields and the CSRF cookie it was given."""

    path: str
    fields: dict[str, str]
    cookie: str

    def post(self, server: Server, cookie: str | None = None, **extra: str) -> Answer:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"stepline_csrf={cookie or self.cookie}",
            "Origin": f"http://127.0.0.1:{server.port}",
        }
        return call(server, "POST", self.path, headers=headers, body=urlencode(self.fields | extra))


def open_form(server: Server, link: str) -> Form:
    parts = urlsplit(link)
    page = call(server, "GET", f"{parts.path}?{parts.query}")
    assert page.status == 200, page.body
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.body))
    cookie = page.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    return Form(parts.path, fields, cookie)


def waiting_approvals(server: Server, count: int) -> list[str]:
    """Start ``count`` executions of a source → approval pipeline; their review links."""
    bare, work = repositories(server.home)
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "the app")
    git(work, "push", "--quiet", "origin", "main")
    head = git(work, "rev-parse", "HEAD").strip()
    server.apply(pipeline("gated", bare, [APPROVE]))
    bearer = {"Authorization": f"Bearer {token(server)}", "Content-Type": "application/json"}
    for number in range(count):  # distinct pushes (another "before") of the same commit
        push = {"repository": str(bare), "ref": "refs/heads/main", "before": f"{number + 1:040x}", "after": head}
        assert call(server, "POST", "/api/hooks/git", headers=bearer, body=json.dumps(push)).status == 202
    return waiting_links(server, count)


def waiting_links(server: Server, count: int) -> list[str]:
    """The review links of ``count`` approvals, once the server has announced them."""

    def links() -> list[str] | None:
        # One link per approval, even if a retried request task announced one twice
        found = {urlsplit(m[1]).path: m[1] for line in list(server.output) if (m := re.search(r"review: (\S+)", line))}
        return list(found.values()) if len(found) >= count else None

    found: list[str] = wait_for(links, f"{count} approvals to wait")
    return found


def test_parallel_requests_each_get_the_answer_their_own_credentials_earn(server: Server) -> None:
    # Given three approvals waiting, each review form opened with its own CSRF cookie
    forms = [open_form(server, link) for link in waiting_approvals(server, 3)]
    good = {"Authorization": f"Bearer {token(server)}"}
    forged = {"Authorization": "Bearer forged-token"}
    expected: list[tuple[Callable[[], Answer], int, str]] = []
    for number in range(50):
        form, other = forms[number % 3], forms[(number + 1) % 3]
        expected.append(
            [
                (lambda: call(server, "GET", "/api/approvals", headers=good), 200, '"approvals"'),
                (lambda: call(server, "GET", "/api/approvals", headers=forged), 401, "Unauthorized"),
                (lambda: call(server, "GET", "/api/approvals"), 401, "Unauthorized"),
                # its own cookie: the CSRF check passes and the form is read (no decision chosen)
                (lambda form=form: form.post(server), 400, "choose Approve or Reject"),
                # another approval's cookie: refused as an expired form
                (lambda form=form, other=other: form.post(server, cookie=other.cookie), 403, "Form expired"),
            ][number % 5]
        )
    # When fifty requests with different credentials and cookies arrive together, round after round
    for _ in range(5):
        answers = all_at_once([request for request, _, _ in expected])
        # Then each got exactly the answer its own credentials earn
        wrong = [
            (number, answer.status, answer.body[:300])
            for number, (answer, (_, status, says)) in enumerate(zip(answers, expected, strict=True))
            if (answer.status, says in answer.body) != (status, True)
        ]
        assert wrong == []
        listed = [a.json()["approvals"] for a in answers if a.status == 200]
        assert all(len(approvals) == 3 for approvals in listed)
    # And when the three forms are submitted together, each decides its own approval
    decided = all_at_once([lambda form=form: form.post(server, decision="approve", reviewer="Ada") for form in forms])
    assert [answer.status for answer in decided] == [200, 200, 200], [answer.body[:300] for answer in decided]
    assert [status for _, status in server.finished("gated", count=3)] == ["SUCCEEDED"] * 3


# --- pushes under load, and pushes the server did not hear --------------------------------------


def many_commits(server: Server, count: int) -> tuple[Path, list[str]]:
    """A bare repository whose main holds ``count`` commits after the sample app's: theirs."""
    bare, work = repositories(server.home)
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", "the app")
    for number in range(count):
        git(work, "commit", "--quiet", "--allow-empty", "--message", f"change {number}")
    git(work, "push", "--quiet", "origin", "main")
    made = git(work, "rev-list", "--reverse", "HEAD").split()
    return bare, made[-count - 1 :]


def test_a_hundred_simultaneous_pushes_start_a_hundred_executions_and_redeliveries_one(server: Server) -> None:
    # Given a pipeline on main, and 101 commits pushed one after another (hooks not yet told)
    bare, commits = many_commits(server, 101)
    server.apply(pipeline("load", bare, [APPROVE]))
    secret = token(server)
    moves = [{"ref": "refs/heads/main", "before": old, "after": new} for old, new in itertools.pairwise(commits)]

    def sent(move: dict[str, str]) -> Callable[[], dict[str, Any]]:
        # Exactly what the hook sends, once: no retry may hide a reset connection
        return lambda: hooks.notify(server.url, secret, str(bare), move)

    # When the hook reports 100 distinct pushes at the same moment
    answers = all_at_once([sent(move) for move in moves[:100]])
    # Then each push started its own execution, named after its own commit, and none other
    for move, answer in zip(moves, answers, strict=False):
        assert answer["alreadyStarted"] == [], answer
        [started] = answer["started"]
        assert f":main-{move['after'][:8]}-" in started
    assert len({answer["started"][0] for answer in answers}) == 100
    assert len(server.pipeline_executions("load")) == 100
    # When one push is delivered 100 times at the same moment (a hook run again and again)
    again = all_at_once([sent(moves[100])] * 100)
    # Then exactly one delivery started it, and the others were told it already had
    assert sorted(len(answer["started"]) for answer in again) == [0] * 99 + [1]
    assert sum(answer["alreadyStarted"] == ["load"] for answer in again) == 99
    assert len(server.pipeline_executions("load")) == 101


def test_a_push_while_the_server_is_down_is_kept_and_started_when_it_returns(server: Server) -> None:
    # Given a pipeline and the hooks installed, and then the server stopped
    bare, work = repositories(server.home)
    server.apply(pipeline("app", bare, [BUILD]))
    hooked = stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data)
    assert hooked.returncode == 0, hooked.stderr
    server.stop()
    # When a commit is pushed
    said = commit_and_push(work, {}, "pushed while the server was down")
    # Then the push goes through, and the hook says it kept the report instead of losing it
    assert f"refs/heads/main not reported to {server.url}" in said
    assert "stepline serve starts it when it next starts" in said
    assert len(list((server.data / "outbox").glob("*.json"))) == 1
    # When the server starts again, Then it starts the pipeline for that push, once
    server.start()
    assert server.said(r"a push kept while the server was down, refs/heads/main of .*: started stepline-app main-")
    assert [status for _, status in server.finished("app")] == ["SUCCEEDED"]
    assert list((server.data / "outbox").glob("*.json")) == []


def test_a_push_that_starts_nothing_says_why(server: Server) -> None:
    bare, work = repositories(server.home)
    server.apply(pipeline("app", bare, [BUILD]))
    assert (
        stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data).returncode == 0
    )
    commit_and_push(work, {}, "the app")
    said = commit_and_push(work, {"notes.md": "x\n"}, "elsewhere", branch="feature/x")
    assert "stepline: refs/heads/feature/x started nothing: app: Checkout: watches branch 'main'" in said


# --- the console's credential -----------------------------------------------------------------


def test_the_console_needs_the_printed_one_time_link_and_stepline_console_gives_another(server: Server) -> None:
    # Given a server running: another local user, or a page, reaches its port without a session
    refused = call(server, "GET", "/", headers={"Accept": "text/html"})
    # Then the console asks for a sign-in, and shows nothing
    assert refused.status == 401
    assert "stepline console" in refused.body
    # When the person opens the link serve printed
    printed = urlsplit(server.printed_sign_in_link())
    opened = call(server, "GET", f"{printed.path}?{printed.query}")
    # Then it sets the session cookie, which opens the console
    assert (opened.status, opened.headers["Location"]) == (303, "/")
    session = opened.headers["Set-Cookie"].split(";")[0]
    assert call(server, "GET", "/", headers={"Cookie": session}).status == 200
    # And the link works once: opened again, it signs nobody in
    again = call(server, "GET", f"{printed.path}?{printed.query}")
    assert (again.status, "Set-Cookie" in again.headers) == (403, False)
    assert "used already" in again.body
    # When the person asks for a new link later, with the API token (stepline console)
    fresh = urlsplit(server.sign_in_link())
    # Then that one signs in (once), and scripts keep reading with the bearer token alone
    assert call(server, "GET", f"{fresh.path}?{fresh.query}").status == 303
    scripted = call(server, "GET", "/", headers={"Authorization": f"Bearer {token(server)}"})
    assert scripted.status == 200


# --- the data directory is its user's alone -----------------------------------------------------


def modes(root: Path) -> dict[str, int]:
    """Every folder and file under ``root`` (itself included), relative path → permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_after_a_real_run_the_data_directory_is_0700_and_its_files_0600(server: Server) -> None:
    # Given an execution that fetched a source, built it, waited for an approval and was
    # approved, a push kept by a hook while the server was down, and a console sign-in
    bare, work = repositories(server.home)
    server.apply(pipeline("app", bare, [BUILD, APPROVE]))
    assert (
        stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data).returncode == 0
    )
    server.stop()
    commit_and_push(work, {}, "while the server was down")
    server.start()
    [link] = waiting_links(server, 1)
    assert open_form(server, link).post(server, decision="approve", reviewer="Ada").status == 200
    assert [status for _, status in server.finished("app")] == ["SUCCEEDED"]
    printed = urlsplit(server.printed_sign_in_link())
    assert call(server, "GET", f"{printed.path}?{printed.query}").status == 303
    server.stop()
    # Then the data directory and every folder Stepline made in it are 0700
    found = modes(server.data)
    assert found["."] == 0o700
    # And every file it wrote there is 0600: SQLite files, token, key, approvals, artifacts, records
    for name in ("engine.sqlite", "engine.lock", "pipelines.sqlite", "approvals.sqlite", "api-token", "link-key"):
        assert found[name] == 0o600, name
    assert any(name.startswith("artifacts/") and name.endswith(".zip") for name in found)
    # And so are the build's log, its workspace and its supervisor's records
    assert any(name.startswith("logs/") and name.endswith(".log") for name in found)
    opened = {name: oct(mode) for name, mode in found.items() if mode & 0o077}
    assert opened == {}
