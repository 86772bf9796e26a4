"""The resolver: every route, and every error mapped to a status in one place."""

from __future__ import annotations

import json
import threading
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types

from stepline.api import (
    approvals,
    codepipeline,
    console,
    console_controls,
    console_logs,
    console_metrics,
    control,
    forge_webhooks,
    local,
    webhooks,
)
from stepline.api.pages import SECURITY_HEADERS, problem_page
from stepline.api.problems import ApiProblem
from stepline.errors import ConfigurationError
from stepline.observability import logger


def _answer(problem: ApiProblem) -> Response[str]:
    if problem.page:
        return Response(
            problem.status, content_types.TEXT_HTML, problem_page(problem.title, problem.detail), SECURITY_HEADERS
        )
    body = json.dumps({"error": problem.title, "message": problem.detail})
    return Response(problem.status, content_types.APPLICATION_JSON, body)


def build() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()
    app.include_router(approvals.router)
    app.include_router(webhooks.router)
    app.include_router(forge_webhooks.router)
    app.include_router(console.router)
    app.include_router(console_logs.router)
    app.include_router(console_controls.router)
    app.include_router(console_metrics.router)
    app.include_router(local.router)
    app.include_router(codepipeline.router)
    app.include_router(control.router)

    @app.exception_handler(ApiProblem)  # type: ignore[untyped-decorator]
    def problem(error: ApiProblem) -> Response[str]:
        logger.info("request refused", extra={"status": error.status, "reason": error.detail})
        return _answer(error)

    @app.exception_handler(ConfigurationError)  # type: ignore[untyped-decorator]
    def not_configured(error: ConfigurationError) -> Response[str]:
        logger.error("not configured", extra={"error": str(error)})
        return _answer(ApiProblem.of(error))

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return _answer(
            ApiProblem(404, "Not found", f"no route {app.current_event.http_method} {app.current_event.path}")
        )

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(error: Exception) -> Response[str]:
        # Logged whole for the operator; the caller gets no traceback.
        logger.exception("request failed")
        return _answer(ApiProblem(500, "Internal error", "the request failed; the server log has the details"))

    return app


resolver = build()
# Powertools keeps the request being resolved on the class (BaseRouter.current_event), and the
# matched route, its arguments and the middleware frames on the resolver: one request at a time
# may be inside it. Lambda sends one at a time anyway; the local server's threads take turns
# here (routes are short: reads, a start, a decision; the body is read and the answer written
# outside). docs/ARCHITECTURE.md says why this and not a resolver per thread.
_one_request_at_a_time = threading.Lock()


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with _one_request_at_a_time:
        answer: dict[str, Any] = resolver.resolve(event, context)
    return answer
