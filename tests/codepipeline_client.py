"""boto3's real ``codepipeline`` client talking to Stepline's API without a socket.

The client serializes, signs (SigV4) and parses exactly as it does against AWS; only the send is
replaced: the prepared request goes through the local server's WSGI application (the Host and
Origin gate, the proxy event, the resolver) and its answer comes back as an HTTP response. Each
raw answer is kept, so tests can check its JSON against botocore's model (``assert_shape``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from botocore.validate import ParamValidator

from stepline.api.app import handle
from stepline.api.wsgi import Gate, wsgi_app

PORT = 8080
ENDPOINT = f"http://127.0.0.1:{PORT}"


class _Raw(io.BytesIO):
    """The answer's body as urllib3 hands it to botocore: read whole, or streamed (S3's bodies)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


class InProcess:
    """A before-send hook: the request to the WSGI app, its answer back to botocore."""

    def __init__(self) -> None:
        self.app = wsgi_app(handle, Gate(PORT))
        self.answers: list[tuple[str, int, bytes]] = []  # (operation, status, body)

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        raw = request.body.read() if hasattr(request.body, "read") else request.body  # S3 sends files
        body = raw if isinstance(raw, bytes) else (raw or "").encode()
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "PATH_INFO": url.path or "/",
            "QUERY_STRING": url.query,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "HTTP_HOST": url.netloc,  # what the HTTP connection adds when botocore sends
        }
        for name, value in request.headers.items():
            text = value.decode() if isinstance(value, bytes) else str(value)
            key = name.upper().replace("-", "_")
            environ[key if key in {"CONTENT_TYPE"} else f"HTTP_{key}"] = text
        status: list[Any] = []
        chunks = self.app(environ, lambda line, headers: status.extend([line, headers]))
        payload = b"".join(chunks)
        code = int(status[0].split()[0])
        target = request.headers.get("X-Amz-Target", "")
        target = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        self.answers.append((target, code, payload))
        return AWSResponse(request.url, code, dict(status[1]), _Raw(payload))


def client(secret: str, *, key: str = "stepline", region: str = "us-east-1", **config: Any) -> Any:
    """A boto3 codepipeline client for the local API, with this transport (``client.transport``)."""
    made = boto3.client(
        "codepipeline",
        region_name=region,
        endpoint_url=ENDPOINT,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, **config),
    )
    transport = InProcess()
    made.meta.events.register("before-send.codepipeline", transport)
    made.transport = transport
    return made


def assert_shape(made: Any, operation: str, answer: bytes) -> None:
    """The raw JSON answer is a valid value of the operation's output shape in botocore's
    model: every member known, of the right type, required ones present."""
    shape = made.meta.service_model.operation_model(operation).output_shape
    if shape is None:  # DeletePipeline and others answer an empty document
        assert json.loads(answer or b"{}") == {}
        return
    report = ParamValidator().validate(json.loads(answer or b"{}"), shape)
    assert not report.has_errors(), report.generate_report()


def assert_last_shapes(made: Any) -> None:
    """Every successful answer the client received so far matches its operation's output shape."""
    for operation, status, body in made.transport.answers:
        if status == 200:
            assert_shape(made, operation, body)
