"""The only local-only part of the API: HTTP requests in, API Gateway proxy events to the
same resolver, its answers back out."""

from __future__ import annotations

import base64
import socketserver
import threading
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from stepline.api.webhooks import BODY_LIMIT

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


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
    handler: Handler, body_limit: int = BODY_LIMIT
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
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
    # A console page polling, a webhook and an approval can arrive together.
    daemon_threads = True


class LocalApi:
    """The resolver on a loopback port, in a background thread (stepline serve, tests)."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server: WSGIServer = make_server(
            host, port, wsgi_app(handler), server_class=_ThreadingServer, handler_class=_QuietHandler
        )
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
