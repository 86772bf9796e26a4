"""The supervisor process itself: runs one command, masks its output into a log, records
how it ended. See stepline.actions.build.supervisor for the contract; this file is what runs.

Started by file path with ``python -I -S``, and kept to the few standard modules it needs
(no pathlib, dataclasses or typing at run time): every build pays for its start-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only; typing costs start-up time
    from collections.abc import Callable
    from typing import IO, Any

MASK = "***"
_PR_SET_PDEATHSIG = 1


def private_folders(path: str) -> str:
    """``path`` and any missing parents made 0700 (mkdir's mode passes through the umask)."""
    missing = []
    folder = os.path.abspath(path)
    while not os.path.exists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for made in reversed(missing):
        try:
            os.mkdir(made, 0o700)
        except FileExistsError:
            continue
        os.chmod(made, 0o700)
    return path


def write_atomically(path: str, text: str) -> None:
    """Write, then rename: a reader sees the whole file or none of it. Like the engine's
    SQLite (synchronous=NORMAL), this survives the process being killed, not a power cut:
    an fsync per record would cost more than the build's own start."""
    partial = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.partial")
    with open(partial, "w", encoding="utf-8", opener=owner_only) as handle:
        handle.write(text)
    os.replace(partial, path)


def owner_only(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def private(path: str, mode: str) -> IO[Any]:
    """A file only this user can read: logs may say more than they should."""
    if "b" in mode:
        return open(path, mode, opener=owner_only)
    return open(path, mode, encoding="utf-8", opener=owner_only)


def masker(secrets: list[str]) -> Callable[[str], str]:
    """Every secret value, and each line of a multi-line one, replaced by the mask."""
    pieces = set(secrets)
    for secret in secrets:
        pieces.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= 4)
    pieces.discard("")
    if not pieces:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(piece) for piece in sorted(pieces, key=len, reverse=True)))
    return lambda text: pattern.sub(MASK, text)


def _die_with_parent() -> None:
    # The shell must not outlive its supervisor: nobody would record how it ended.
    import ctypes  # noqa: PLC0415 - here, in the child between fork and exec: only the shell pays for it

    with contextlib.suppress(OSError, AttributeError):  # not Linux: the shell may outlive a killed supervisor
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def _pump(stream: IO[bytes], log: IO[str], mask: Callable[[str], str]) -> None:
    for raw in stream:
        log.write(mask(raw.decode("utf-8", "replace")))
        log.flush()


def supervise(run_path: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run the command; the outcome recorded (and returned): exitCode, timedOut, stopped."""
    write_atomically(os.path.join(run_path, "supervisor.pid"), str(os.getpid()))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())  # a stop: the loop below ends the group
    mask = masker(list(spec.get("mask", [])))
    log_path = spec["log"]
    private_folders(os.path.dirname(log_path))
    deadline = time.monotonic() + float(spec["timeout"])
    with private(log_path, "w") as log:
        write_atomically(os.path.join(run_path, "started"), str(time.time()))
        process = subprocess.Popen(  # noqa: S603 - the build's shell and script, written by Stepline
            spec["command"],
            cwd=spec["cwd"],
            env=spec["environment"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            umask=0o022,  # the build's own files are as a shell would make them
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - single-threaded here: the pump starts after
        )
        assert process.stdout is not None
        reader = threading.Thread(target=_pump, args=(process.stdout, log, mask), daemon=True)
        reader.start()
        timed_out = _wait(process, deadline, stopping)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # what the shell left behind ends with the build, as in CodeBuild
        reader.join(timeout=10)
    outcome = {"exitCode": process.returncode, "timedOut": timed_out, "stopped": stopping.is_set()}
    write_atomically(os.path.join(run_path, "outcome.json"), json.dumps(outcome))
    return outcome


def _wait(process: subprocess.Popen[bytes], deadline: float, stopping: threading.Event) -> bool:
    """Wait for the shell; end its whole group on a stop or at the deadline. True: timed out."""
    while True:
        try:
            process.wait(timeout=max(0.0, min(0.5, deadline - time.monotonic())))
            return False
        except subprocess.TimeoutExpired:
            if stopping.is_set() or time.monotonic() >= deadline:
                _kill_group(process)
                return not stopping.is_set()


def main(argv: list[str]) -> int:
    run_path, lock_fd = argv[0], int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the caller, not the build
    spec = json.loads(sys.stdin.buffer.read())
    try:
        supervise(run_path, spec)
    finally:
        os.close(lock_fd)  # exiting would release it too; this says when
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
