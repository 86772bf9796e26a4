"""Signature Version 4, verified as AWS verifies it: the request's canonical form rebuilt from
what arrived, signed again with the secret the access key id names, compared in constant time.

Stepline knows one access key id, ``stepline``, whose secret access key is the API token; any
Region is accepted (the scope's Region is part of what is signed). A request signed more than
15 minutes before or after the server's clock is refused as AWS refuses it, so a captured
request cannot be replayed later. The answers are AWS's: no ``Authorization`` header →
``MissingAuthenticationTokenException``; an unknown key id → ``UnrecognizedClientException``;
anything else wrong → ``InvalidSignatureException``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from stepline.api.codepipeline.errors import CORAL, AwsError

ACCESS_KEY_ID = "stepline"
SERVICE = "codepipeline"
ALGORITHM = "AWS4-HMAC-SHA256"
WINDOW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<headers>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class SignedRequest:
    """What a signature covers, as the request arrived."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]  # decoded names and values
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ','
    body: bytes


@dataclass(frozen=True)
class Caller:
    access_key_id: str
    region: str


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), day)
    return _hmac(_hmac(_hmac(key, region), service), "aws4_request")


def _canonical_query(query: tuple[tuple[str, str], ...]) -> str:
    pairs = sorted((quote(name, safe="-_.~"), quote(value, safe="-_.~")) for name, value in query)
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_request(request: SignedRequest, signed_headers: list[str]) -> str:
    headers = "".join(f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed_headers)
    payload = request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    return "\n".join(
        (
            request.method.upper(),
            quote(request.path or "/", safe="/~"),
            _canonical_query(request.query),
            headers,
            ";".join(signed_headers),
            payload,
        )
    )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def verify(request: SignedRequest, secret: str, now: datetime, service: str = SERVICE) -> Caller:
    """The caller, once the request's signature is proven; AwsError as AWS answers otherwise.
    ``service`` is the signing name the scope must carry (``s3`` for a job's artifacts)."""
    authorization = request.headers.get("authorization", "")
    if not authorization:
        raise AwsError(f"{CORAL}MissingAuthenticationTokenException", "Missing Authentication Token")
    parsed = _AUTHORIZATION.match(authorization.strip())
    if parsed is None:
        raise AwsError(
            "IncompleteSignatureException",
            f"Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' with {ALGORITHM}.",
        )
    key_id, _, scope = parsed["credential"].partition("/")
    day, region, scoped_service, terminator = [*scope.split("/"), "", "", "", ""][:4]
    if key_id != ACCESS_KEY_ID:
        raise AwsError("UnrecognizedClientException", "The security token included in the request is invalid.")
    if terminator != "aws4_request" or not region or not re.fullmatch(r"\d{8}", day):
        raise AwsError("IncompleteSignatureException", f"Credential scope {scope!r} is malformed.")
    if scoped_service != service:
        raise AwsError("InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
    signed_headers = parsed["headers"].split(";")
    if not {"host", "x-amz-date"} <= set(signed_headers) or signed_headers != sorted(signed_headers):
        raise AwsError(
            "InvalidSignatureException", "The signed headers must include 'host' and 'x-amz-date', in order."
        )
    signed_at = _signed_at(request.headers.get("x-amz-date", ""))
    if signed_at.strftime("%Y%m%d") != day:
        raise AwsError("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601.")
    _in_window(signed_at, now)
    _payload_matches(request)
    digest = hashlib.sha256(canonical_request(request, signed_headers).encode("utf-8")).hexdigest()
    to_sign = "\n".join((ALGORITHM, _stamp(signed_at), f"{day}/{region}/{service}/aws4_request", digest))
    expected = hmac.new(signing_key(secret, day, region, service), to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parsed["signature"]):
        raise AwsError("InvalidSignatureException", _MISMATCH)
    return Caller(key_id, region)


def _payload_matches(request: SignedRequest) -> None:
    """A declared payload hash (S3's ``x-amz-content-sha256``) must be the body's: it is what is signed."""
    declared = request.headers.get("x-amz-content-sha256")
    if declared is None or (declared == "UNSIGNED-PAYLOAD" and not request.body):
        return
    if not hmac.compare_digest(declared, hashlib.sha256(request.body).hexdigest()):
        raise AwsError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed (a body must be signed).",
        )


def _signed_at(stamp: str) -> datetime:
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AwsError(
            "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' header."
        ) from None


def _in_window(signed_at: datetime, now: datetime) -> None:
    earliest, latest = now - WINDOW, now + WINDOW
    if signed_at < earliest:
        raise AwsError(
            "InvalidSignatureException",
            f"Signature expired: {_stamp(signed_at)} is now earlier than {_stamp(earliest)} ({_stamp(now)} - 15 min.)",
        )
    if signed_at > latest:
        raise AwsError(
            "InvalidSignatureException",
            f"Signature not yet current: {_stamp(signed_at)} is still later than {_stamp(latest)} "
            f"({_stamp(now)} + 15 min.)",
        )
