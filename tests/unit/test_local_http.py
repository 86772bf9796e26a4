"""The loopback server's gate, driven with WSGI environments (no sockets): which Host it
answers for, and which requests may change state. Each refusal is written as the attack."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from stepline.api.wsgi import Gate, wsgi_app

PORT = 8080


class Resolver:
    """Stands in for the API's resolver: records what reached it."""

    def __init__(self) -> None:
        self.reached: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.reached.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"ok": true}'}


def request(
    method: str = "GET", path: str = "/", host: str | None = f"127.0.0.1:{PORT}", **headers: str
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_LENGTH": "0",
        "wsgi.input": io.BytesIO(b""),
    }
    if host is not None:
        environ["HTTP_HOST"] = host
    environ.update({f"HTTP_{name.upper()}": value for name, value in headers.items()})
    return environ


def answer(environ: dict[str, Any], public_url: str | None = None) -> tuple[int, dict[str, str], bytes, Resolver]:
    resolver = Resolver()
    said: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        said.update(status=int(status.split(maxsplit=1)[0]), headers=dict(headers))

    body = b"".join(wsgi_app(resolver, Gate(PORT, public_url))(environ, start_response))
    return said["status"], said["headers"], body, resolver


@pytest.mark.parametrize(
    "host", ["evil.example:8080", "127.0.0.1:8081", "localhost", "127.0.0.1.nip.io:8080", "", "127.0.0.1:8080@evil"]
)
def test_a_foreign_host_is_misdirected_and_reaches_nothing(host: str) -> None:
    # Given a page of evil.example whose DNS name now resolves to 127.0.0.1 (DNS rebinding):
    # the browser sends its own name as Host. When it asks the console for a page
    status, headers, body, resolver = answer(request(host=host or None))
    # Then the server answers 421 naming what it does answer for, and no route ran
    assert status == 421
    assert headers["Content-Type"] == "application/json"
    message = json.loads(body)["message"]
    assert "answers only for 127.0.0.1:8080, [::1]:8080, localhost:8080" in message
    assert resolver.reached == []


def test_a_browser_asking_a_foreign_host_for_a_page_gets_a_page() -> None:
    status, headers, body, _ = answer(request(host="evil.example:8080", accept="text/html,*/*"))
    assert status == 421
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert b"Misdirected request" in body


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080"])
def test_the_loopback_names_at_its_port_are_served(host: str) -> None:
    status, _, _, resolver = answer(request(host=host))
    assert status == 200
    assert len(resolver.reached) == 1


def test_the_public_url_of_a_tunnel_is_served_too() -> None:
    # Given the server reached through a tunnel at https://ci.example.dev (STEPLINE_API_URL)
    public = "https://ci.example.dev"
    # Then the tunnel's Host is served, with or without its default port, and its origin may post
    for host in ("ci.example.dev", "ci.example.dev:443"):
        assert answer(request(host=host), public)[0] == 200
    posted = request("POST", "/login", host="ci.example.dev", origin="https://ci.example.dev")
    assert answer(posted, public)[0] == 200
    # And another name, or the same name on another port, is not
    assert answer(request(host="ci.example.dev:8443"), public)[0] == 421
    assert answer(request(host="example.dev"), public)[0] == 421


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"origin": "http://evil.example"}, "from a page of http://evil.example"),
        ({"origin": "http://127.0.0.1:3000"}, "from a page of http://127.0.0.1:3000"),  # another local app
        ({"origin": "null"}, "from a page with an opaque origin"),  # a sandboxed frame
        ({"sec_fetch_site": "cross-site"}, "from a cross-site page"),
        ({"origin": "null", "sec_fetch_site": "same-site"}, "from a same-site page"),
    ],
    ids=["other-site", "other-port", "sandboxed", "no-origin-cross-site", "null-same-site"],
)
def test_a_cross_origin_post_is_refused_before_any_route_runs(headers: dict[str, str], says: str) -> None:
    # Given a page elsewhere that makes the visitor's browser post a form to the loopback server
    status, _, body, resolver = answer(request("POST", "/approvals/abc", **headers))
    # Then it is refused 403, naming where it came from, and no route saw it
    assert status == 403
    assert says in json.loads(body)["message"]
    assert resolver.reached == []


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, the CLI, a git hook, GitHub's webhook: no browser, no Origin
        {"origin": "http://127.0.0.1:8080", "sec_fetch_site": "same-origin"},  # our own review form
        {"origin": "http://localhost:8080"},
        {"origin": "null", "sec_fetch_site": "same-origin"},  # our form under a no-referrer policy
        {"sec_fetch_site": "none"},  # the person resubmitting a form
    ],
    ids=["no-browser", "own-form", "own-form-localhost", "own-form-null-origin", "user-initiated"],
)
def test_posts_from_this_server_and_from_non_browsers_go_through(headers: dict[str, str]) -> None:
    status, _, _, resolver = answer(request("POST", "/api/hooks/git", **headers))
    assert status == 200
    assert len(resolver.reached) == 1


def test_reading_is_not_refused_for_its_origin() -> None:
    # A GET never decides anything, and the browser keeps its answer from another origin's page
    assert answer(request("GET", "/", origin="http://evil.example", sec_fetch_site="cross-site"))[0] == 200


def test_a_public_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Gate(PORT, "ftp://ci.example.dev")
