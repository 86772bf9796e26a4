"""The only local-only part of the API: HTTP requests in, API Gateway proxy events to the
same resolver, its answers back out.

On AWS, API Gateway answers only for its own domain and a browser's cookies are scoped to it.
A loopback server has neither, so it checks two things itself before a request reaches the
resolver (``Gate``): the ``Host`` must name this server — its loopback address and port, or
the public URL a tunnel forwards — else 421, which is what defeats DNS rebinding (a page whose
name now resolves to 127.0.0.1 still sends its own name as the Host); and a request that
changes state must not come from a page of another origin (``Origin``, else ``Sec-Fetch-Site``),
else 403. Scripts, git hooks and GitHub send neither header and are not browsers: they pass.
"""

from __future__ import annotations

import base64
import json
import socket
import socketserver
import threading
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from stepline.api.pages import SECURITY_HEADERS, problem_page
from stepline.api.problems import ApiProblem
from stepline.api.webhooks import BODY_LIMIT

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, host: str, port: int | None) -> str:
    """An origin as browsers serialise it: the default port left out."""
    return f"{scheme}://{host}" if port in {None, DEFAULT_PORTS.get(scheme)} else f"{scheme}://{host}:{port}"


class Gate:
    """Which ``Host`` values this server answers for and which page origins may change state:
    its loopback names at its port, and the public URL (``STEPLINE_API_URL``, for a tunnel)."""

    def __init__(self, port: int, public_url: str | None = None) -> None:
        self.hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
        self.origins = {_origin("http", name, port) for name in LOOPBACK_NAMES}
        if port == DEFAULT_PORTS["http"]:
            self.hosts.update(LOOPBACK_NAMES)
        if public_url:
            parts = urlsplit(public_url)
            if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
                raise ValueError(f"the public URL {public_url!r} is not an http(s) URL")
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            port_given = parts.port
            self.hosts.add(f"{host}:{port_given or DEFAULT_PORTS[parts.scheme]}")
            if port_given in {None, DEFAULT_PORTS[parts.scheme]}:
                self.hosts.add(host)  # a proxy may forward Host with or without the default port
            self.origins.add(_origin(parts.scheme, host, port_given))

    def refusal(self, environ: dict[str, Any]) -> ApiProblem | None:
        """Why this request is refused before it reaches the resolver, or None."""
        host = str(environ.get("HTTP_HOST", "")).strip().lower()
        if host not in self.hosts:
            named = f"Host {host!r}" if host else "a request without a Host"
            return ApiProblem(
                421,
                "Misdirected request",
                f"this Stepline server answers only for {', '.join(sorted(self.hosts))}; {named} names another "
                "(a web page reaching it through a DNS name that now points here is refused)",
            )
        if environ.get("REQUEST_METHOD", "GET").upper() not in STATE_CHANGING:
            return None
        origin = str(environ.get("HTTP_ORIGIN", "")).strip().lower()
        site = str(environ.get("HTTP_SEC_FETCH_SITE", "")).strip().lower()
        if origin and origin != "null":
            if origin in self.origins:
                return None
            culprit = f"a page of {origin}"
        elif site in {"same-origin", "none"}:
            # Origin "null" (or none) from a browser: Sec-Fetch-Site, which no page can set, says
            # the request came from this server's own page (or the person, reloading a form).
            return None
        elif not origin and not site:
            return None  # no browser sent this: curl, the CLI, a git hook, GitHub's webhook
        else:
            culprit = f"a {site} page" if site else "a page with an opaque origin"
        return ApiProblem(
            403,
            "Cross-origin request refused",
            f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO', '/')} from {culprit}: only this server's own "
            "pages, and clients that are not browsers (the CLI, git hooks, webhooks), may change things here",
        )


def _refused(problem: ApiProblem, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The refusal as a page for a browser that asked for HTML, else as the API's JSON."""
    status = f"{problem.status} {HTTPStatus(problem.status).phrase}"
    if "text/html" in str(environ.get("HTTP_ACCEPT", "")):
        start_response(status, [("Content-Type", "text/html; charset=utf-8"), *SECURITY_HEADERS.items()])
        return [problem_page(problem.title, problem.detail).encode("utf-8")]
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps({"error": problem.title, "message": problem.detail}).encode("utf-8")]


def proxy_event(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    headers: dict[str, list[str]] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").title()
        elif key in {"CONTENT_TYPE", "CONTENT_LENGTH"} and value:
            name = key.replace("_", "-").title()
        else:
            continue
        headers.setdefault(name, []).append(value)
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": "/{proxy+}",
        "path": environ.get("PATH_INFO", "/"),
        "httpMethod": environ["REQUEST_METHOD"],
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "local",
            "httpMethod": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", "/"),
            "identity": {"sourceIp": environ.get("REMOTE_ADDR", "")},
        },
        "body": text or None,
        "isBase64Encoded": encoded,
    }


def wsgi_app(
    handler: Handler, gate: Gate, body_limit: int = BODY_LIMIT
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        refusal = gate.refusal(environ)
        if refusal is not None:  # before the body is read: a refused request costs nothing
            return _refused(refusal, environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > body_limit:
            # Refused before reading: a huge body never reaches memory.
            start_response("413 Payload Too Large", [("Content-Type", "application/json")])
            return [b'{"error": "Payload too large", "message": "the body is over the limit or its length is unknown"}']
        answer = handler(proxy_event(environ, environ["wsgi.input"].read(length) if length else b""), None)
        status = int(answer["statusCode"])
        headers = [(name, str(value)) for name, value in (answer.get("headers") or {}).items()]
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers.extend((name, str(value)) for value in values if (name, str(value)) not in headers)
        body = answer.get("body") or ""
        payload = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode("utf-8")
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [payload]

    return application


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    # A console page polling, a webhook and an approval can arrive together; a push can bring
    # a hundred hook reports at once, which the kernel queues (socketserver's default is 5).
    daemon_threads = True
    request_queue_size = socket.SOMAXCONN


def _unset(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    raise RuntimeError("the application is set once the port is known")


class LocalApi:
    """The resolver on a loopback port, in a background thread (stepline serve, tests).

    ``public_url`` is the address a tunnel or proxy forwards here, if any: its host is served
    too, and its origin may post forms."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None) -> None:
        self.server: WSGIServer = make_server(
            host, port, _unset, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.server.set_app(wsgi_app(handler, Gate(self.server.server_address[1], public_url)))
        self.thread = threading.Thread(target=self.server.serve_forever, name="stepline-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def __enter__(self) -> LocalApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
