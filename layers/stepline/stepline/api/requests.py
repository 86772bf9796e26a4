"""Reading API Gateway proxy events: raw body bytes, forms, cookies, bearer tokens."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from http.cookies import CookieError, SimpleCookie
from typing import TypeVar
from urllib.parse import parse_qs

from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ValidationError

from stepline.api.problems import ApiProblem

FORM_LIMIT = 16 * 1024  # a review form is a few hundred bytes
TOO_DEEP = "the body nests arrays or objects too deeply to be read (a request needs a few levels)"
Body = TypeVar("Body", bound=BaseModel)


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ApiProblem(400, "Bad request", "the body is marked base64 but is not") from None
    return body.encode("utf-8")


def header(event: APIGatewayProxyEvent, name: str) -> str | None:
    value: str | None = event.headers.get(name)  # Powertools makes these lookups case-insensitive
    return value


def form(event: APIGatewayProxyEvent) -> dict[str, str]:
    content_type = (header(event, "content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise ApiProblem(
            415, "Unsupported form", "send the review form as application/x-www-form-urlencoded", page=True
        )
    body = raw_body(event)
    if len(body) > FORM_LIMIT:
        raise ApiProblem(413, "Form too large", f"the form is over {FORM_LIMIT} bytes", page=True)
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiProblem(400, "Bad form", f"the form cannot be read: {error}", page=True) from None
    return {name: values[-1] for name, values in fields.items()}


def cookie(event: APIGatewayProxyEvent, name: str) -> str:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header(event, "cookie") or "")
    except CookieError:
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel else ""


def require_bearer(event: APIGatewayProxyEvent, token: str) -> None:
    given = (header(event, "authorization") or "").removeprefix("Bearer ").strip()
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        raise ApiProblem(401, "Unauthorized", "send the API token as 'Authorization: Bearer …'")


def strict_cookie(event: APIGatewayProxyEvent, name: str, value: str, max_age: int) -> Cookie:
    """An HttpOnly, SameSite=Strict cookie, Secure behind API Gateway (https), scoped by the
    browser to the page's own directory, so API Gateway's stage prefix (/Prod) is kept."""
    return Cookie(
        name,
        value,
        secure=(header(event, "x-forwarded-proto") or "") == "https",
        http_only=True,
        same_site=SameSite.STRICT_MODE,
        max_age=max_age,
    )


def json_body(event: APIGatewayProxyEvent, model: type[Body]) -> Body:
    """The JSON body as ``model``, or a 400 naming what is wrong and where (never a 500)."""
    try:
        document = json.loads(raw_body(event) or b"null")
    except ValueError as error:
        raise ApiProblem(400, "Bad request", f"the body is not JSON: {error}") from None
    except RecursionError:
        raise ApiProblem(400, "Bad request", TOO_DEEP) from None
    try:
        return model.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, p['loc'])) or 'body'}: {p['msg']}" for p in error.errors()[:5])
        raise ApiProblem(400, "Bad request", problems) from None
