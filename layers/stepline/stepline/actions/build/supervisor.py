"""Run a build's shell once, whatever happens to the process that asked for it.

A local build or Commands action is user code with effects outside Stepline (a deploy that
appends to a file, a package pushed somewhere). The engine calls handlers at least once — a
task interrupted by a crash is called again — so the shell cannot live inside the handler:
killing ``stepline serve`` would orphan it, and the retried call would run it a second time.

Instead the handler starts a *supervisor*, a small process of its own session that runs the
shell and records how it ended. Everything about one run lives in its directory:

    lock          flock-ed by the supervisor for as long as it lives (handed over by the
                  parent before the parent lets go, so there is no moment without an owner)
    started       written just before the shell starts: from here on the run may have had effects
    outcome.json  how the shell ended (exit code, timed out, stopped), written atomically
    result.json   what the action made of it (written by the caller, atomically)

Whoever calls for the run again (the same task after a restart) reads that directory:

    NEW           no supervisor ever started the shell: start it (it provably never ran)
    RUNNING       a supervisor holds the lock: adopt it, wait for its outcome
    EXITED        the outcome is recorded: use it, run nothing
    INTERRUPTED   the shell started, its supervisor is gone and recorded nothing (the machine
                  stopped, or someone killed the supervisor): it may have partly run, so it is
                  never started again; the caller fails the action and says so

The supervisor masks secret values in everything it writes to the log, and kills the shell's
process group on time-out or on SIGTERM (a stop). The shell gets SIGKILL if its supervisor dies.

Standard library only, and run by file path with ``python -I -S``: it starts in milliseconds,
and nothing in a build's environment (PYTHONPATH, a virtualenv) can break it.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepline.actions.build import supervisor_process
from stepline.actions.build.supervisor_process import MASK, write_atomically

__all__ = ["MASK", "AlreadyRunning", "InterruptedRun", "Outcome", "Run", "RunState", "Runs", "private_folders"]


def private_folders(path: Path) -> Path:
    """``path`` and any missing parents made 0700."""
    supervisor_process.private_folders(str(path))
    return path


class RunState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    EXITED = "exited"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Outcome:
    """How the supervised command ended."""

    exit_code: int | None
    timed_out: bool = False
    stopped: bool = False


class AlreadyRunning(RuntimeError):
    """Another supervisor holds this run."""


class Run:
    """One supervised run, by its directory. Make one per call; it holds no state of its own
    beyond the process it started, so a crashed caller's successor reads the same facts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def key(self) -> str:
        return self.path.name

    @property
    def log(self) -> Path | None:
        """Where the command's output goes (chosen by whoever launched it)."""
        named = self.read_file("log-path")
        return Path(named) if named else None

    # --- reading what is known ---------------------------------------------------------------

    def state(self) -> RunState:
        if (self.path / "outcome.json").exists():
            return RunState.EXITED
        if not (self.path / "lock").exists():
            return RunState.NEW
        with (self.path / "lock").open("a") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return RunState.RUNNING
            fcntl.flock(probe, fcntl.LOCK_UN)
        # Nobody holds it. The outcome may have landed between the two looks.
        if (self.path / "outcome.json").exists():
            return RunState.EXITED
        return RunState.INTERRUPTED if (self.path / "started").exists() else RunState.NEW

    def outcome(self) -> Outcome | None:
        try:
            loaded = json.loads((self.path / "outcome.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return Outcome(loaded.get("exitCode"), bool(loaded.get("timedOut")), bool(loaded.get("stopped")))

    def result(self) -> dict[str, Any] | None:
        """What the caller recorded after the outcome (see ``record_result``), if anything."""
        try:
            loaded: dict[str, Any] = json.loads((self.path / "result.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        return loaded

    def record_result(self, result: Mapping[str, Any]) -> None:
        self.write_file("result.json", json.dumps(result))

    def read_file(self, name: str) -> str | None:
        try:
            return (self.path / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_file(self, name: str, text: str) -> None:
        write_atomically(str(private_folders(self.path) / name), text)

    # --- starting, adopting, stopping ----------------------------------------------------------

    def launch(
        self,
        command: list[str],
        *,
        cwd: Path,
        environment: Mapping[str, str],
        timeout_seconds: float,
        log: Path,
        secrets: Iterable[str] = (),
    ) -> None:
        """Start the supervisor (state NEW only). It owns the run's lock before this returns."""
        private_folders(self.path)
        for stale in ("started", "outcome.json"):
            (self.path / stale).unlink(missing_ok=True)
        lock = supervisor_process.private(str(self.path / "lock"), "a")
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise AlreadyRunning(f"run {self.key} already has a supervisor") from None
            self.write_file("log-path", str(log))
            spec = {
                "command": command,
                "cwd": str(cwd),
                "environment": dict(environment),
                "timeout": timeout_seconds,
                "log": str(log),
                "mask": sorted({s for s in secrets if s}, key=len, reverse=True),
            }
            with supervisor_process.private(str(self.path / "supervisor.log"), "ab") as errors:
                self._process = subprocess.Popen(  # noqa: S603 - our own supervisor, by path
                    [sys.executable, "-I", "-S", supervisor_process.__file__, str(self.path), str(lock.fileno())],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    pass_fds=(lock.fileno(),),
                    start_new_session=True,
                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
                )
            assert self._process.stdin is not None
            # Secrets travel through the pipe, never through a file or argv.
            self._process.stdin.write(json.dumps(spec).encode())
            self._process.stdin.close()
        finally:
            lock.close()  # the supervisor holds its own copy of the lock now

    def wait(self, on_output: Callable[[str], None] | None = None, poll_seconds: float = 0.1) -> Outcome:
        """Wait until the supervisor ends — ours or one a crashed caller started — streaming
        its log to ``on_output``. An ended supervisor that recorded nothing was killed."""
        ended = threading.Event()

        def hold_until_released() -> None:
            with (self.path / "lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_SH)  # granted once the supervisor has gone
            ended.set()

        threading.Thread(target=hold_until_released, name=f"stepline-wait-{self.key}", daemon=True).start()
        tail = _Tail(self.log, on_output)  # the log is named before the supervisor starts
        while not ended.wait(poll_seconds):
            tail.pump()
        tail.pump(final=True)
        if self._process is not None:
            self._process.wait()  # reap our own child
        outcome = self.outcome()
        if outcome is None:
            raise InterruptedRun(self)
        return outcome

    def stop(self) -> bool:
        """Ask a running supervisor to stop its command (SIGTERM, then the group is killed)."""
        pid = self.read_file("supervisor.pid")
        if pid is None or self.state() is not RunState.RUNNING:
            return False
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGTERM)
            return True
        return False


class InterruptedRun(RuntimeError):
    """The supervisor ended without recording an outcome."""

    def __init__(self, run: Run) -> None:
        super().__init__(f"run {run.key}: the supervisor ended without recording how the command ended")
        self.run = run


class Runs:
    """Supervised runs under one directory, by key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, key: str) -> Run:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", key) or key in {".", ".."}:
            raise ValueError(f"a run key is a plain file name, not {key!r}")
        return Run(self.root / key)

    def all(self) -> list[Run]:
        if not self.root.is_dir():
            return []
        return [Run(path) for path in sorted(self.root.iterdir()) if path.is_dir()]


class _Tail:
    """Follows a log file from its start, line by line."""

    def __init__(self, path: Path | None, on_output: Callable[[str], None] | None) -> None:
        self.path, self.on_output = path, on_output
        self.offset = 0

    def pump(self, *, final: bool = False) -> None:
        if self.on_output is None or self.path is None:
            return
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        complete = chunk if final else chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            self.on_output(line)


# --- the supervisor process ---------------------------------------------------------------------
