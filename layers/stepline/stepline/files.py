"""Files and folders without surprises: reading a file a user names, naming a folder after
a pipeline.

``read_limited`` reads what a path names with a cap, whatever it turns out to be: a file of
any size, a symbolic link to ``/dev/zero`` (endless; ``stat`` says 0 bytes), a named pipe
nobody writes to (opening it would block forever), a directory. A pipe that has a writer is
read like a file, so ``stepline validate <(generate-pipeline)`` works.

``segment`` turns a name into one path component. CodePipeline's names allow ``.`` and
``..`` (the pattern is ``[A-Za-z0-9.@\\-_]+``), and execution names are freer still; as a
folder such a name would mean "here" or "the parent". Each name maps to a distinct
component that never climbs out of its folder.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from urllib.parse import quote

from stepline.errors import InvalidInput

_CHUNK = 1024 * 1024


class UnreadableFile(InvalidInput):
    """A path that cannot be read as a document; ``reason`` completes "<path>: …"."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class MissingFile(UnreadableFile):
    """Nothing is at the path."""


def read_limited(path: str | Path, limit: int, what: str = "a file") -> bytes:
    """The bytes at ``path``, at most ``limit`` of them, or UnreadableFile saying why not.

    ``what`` names the document in messages ("a pipeline definition" may be at most …).
    """
    try:
        # Non-blocking, so a named pipe with no writer cannot hang the open.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise MissingFile(path, "no such file") from None
    except OSError as error:
        raise UnreadableFile(path, f"cannot be read: {error.strerror}") from None
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise UnreadableFile(path, f"is a directory, not {what}")
        data = _read_capped(descriptor, path, limit, pipe=stat.S_ISFIFO(status.st_mode))
    finally:
        os.close(descriptor)
    if len(data) > limit:
        if stat.S_ISREG(status.st_mode):
            told = f"is {max(status.st_size, len(data)):,} bytes"
        else:  # /dev/zero, a pipe: there is no size to tell
            told = f"gives more than {limit:,} bytes and is not a regular file"
        raise UnreadableFile(path, f"{told}; {what} may be at most {limit:,}")
    return data


def _read_capped(descriptor: int, path: str | Path, limit: int, *, pipe: bool) -> bytes:
    if pipe:
        try:
            first = os.read(descriptor, min(_CHUNK, limit + 1))
        except BlockingIOError:
            first = None  # a writer is there and has not written yet: wait for it below
        if first == b"":
            raise UnreadableFile(path, "is a named pipe that nothing is writing to")
        chunks = [first] if first else []
    else:
        chunks = []
    os.set_blocking(descriptor, True)
    size = sum(map(len, chunks))
    try:
        while size <= limit:
            chunk = os.read(descriptor, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise UnreadableFile(path, f"cannot be read: {error.strerror}") from None
    return b"".join(chunks)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: a full disk leaves the old file as it was.

    A device or a pipe (``/dev/stdout``) is written directly: it cannot be replaced.
    """
    if path.exists() and not path.is_file():
        path.write_text(text, encoding="utf-8")
        return
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask()
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with open(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(partial, mode)  # mkstemp's file is 0600; the result gets a new file's mode
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def logs_folder(data: Path) -> Path:
    """Where builds on this machine write their logs, in the data folder (``--data``)."""
    return data / "logs"


def action_log_path(logs: Path, pipeline: str, execution: str, action: str) -> Path:
    """Where a local build writes the log of ``action`` ("<stage>.<action>"): a folder per
    pipeline and execution under ``logs``."""
    return logs / segment(pipeline) / segment(execution) / f"{segment(action)}.log"


def segment(name: str) -> str:
    """``name`` as one folder or file name: distinct names stay distinct, none climbs out.

    Characters other than letters, digits and ``. @ - _`` are percent-encoded, and a name
    made only of one or two dots has its dots encoded (``..`` → ``%2E%2E``). Percent-encoding
    never writes ``%2E`` itself (a dot is never encoded), so no other name maps there.
    """
    if not name:
        raise ValueError("an empty name cannot name a folder")
    encoded = quote(name, safe="@")
    return encoded.replace(".", "%2E") if encoded in {".", ".."} else encoded
