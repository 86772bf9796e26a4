"""What every ``stepline`` command shares: failures that print one line, the API token, and
the checks of ``--data`` and ``--port`` (argparse types: a bad value is one line and exit 2,
before anything runs)."""

from __future__ import annotations

import os
import tempfile
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from urllib.parse import urlparse

from stepline.cli.exits import CommandFailed, UsageError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def api_token_for(url: str, data: Path) -> str:
    """The token the API at ``url`` wants: $STEPLINE_API_TOKEN, else the one `stepline serve`
    made in ``data`` for a server on this machine. Never from the command line (other users
    can read a process's arguments)."""
    given = os.environ.get("STEPLINE_API_TOKEN")
    if given:
        return given
    if urlparse(url).hostname in LOOPBACK:
        file = data / "api-token"
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError:
            raise CommandFailed(
                f"no API token in {file}: is stepline serve running with --data {data}? (or set STEPLINE_API_TOKEN)"
            ) from None
    raise CommandFailed(
        f"set STEPLINE_API_TOKEN for {url}: on AWS it is the secret the stack's ApiTokenSecretArn output "
        "names (aws secretsmanager get-secret-value --secret-id ARN)"
    )


SERVER_URL_FILE = "server-url"  # in the data folder: where `stepline serve` listens while it runs


def server_url(data: Path) -> str | None:
    """The URL a `stepline serve` on this data folder wrote when it started (None if none
    runs): client commands find a server on any port through --data or $STEPLINE_DATA."""
    try:
        return (data / SERVER_URL_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def default_data() -> str:
    """Where local state lives unless --data says: $STEPLINE_DATA, else .stepline here."""
    return os.environ.get("STEPLINE_DATA", ".stepline")


MAX_PORT = 65535
SQLITE_HEADER = b"SQLite format 3\x00"
ENGINE_DATABASE = "engine.sqlite"  # what every data folder stepline run or serve made holds


def port(text: str) -> int:
    """``--port``: 1–65535, or 0 for any free port."""
    try:
        value = int(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a port number: use 1-{MAX_PORT}, or 0 for any free port") from None
    if not 0 <= value <= MAX_PORT:
        raise ArgumentTypeError(f"{value} is not a port: use 1-{MAX_PORT}, or 0 for any free port")
    return value


def state_directory(text: str) -> str:
    """``--data`` of the commands that keep state there: a directory (made if missing) that
    can be written, whose SQLite files are SQLite's."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ArgumentTypeError(f"{text} is a file, not a directory: --data names the folder of Stepline's state")
    try:
        path.mkdir(parents=True, exist_ok=True)
        # The filesystem's own answer: permission bits say nothing to root, a read-only or
        # immutable folder still refuses.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise ArgumentTypeError(f"{text}: cannot write there ({error.strerror})") from None
    for database in sorted(path.glob("*.sqlite")):
        problem = not_sqlite(database)
        if problem:
            raise ArgumentTypeError(f"{problem}: move it aside, or choose another --data")
    return text


def add_state_data(command: ArgumentParser, *, existing: bool = False) -> None:
    """``--data`` of the commands that keep the engine's state there (run, serve), or, with
    ``existing``, only read what is there (executions, show, metrics): a folder that is not
    there is then an error, never a new, empty store that answers "nothing here"."""
    command.add_argument(
        "--data",
        default=default_data(),
        type=existing_state_directory if existing else state_directory,
        metavar="DIR",
        help="where state lives (default $STEPLINE_DATA, else .stepline)",
    )


def existing_state_directory(text: str) -> str:
    """``--data`` of the commands that read state: ``state_directory``'s checks, on a folder
    that exists and holds Stepline's engine database."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ArgumentTypeError(f"{text} is a file, not a directory: --data names the folder of Stepline's state")
    if not path.is_dir():
        raise ArgumentTypeError(
            f"{text} does not exist, so it holds no runs: check --data (or $STEPLINE_DATA); "
            "stepline run and stepline serve make it"
        )
    state_directory(text)
    if not (path / ENGINE_DATABASE).is_file():
        raise ArgumentTypeError(
            f"{text} holds no Stepline state (no {ENGINE_DATABASE}): check --data (or $STEPLINE_DATA); "
            "stepline run and stepline serve make it"
        )
    return text


def token_directory(text: str) -> str:
    """``--data`` of the commands that only read a local server's API token from it."""
    if Path(text).exists() and not Path(text).is_dir():
        raise ArgumentTypeError(f"{text} is a file, not a directory: --data names stepline serve's data folder")
    return text


def database_file(text: str) -> str:
    """``--data`` of ``stepline asl run``: a SQLite file, new or SQLite's own."""
    path = Path(text)
    if path.is_dir():
        raise ArgumentTypeError(f"{text} is a directory: --data names the SQLite file that keeps the engine's state")
    problem = not_sqlite(path) if path.exists() else None
    if problem:
        raise ArgumentTypeError(f"{problem}: move it aside, or choose another --data")
    return text


def not_sqlite(path: Path) -> str | None:
    """Why ``path`` is not a SQLite database, or None if it is one (or empty: SQLite starts it)."""
    if not path.is_file():  # a FIFO or a device: never opened, it could block or never end
        return f"{path} is not a regular file, where a SQLite database should be"
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        return f"{path} cannot be read ({error.strerror})"
    if head and head != SQLITE_HEADER:
        return f"{path} is not a SQLite database (it does not start with SQLite's header)"
    return None


def variable_values(items: list[str]) -> dict[str, str]:
    """``--variable NAME=VALUE`` (repeatable): pipeline-level variables' values for one execution."""
    variables = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise UsageError(f"--variable {item!r}: write NAME=VALUE")
        variables[name] = value
    return variables


def check_declared(given: dict[str, str], pipeline: str, declared: set[str]) -> None:
    """Every ``--variable`` names a variable the pipeline declares, as StartPipelineExecution requires."""
    for name in given:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(f"--variable {name}: {pipeline} declares no such variable (declared: {known})")


def source_pairs(pairs: list[str]) -> dict[str, str]:
    """``--source NAME=PATH`` (repeatable): the local repository of a CodeCommit, connection or
    GitHub source, by the repository's name; a local path made absolute, so a server or a hook
    in another directory finds the same repository."""
    mapping = {}
    for pair in pairs:
        name, separator, path = pair.partition("=")
        if not separator or not name or not path:
            raise UsageError(f"--source {pair!r}: write NAME=PATH (the repository's name, then its local path)")
        remote = "://" in path or path.startswith("git@")
        if not remote and not Path(path).exists():
            raise UsageError(f"--source {name}: {path} does not exist")
        mapping[name] = path if remote else str(Path(path).resolve())
    return mapping
