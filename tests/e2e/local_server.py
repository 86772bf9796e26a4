"""A real `stepline serve` process, real git repositories with the hooks installed, and the
engine's SQLite file read directly: what the end-to-end tests drive."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import REPO

SAMPLE_APP = REPO / "examples" / "sample-app"
GIT_IDENTITY = ["-c", "user.name=Stepline tests", "-c", "user.email=tests@stepline.invalid"]


def stepline(*arguments: str, cwd: Path, data: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stepline", *arguments, "--data", str(data)],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


def git(cwd: Path, *arguments: str) -> str:
    completed = subprocess.run(["git", *GIT_IDENTITY, *arguments], cwd=cwd, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout + completed.stderr


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)  # polling interval, not a measurement
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    """`stepline serve` in ``home``; ``start`` again after ``kill`` to test resuming. What it
    prints is read as it comes (``output``), so a chatty server never blocks on a full pipe."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.data = home / ".stepline"
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0
        self.output: list[str] = []
        self._reader: threading.Thread | None = None

    def start(self, environment: dict[str, str] | None = None) -> None:
        self.output = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stepline", "serve", "--port", str(self.port), "--data", str(self.data)],
            cwd=self.home,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(environment or {})},
        )
        self._reader = threading.Thread(target=self._read, args=(self.process, self.output), daemon=True)
        self._reader.start()
        found = self.said(r"serving on (http://127\.0\.0\.1:(\d+))")
        self.url, self.port = found[1], int(found[2])  # a restart takes the same port

    @staticmethod
    def _read(process: subprocess.Popen[str], lines: list[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))

    def said(self, pattern: str, timeout: float = 180) -> re.Match[str]:
        """The first line the server printed that matches ``pattern``, waiting for it."""

        def seen() -> re.Match[str] | None:
            for line in list(self.output):
                if found := re.search(pattern, line):
                    return found
            assert self.process is not None
            if self.process.poll() is not None and self._reader is not None and not self._reader.is_alive():
                raise AssertionError(f"serve ended without saying {pattern!r}:\n" + "\n".join(self.output))
            return None

        found: re.Match[str] = wait_for(seen, f"serve to say {pattern!r}", timeout)
        return found

    def printed_sign_in_link(self) -> str:
        """The one-time console sign-in link serve printed when it started."""
        return self.said(r"console: (http://\S+)")[1]

    def sign_in_link(self) -> str:
        """A fresh one-time console sign-in link, as `stepline console` gets one."""
        asked = stepline("console", "--url", self.url, cwd=self.home, data=self.data)
        assert asked.returncode == 0, asked.stderr
        return asked.stdout.strip()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def apply(self, document: dict[str, Any]) -> str:
        path = self.home / f"{document['name']}.yaml"
        path.write_text(yaml.safe_dump(document))
        applied = stepline("apply", str(path), "--url", self.url, cwd=self.home, data=self.data)
        assert applied.returncode == 0, applied.stderr
        return applied.stdout

    def executions(self) -> list[tuple[str, str]]:
        database = self.data / "engine.sqlite"
        if not database.exists():
            return []
        with sqlite3.connect(database) as db:
            return [(str(n), str(s)) for n, s in db.execute("SELECT name, status FROM executions ORDER BY started")]

    def pipeline_executions(self, pipeline: str) -> list[tuple[str, str]]:
        database = self.data / "engine.sqlite"
        with sqlite3.connect(database) as db:
            rows = db.execute(
                "SELECT e.name, e.status FROM executions e JOIN state_machines m ON m.arn = e.state_machine_arn "
                "WHERE m.name = ? ORDER BY e.started",
                (f"stepline-{pipeline}",),
            )
            return [(str(n), str(s)) for n, s in rows]

    def finished(self, pipeline: str, count: int = 1) -> list[tuple[str, str]]:
        def done() -> list[tuple[str, str]] | None:
            runs = self.pipeline_executions(pipeline)
            return runs if len(runs) >= count and all(status != "RUNNING" for _, status in runs) else None

        result: list[tuple[str, str]] = wait_for(done, f"{count} finished execution(s) of {pipeline}")
        return result


def repositories(home: Path, files: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A bare repository (what pipelines read) and a clone to commit in, with the sample app."""
    bare, work = home / "app.git", home / "work"
    git(home, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(home, "clone", "--quiet", str(bare), str(work))
    subprocess.run(["cp", "-R", f"{SAMPLE_APP}/.", str(work)], check=True)
    for name, text in (files or {}).items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "checkout", "--quiet", "-B", "main")
    return bare, work


def commit_and_push(work: Path, files: dict[str, str], message: str, branch: str = "main") -> str:
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--message", message)
    return git(work, "push", "origin", f"HEAD:refs/heads/{branch}")


def pipeline(name: str, bare: Path, stages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    source = {
        "name": "Source",
        "actions": [
            {
                "name": "Checkout",
                "actionTypeId": {"category": "Source", "owner": "Custom", "provider": "Git", "version": "1"},
                "namespace": "SourceVariables",
                "configuration": {"RepositoryUrl": str(bare), "BranchName": "main"},
                "outputArtifacts": [{"name": "Src"}],
            }
        ],
    }
    return {"name": name, "pipelineType": "V2", "executionMode": "PARALLEL", "stages": [source, *stages], **fields}


BUILD = {
    "name": "Build",
    "actions": [
        {
            "name": "TestAndPackage",
            "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "configuration": {"ProjectName": "app"},
            "inputArtifacts": [{"name": "Src"}],
            "outputArtifacts": [{"name": "Package"}],
        }
    ],
}
APPROVE = {
    "name": "Approve",
    "actions": [
        {
            "name": "Release",
            "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
            "configuration": {"CustomData": "Release #{SourceVariables.CommitId}?"},
        }
    ],
}


def processes_touching(path: Path) -> list[str]:
    """Live processes whose command line or environment names ``path``: a build's shell and
    its children carry the data directory in CODEBUILD_SRC_DIR, supervisors in their argv."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if str(path).encode() in seen and "zombie" not in state:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry.name}: {command}")
    return found
