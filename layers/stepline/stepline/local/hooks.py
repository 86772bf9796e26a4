"""What Stepline's git hooks run: report the refs a push or commit moved to `stepline serve`.

Standard library only, on purpose: a hook runs on every push, and importing the whole CLI
(boto3, pydantic, the compiler) would cost more than everything else the push does. Never
fails the git command, and never loses a push silently: a failure that may pass (the server
restarting, busy, or down) is retried with back-off; if the server still cannot be reached,
the push is kept in the data directory's outbox, which `stepline serve` reports when it next
starts (a push is named by its ref and commits, so one kept twice, or kept and also delivered,
starts one execution). Each outcome is said, including why a push started nothing; failures on
stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

KINDS = ("post-receive", "post-commit")
OUTBOX = "outbox"  # in the data directory: pushes the server has not heard of yet
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)  # seconds slept before each retry: about 4 s in all
TIMEOUT_SECONDS = 30
# Answers worth asking again: the server was busy, restarting, or behind a proxy that was.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class Transient(Exception):
    """The push may go through if asked again: no answer, or one that says try later."""


class Refused(Exception):
    """The server answered and will answer the same again (a bad token, a bad request)."""


def _git(repository: str, *arguments: str) -> str:
    """git's answer, or '' when git says no (a detached HEAD, a first commit with no parent)."""
    command = ["git", "-C", repository, *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    return completed.stdout.strip() if completed.returncode == 0 else ""


def moves(kind: str, repository: str, stdin: str) -> list[dict[str, str]]:
    """post-receive reads "old new ref" lines; post-commit reports the branch HEAD is on."""
    if kind == "post-receive":
        found = []
        for line in stdin.splitlines():
            parts = line.split()
            if len(parts) == 3:
                found.append({"before": parts[0], "after": parts[1], "ref": parts[2]})
        return found
    ref = _git(repository, "symbolic-ref", "-q", "HEAD")
    if not ref:
        return []  # a detached HEAD moves no branch
    parent = _git(repository, "rev-parse", "-q", "--verify", "HEAD^")
    return [{"ref": ref, "before": parent, "after": _git(repository, "rev-parse", "HEAD")}]


def _token(data: Path) -> str:
    given = os.environ.get("STEPLINE_API_TOKEN")
    if given:
        return given
    return (data / "api-token").read_text(encoding="utf-8").strip()


def notify(url: str, token: str, repository: str, move: dict[str, str]) -> dict[str, Any]:
    """One report of one move: the server's answer (started, alreadyStarted, skipped, warnings)."""
    request = urllib.request.Request(  # noqa: S310  # the URL `stepline hook install` wrote
        f"{url.rstrip('/')}/api/hooks/git",
        data=json.dumps({"repository": repository, **move}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            loaded = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        message = _message(error)
        if error.code in TRANSIENT_STATUSES:
            raise Transient(f"HTTP {error.code}: {message}") from None
        raise Refused(f"HTTP {error.code}: {message}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:  # refused, reset, timed out
        raise Transient(str(getattr(error, "reason", error)) or type(error).__name__) from None
    except ValueError as error:  # an answer that is not JSON: a proxy's page, say
        raise Transient(f"the answer is not JSON: {error}") from None
    return loaded if isinstance(loaded, dict) else {}


def _message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("message") or error.reason)
    except (ValueError, AttributeError, OSError):
        return str(error.reason)


def report(url: str, token: str, repository: str, move: dict[str, str]) -> dict[str, Any]:
    """``notify``, asked again with back-off while the failure may pass; the last Transient
    is raised when every attempt failed."""
    for delay in (*RETRY_DELAYS, None):
        try:
            return notify(url, token, repository, move)
        except Transient:
            if delay is None:
                raise
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def keep(data: Path, repository: str, move: dict[str, str]) -> Path:
    """Keep the push in the outbox (0600 in a 0700 folder) for the server's next start. One
    file per push (ref, before, after), so keeping the same push twice keeps it once."""
    outbox = data / OUTBOX
    for folder in (data, outbox):
        folder.mkdir(mode=0o700, exist_ok=True)
    identity = "\0".join((repository, move["ref"], move["before"], move["after"]))
    kept = outbox / f"{hashlib.sha256(identity.encode()).hexdigest()[:32]}.json"
    partial = kept.with_suffix(".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump({"repository": repository, **move}, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, kept)  # a reader never sees half a push
    return kept


def say(answer: dict[str, Any], move: dict[str, str]) -> list[str]:
    """What the push did, for the person pushing: what started, and why nothing did."""
    lines = []
    for execution in answer.get("started", []):
        machine, name = str(execution).rsplit(":", 2)[-2:]
        lines.append(f"stepline: started {machine} {name}")
    lines.extend(
        f"stepline: {pipeline} was already started by this push" for pipeline in answer.get("alreadyStarted", [])
    )
    lines.extend(f"stepline: warning: {warning}" for warning in answer.get("warnings", []))
    if not answer.get("started") and not answer.get("alreadyStarted"):
        skipped = answer.get("skipped") or {}
        why = "; ".join(f"{pipeline}: {', '.join(map(str, reasons))}" for pipeline, reasons in skipped.items())
        lines.append(f"stepline: {move['ref']} started nothing: {why or 'no pipeline is registered'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stepline-hook", description=__doc__)
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args(argv)
    stdin = sys.stdin.read() if args.kind == "post-receive" else ""
    data = Path(args.data)
    # A server running on that data folder now, on whatever port, wins over the one installed.
    with contextlib.suppress(OSError):
        args.url = (data / "server-url").read_text(encoding="utf-8").strip() or args.url
    for move in moves(args.kind, args.repository, stdin):
        try:
            answer = report(args.url, _token(data), args.repository, move)
        except Refused as refused:
            print(f"stepline: the server at {args.url} refused {move['ref']}: {refused}", file=sys.stderr)
            continue
        except (Transient, OSError) as failure:  # OSError: no API token yet, the server never ran
            try:
                kept = keep(data, args.repository, move)
            except OSError as error:
                print(f"stepline: {move['ref']} was NOT reported to {args.url} ({failure}), and cannot be kept "
                      f"in {data / OUTBOX}: {error}", file=sys.stderr)  # fmt: skip
                continue
            print(f"stepline: {move['ref']} not reported to {args.url} ({failure}); kept in {kept}: "
                  "stepline serve starts it when it next starts", file=sys.stderr)  # fmt: skip
            continue
        for line in say(answer, move):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
