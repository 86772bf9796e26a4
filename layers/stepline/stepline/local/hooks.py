"""What Stepline's git hooks run: report the refs a push or commit moved to `stepline serve`.

Standard library only, on purpose: a hook runs on every push, and importing the whole CLI
(boto3, pydantic, the compiler) would cost more than everything else the push does. Never
fails the git command: a server that is down is reported on stderr and the push goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

KINDS = ("post-receive", "post-commit")


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


def notify(url: str, token: str, repository: str, move: dict[str, str]) -> dict[str, list[str]]:
    request = urllib.request.Request(  # noqa: S310  # the URL `stepline hook install` wrote
        f"{url.rstrip('/')}/api/hooks/git",
        data=json.dumps({"repository": repository, **move}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        loaded = json.loads(answer.read())
    return {key: [str(item) for item in loaded.get(key, [])] for key in ("started", "warnings")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stepline-hook", description=__doc__)
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args(argv)
    stdin = sys.stdin.read() if args.kind == "post-receive" else ""
    try:
        token = _token(Path(args.data))
        for move in moves(args.kind, args.repository, stdin):
            answer = notify(args.url, token, args.repository, move)
            for execution in answer["started"]:
                machine, name = execution.rsplit(":", 2)[-2:]
                print(f"stepline: started {machine} {name}")
            for warning in answer["warnings"]:
                print(f"stepline: warning: {warning}")
    except (OSError, urllib.error.URLError, ValueError) as error:
        print(f"stepline: the push was not reported to {args.url}: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
