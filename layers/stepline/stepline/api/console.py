"""The web console: registered pipelines, their executions drawn stage by stage, logs and
artifacts. The same routes on AWS and on one machine, behind the same sign-in: an expiring
HMAC session cookie, set by a one-time sign-in link (``stepline serve`` prints one when it
starts, ``stepline console`` asks for another, as Jupyter's token URL) or by the API token
entered at /login. A loopback port is no credential: any local user or web page can reach it.
Scripts send the API token as a bearer instead."""

from __future__ import annotations

import dataclasses
import hmac
import secrets
import tempfile
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.shared.cookies import Cookie

from stepline import wiring
from stepline.actions.approval import LinkFault, decisions, review_link
from stepline.api.console_pages import log_link, login_page, pipelines_page
from stepline.api.console_parts import history_rows, pending_stages
from stepline.api.console_run_page import RunView, run_page
from stepline.api.pages import SECURITY_HEADERS
from stepline.api.problems import ApiProblem
from stepline.api.requests import cookie, form, header, require_bearer, strict_cookie
from stepline.ports.approvals import Approval
from stepline.ports.artifacts import ArtifactNotFound, ArtifactUnreadable
from stepline.ports.pipelines import RegisteredPipeline
from stepline.ports.workflows import ExecutionNotFound, execution_arn
from stepline.settings import LocalSettings, settings
from stepline.status import PipelineRun, local_log, log_tail, run_of

router = APIGatewayRouter()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated
SESSION_COOKIE = "stepline_console"
SESSION_SECONDS = 12 * 3600
LOGIN_LINK_SECONDS = 24 * 3600  # a link printed when serve starts may be opened later that day
_LOGIN = "console-login:"  # what a sign-in link's nonce is signed and recorded as
_CONTROL = "console-control:"  # what a control form's token signs, with the session
DOWNLOAD_LIMIT = 5 * 1024 * 1024  # API Gateway answers at most 10 MB, base64 grows a third


def _base() -> str:
    """The path prefix API Gateway's stage adds (/Prod), so links work on AWS and locally."""
    event = router.current_event
    full = str(event.request_context.path or event.path)
    return full[: -len(event.path)] if full.endswith(event.path) else ""


def _page(html: str, status: int = 200, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(status, content_types.TEXT_HTML, html, headers=SECURITY_HEADERS, cookies=cookies)


def _signed_in() -> None:
    """A current session cookie, or the API token as a bearer (scripts reading pages and logs)."""
    event = router.current_event
    session = cookie(event, SESSION_COOKIE)
    if session and wiring.link_signer().check("console", session, wiring.now()) is None:
        return
    if header(event, "authorization"):
        require_bearer(event, wiring.api_token())
        return
    raise ApiProblem(
        401,
        "Sign in",
        "open a sign-in link: `stepline serve` prints one when it starts, and `stepline console` prints a new "
        f"one; or sign in at {_base()}/login with the API token",
        page=True,
    )


def login_link() -> str:
    """A one-time sign-in link to the console: a nonce signed with an expiry, taken once."""
    nonce = secrets.token_urlsafe(16)
    signature = wiring.link_signer().sign(_LOGIN + nonce, wiring.now() + LOGIN_LINK_SECONDS)
    return f"{settings().api_url.rstrip('/')}/login?token={nonce}.{signature}"


def _login_refusal(token: str) -> str | None:
    """Why a sign-in link's token does not sign in, or None once it is taken (once only)."""
    nonce, _, signature = token.partition(".")
    fault = wiring.link_signer().check(_LOGIN + nonce, signature, wiring.now()) if nonce else LinkFault.MALFORMED
    if fault is LinkFault.EXPIRED:
        return "This sign-in link has expired."
    if fault is not None:
        return "This is not a sign-in link of this server."
    # The ids port that keeps GitHub deliveries once keeps each link's nonce once.
    if not wiring.deliveries().first_time(_LOGIN + nonce):
        return "This sign-in link was used already: each works once."
    return None


def _pipeline(name: str, *, page: bool = True) -> RegisteredPipeline:
    entry = wiring.registry().get(name)
    if entry is None:
        raise ApiProblem(404, "No such pipeline", f"no pipeline {name!r} is registered", page=page)
    return entry


def _run(entry: RegisteredPipeline, execution: str, *, page: bool = True) -> PipelineRun:
    try:
        return run_of(entry, wiring.workflows(), execution_arn(entry.state_machine_arn, execution))
    except ExecutionNotFound:
        raise ApiProblem(404, "No such execution", f"{entry.name} has no execution {execution!r}", page=page) from None


def _latest_runs() -> list[tuple[str, PipelineRun | None]]:
    """Every registered pipeline, by name, with its newest execution's run (None if never run)."""
    workflows = wiring.workflows()
    rows: list[tuple[str, PipelineRun | None]] = []
    for entry in sorted(wiring.registry().all(), key=lambda e: e.name):
        latest = workflows.executions(entry.state_machine_arn, limit=1)
        rows.append((entry.name, run_of(entry, workflows, str(latest[0]["executionArn"])) if latest else None))
    return rows


@router.get("/")
def pipelines() -> Response[str]:
    _signed_in()
    return _page(pipelines_page(_latest_runs(), _base()))


@router.get("/pipelines/<name>")
def pipeline(name: str) -> Response[str]:
    _signed_in()
    entry = _pipeline(name)
    latest = wiring.workflows().executions(entry.state_machine_arn, limit=1)
    if not latest:
        view = RunView(csrf=control_token())
        return _page(run_page(entry.name, None, pending_stages(entry), _base(), view))
    return _execution_page(entry, str(latest[0]["name"]))


@router.get("/pipelines/<name>/executions/<execution>")
def execution(name: str, execution: str) -> Response[str]:
    _signed_in()
    return _execution_page(_pipeline(name), execution)


def _execution_page(entry: RegisteredPipeline, execution: str) -> Response[str]:
    run = _run(entry, execution)
    base = _base()
    signer = wiring.link_signer()
    reviews = {
        f"{approval.stage}.{approval.action}": review_link(base, approval, signer)
        for approval in wiring.approvals().pending()
        if approval.pipeline == entry.name and approval.execution_name == execution
    }
    failed = run.failed_action()
    view = RunView(
        history=history_rows(wiring.workflows(), entry, {run.execution_name: run.commit()[0]}),
        reviews=reviews,
        logs={a.key for a in run.actions if _log_file(entry.name, execution, a.key)},
        tail=log_tail(_log_file(entry.name, execution, failed.key)) if failed else [],
        approvals=_approvals(run),
        csrf=control_token(),
    )
    return _page(run_page(entry.name, run, run.stages, base, view))


def _approvals(run: PipelineRun) -> dict[str, Approval]:
    """The run's approvals as recorded (who decided, what they wrote), by Stage.Action."""
    asked = [(a.stage, a.name) for a in run.actions if a.type.startswith("Approval/") and a.status != "Pending"]
    return decisions(run.pipeline, run.execution_name, asked, wiring.approvals())


def control_token() -> str:
    """The token a control's form carries: the session's own, signed, so another site's form
    cannot pull a lever (the session cookie is SameSite=Strict as well)."""
    session = cookie(router.current_event, SESSION_COOKIE)
    return wiring.link_signer().sign(_CONTROL + session, wiring.now() + SESSION_SECONDS) if session else ""


def check_control_token(given: str) -> None:
    """A control's form came from a page of this session (scripts send the API token instead)."""
    session = cookie(router.current_event, SESSION_COOKIE)
    if not given or wiring.link_signer().check(_CONTROL + session, given, wiring.now()) is not None:
        raise ApiProblem(403, "Refused", "this form is not from a page of your session; reload the page", page=True)


def _log_file(pipeline: str, execution: str, action: str) -> Path | None:
    """A local build's log (actions/build/local.py writes it); on AWS logs are in CloudWatch."""
    current = settings()
    if not isinstance(current, LocalSettings):
        return None
    log = local_log(current.data, pipeline, execution, action)
    return log if log.is_file() else None


@router.get("/pipelines/<name>/executions/<execution>/artifacts/<artifact>")
def artifact(name: str, execution: str, artifact: str) -> Response[bytes]:
    _signed_in()
    run = _run(_pipeline(name), execution)
    reference = next((a.artifacts[artifact] for a in run.actions if artifact in a.artifacts), None)
    if reference is None:
        raise ApiProblem(404, "No such artifact", f"{execution} produced no artifact {artifact!r}", page=True)
    with tempfile.TemporaryDirectory(prefix="stepline-download-") as scratch:
        target = Path(scratch) / "artifact.zip"
        try:
            wiring.artifact_store().get(reference, target)
        except ArtifactNotFound as error:
            raise ApiProblem(410, "Artifact gone", str(error), page=True) from None
        except ArtifactUnreadable as error:
            raise ApiProblem(502, "Artifact unreadable", str(error), page=True) from None
        if target.stat().st_size > DOWNLOAD_LIMIT:
            raise ApiProblem(
                413, "Too large", f"{artifact} is larger than 5 MB; it is at {reference.get('location')}", page=True
            )
        payload = target.read_bytes()
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{artifact}.zip"'}
    return Response(200, "application/zip", payload, headers)  # bytes: Powertools sends them base64


@router.get("/login")
def login() -> Response[str]:
    token = router.current_event.get_query_string_value("token", "") or ""
    if not token:
        return _page(login_page(_base()))
    refusal = _login_refusal(token)
    if refusal:
        return _page(login_page(_base(), f"{refusal} Run `stepline console` for a new one."), status=403)
    return _session()


@router.post("/login")
def sign_in() -> Response[str]:
    given = form(router.current_event).get("token", "")
    if not given or not hmac.compare_digest(given.encode(), wiring.api_token().encode()):
        return _page(login_page(_base(), "That is not the API token."), status=401)
    return _session()


def _session() -> Response[str]:
    """Signed in: the session cookie, and on to the pipelines."""
    session = wiring.link_signer().sign("console", wiring.now() + SESSION_SECONDS)
    jar = strict_cookie(router.current_event, SESSION_COOKIE, session, max_age=SESSION_SECONDS)
    return Response(303, content_types.TEXT_HTML, "", {**SECURITY_HEADERS, "Location": f"{_base()}/"}, cookies=[jar])


@router.post("/api/console/login-links")
def new_login_link() -> tuple[dict[str, Any], int]:
    """`stepline console`: a fresh one-time sign-in link, for whoever holds the API token."""
    require_bearer(router.current_event, wiring.api_token())
    return {"url": login_link(), "expiresIn": LOGIN_LINK_SECONDS}, 201


# --- the same, as JSON for scripts (bearer token, as the CLI's API) -------------------------


def _run_json(run: PipelineRun) -> dict[str, Any]:
    commit, message = run.commit()
    return dataclasses.asdict(run) | {"commit": commit, "commitMessage": message, "failure": _failure_json(run)}


def _failure_json(run: PipelineRun) -> dict[str, Any] | None:
    """The failure as the pages tell it: the one line, its parts, the log's link and last lines."""
    failure = run.failure()
    if failure is None:
        return None
    log = _log_file(run.pipeline, run.execution_name, failure.action) if failure.action else None
    return dataclasses.asdict(failure) | {
        "summary": failure.line,
        "log": log_link(_base(), run, failure.action) if log else None,
        "logTail": log_tail(log),
    }


@router.get("/api/pipelines")
def pipelines_json() -> dict[str, Any]:
    require_bearer(router.current_event, wiring.api_token())
    return {"pipelines": [{"name": name, "latest": run and _run_json(run)} for name, run in _latest_runs()]}


@router.get("/api/pipelines/<name>/executions/<execution>")
def execution_json(name: str, execution: str) -> dict[str, Any]:
    require_bearer(router.current_event, wiring.api_token())
    return _run_json(_run(_pipeline(name, page=False), execution, page=False))
