"""Bad input, written as the attack: each gets one clear line naming what and where, exit 2
(or a 4xx from the API), never a traceback or "unexpected", and loses nothing.

Inputs that could hang or exhaust a process if a check regressed (/dev/zero, a FIFO nobody
writes to) run the real command in a child process with a memory cap and a generous
deadline; the rest call ``stepline.cli.main`` in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stepline import wiring
from stepline.actions.build.buildspec import BuildspecError, load_buildspec, parse_buildspec
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.api.app import handle
from stepline.cli.main import _parser, main
from stepline.definition import check_file, valid_pipeline
from stepline.engine.store import StoreError, StoreFull
from stepline.files import segment
from stepline.local.runtime import LocalRuntime
from tests.gitrepo import Repo
from tests.handlers import load_handler
from tests.helpers import EXAMPLES, load_event, minimal, write

GENEROUS_SECONDS = 120  # a deadline for a child that would otherwise hang forever, never a timing


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``stepline ARGS`` in this process: (exit code, stdout, stderr), argparse's exits included."""
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def refused(code: int, err: str, says: str) -> None:
    """Exit 2 with a message that says ``says``, and nothing a person should not see."""
    assert code == 2, err
    assert says in err, err
    assert "Traceback" not in err
    assert "unexpected" not in err


def stepline_process(*args: str, cwd: Path, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    """The real ``stepline`` in a child capped at 1 GiB of memory: a regression fails, never
    takes the machine with it."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3))

    return subprocess.run(
        [sys.executable, "-m", "stepline", *args],
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=GENEROUS_SECONDS,
        preexec_fn=cap_memory,
        check=False,
    )


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # --data defaults to $STEPLINE_DATA, else .stepline in the working directory: keep both here.
    monkeypatch.delenv("STEPLINE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)


# --- documents nested without end ---------------------------------------------------------


def deep_json(levels: int) -> str:
    return '{"stages": ' + "[" * levels + "]" * levels + "}"


def deep_yaml(levels: int) -> str:
    return "stages:\n" + "".join("  " * level + "- \n" for level in range(1, levels)) + "  " * levels + "- x\n"


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("deep.json", deep_json(100_000), "line 1, column 43: nests deeper than 32 levels"),
        ("shallower.json", deep_json(500), "stages[0][0]"),
        ("deep.yaml", "stages: " + "[" * 100_000 + "]" * 100_000, "line 1, column 40: nests deeper than 32 levels"),
        ("block.yaml", deep_yaml(200), "line 33, column 65: nests deeper than 32 levels"),
    ],
    ids=["json-past-the-stack", "json-within-it", "yaml-flow", "yaml-block"],
)
def test_a_document_nested_without_end_is_refused_saying_where(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, text: str, says: str
) -> None:
    # Given a pipeline file nested far past anything a declaration needs (RecursionError before)
    path = tmp_path / name
    path.write_text(text)
    # When each command that reads a pipeline reads it
    for command in ("validate", "compile", "graph", "deploy", "apply", "run"):
        code, out, err = cli(capsys, command, str(path))
        # Then it exits 2, naming the file and where the nesting goes too deep
        refused(code, out + err, says)
        assert f"{path}: invalid" in out + err


def test_yaml_aliases_that_stand_for_a_billion_values_are_refused(tmp_path: Path) -> None:
    # Given a 400-byte YAML file whose aliases stand for 10^9 values (in a capped child: read
    # whole, it would take the machine's memory)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)
    for command in ("validate", "apply"):
        finished = stepline_process(command, str(bomb), cwd=tmp_path)
        refused(finished.returncode, finished.stdout + finished.stderr, "holds more than 1,000,000 values")


def test_deep_json_through_the_api_is_a_400(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the local API and its token
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / "data"))
    wiring.reset()
    token = wiring.api_token()

    def post(path: str, body: str) -> dict[str, Any]:
        event = load_event("api/cli-decision.json")
        event.update({"path": path, "body": body})
        event["requestContext"] = {**event["requestContext"], "path": path}
        event["headers"] = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        event["multiValueHeaders"] = {}
        answer: dict[str, Any] = handle(event, None)
        return answer

    try:
        # When every JSON route is sent a body nested past Python's stack
        for path in ("/api/pipelines", "/api/approvals", "/api/hooks/git"):
            answer = post(path, "[" * 100_000 + "]" * 100_000)
            # Then each answers 400 saying so (it was a 500 with RecursionError)
            assert answer["statusCode"] == 400, answer["body"]
            assert "nests arrays or objects too deeply" in json.loads(answer["body"])["message"]
        # And a declaration nested within the stack but past any pipeline is refused by the loader
        declaration = minimal() | {"variables": json.loads(deep_json(200))["stages"]}
        answer = post("/api/pipelines", json.dumps({"declaration": declaration, "source": "deep.json"}))
        assert answer["statusCode"] == 400
        assert "deep.json: variables[0][0]" in json.loads(answer["body"])["message"]
        assert "nests deeper than 32 levels" in json.loads(answer["body"])["message"]
    finally:
        wiring.reset()


def test_a_signed_webhook_nested_past_the_stack_is_a_400(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "It's a Secret to Everybody"
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("STEPLINE_SECRET_STEPLINE_GITHUB_WEBHOOK_SECRET", secret)
    wiring.reset()
    event = load_event("api/github-push.json")
    event["body"] = "[" * 100_000 + "]" * 100_000
    signature = hmac.new(secret.encode(), event["body"].encode(), hashlib.sha256).hexdigest()
    event["headers"]["X-Hub-Signature-256"] = f"sha256={signature}"
    try:
        answer = handle(event, None)
    finally:
        wiring.reset()
    assert answer["statusCode"] == 400
    assert "nests arrays or objects too deeply" in json.loads(answer["body"])["message"]


# --- files that are not files --------------------------------------------------------------


@pytest.fixture
def not_files(tmp_path: Path) -> dict[str, Path]:
    """A link to /dev/zero (endless; stat says 0 bytes), a FIFO nobody writes to (opening it
    blocks), and a file bigger than any document Stepline reads."""
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(6 * 1024**3)  # sparse: 6 GiB that take no room
    return {"zero": zero, "fifo": fifo, "huge": huge}


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("zero", "gives more than 5,242,880 bytes and is not a regular file; a pipeline definition may be at most"),
        ("fifo", "is a named pipe that nothing is writing to"),
        ("huge", "is 6,442,450,944 bytes; a pipeline definition may be at most 5,242,880"),
    ],
)
def test_a_pipeline_file_that_is_not_a_file_is_refused_with_a_capped_read(
    tmp_path: Path, not_files: dict[str, Path], kind: str, says: str
) -> None:
    for command in ("validate", "compile", "apply"):
        finished = stepline_process(command, str(not_files[kind]), cwd=tmp_path)
        refused(finished.returncode, finished.stdout + finished.stderr, says)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["{zero}"], "zero.yaml: gives more than 1,048,576 bytes and is not a regular file"),
        (["{fifo}"], "fifo.yaml: is a named pipe that nothing is writing to"),
        (["{definition}", "--input", "@{zero}"], "--input @"),
        (["{definition}", "--input", "@{huge}"], "an execution input may be at most 262,144"),
    ],
    ids=["definition-zero", "definition-fifo", "input-zero", "input-huge"],
)
def test_asl_run_reads_its_files_with_a_cap(
    tmp_path: Path, not_files: dict[str, Path], args: list[str], says: str
) -> None:
    definition = tmp_path / "ok.asl.json"
    definition.write_text('{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}')
    names = {name: str(path) for name, path in not_files.items()} | {"definition": str(definition)}
    finished = stepline_process("asl", "run", *(arg.format(**names) for arg in args), cwd=tmp_path)
    refused(finished.returncode, finished.stderr, says)


def test_a_buildspec_that_is_not_a_file_fails_the_build_with_a_reason(not_files: dict[str, Path]) -> None:
    for kind, says in (("zero", "a buildspec may be at most 5,242,880"), ("fifo", "nothing is writing to")):
        with pytest.raises(BuildspecError) as caught:
            load_buildspec(not_files[kind])
        assert says in str(caught.value.problems[0])
    with pytest.raises(BuildspecError) as caught:
        parse_buildspec("[" * 999, "BuildspecOverride")
    assert "nests lists or mappings too deeply to be read" in str(caught.value.problems[0])


def test_a_pipe_with_a_writer_is_read_like_a_file(tmp_path: Path) -> None:
    # Given `stepline validate <(cat pipeline.yaml)`: a pipe a process writes into
    finished = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m stepline validate <(sleep 0.1; cat "{EXAMPLES / "local-demo.yaml"}")'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=GENEROUS_SECONDS,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "valid — sample-app, 4 stages, 4 actions" in finished.stdout


# --- output that cannot be written ---------------------------------------------------------


@pytest.mark.parametrize("command", [["validate", str(EXAMPLES / "local-demo.yaml")], ["schema"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path, command: list[str]) -> None:
    # Given `stepline … | head` whose reader has already gone (a pipe closed at the far end)
    reader, writer = os.pipe()
    os.close(reader)
    try:
        finished = stepline_process(*command, cwd=tmp_path, stdout=writer)
    finally:
        os.close(writer)
    # Then the command ends as SIGPIPE would end it, saying nothing (BrokenPipeError before)
    assert (finished.returncode, finished.stderr) == (128 + signal.SIGPIPE, "")


def test_output_to_a_full_disk_is_one_line(tmp_path: Path) -> None:
    with Path("/dev/full").open("w") as full:
        finished = stepline_process("schema", cwd=tmp_path, stdout=full)
    assert finished.returncode == 1
    assert finished.stderr == (
        "stepline: cannot write: No space left on device: the disk is full; free some space and run the command again\n"
    )


def test_compile_to_a_file_it_cannot_finish_keeps_the_old_one(tmp_path: Path) -> None:
    # Given an earlier output, and a file-size limit the new one exceeds (the kernel refuses
    # the write, as a full disk would: EFBIG instead of ENOSPC)
    out = tmp_path / "out.json"
    out.write_text("the previous definition")

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    finished = subprocess.run(
        [sys.executable, "-m", "stepline", "compile", str(EXAMPLES / "local-demo.yaml"), "-o", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=GENEROUS_SECONDS,
        preexec_fn=small_files,
        check=False,
    )
    # Then the command says it could not write, and the earlier file is whole, with no leftovers
    refused(finished.returncode, finished.stderr, f"cannot write {out}: File too large")
    assert out.read_text() == "the previous definition"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.json"]


# --- --data, --port and the databases -------------------------------------------------------


@contextlib.contextmanager
def unwritable(folder: Path) -> Iterator[Path]:
    """A folder the filesystem refuses to write into, for root too (chattr +i)."""
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            yield folder
        finally:
            folder.chmod(0o700)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], check=False).returncode:
        pytest.skip("as root, an unwritable folder needs chattr +i on this filesystem")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def garbage_data(tmp_path: Path, database: str) -> Path:
    folder = tmp_path / f"garbage-{database}"
    folder.mkdir()
    (folder / database).write_bytes(b"this is not SQLite " * 64)
    return folder


STATE_COMMANDS = [
    ["run", "{pipeline}"],
    ["executions"],
    ["show", "some-execution"],
    ["serve", "--port", "0"],
]
TOKEN_COMMANDS = [
    ["approve", "e", "Stage", "Action"],
    ["reject", "e", "Stage", "Action"],
    ["approvals"],
    ["disable-transition", "p", "Stage", "--reason", "why"],
    ["enable-transition", "p", "Stage"],
    ["transitions", "p"],
    ["stop", "p", "e"],
    ["rollback", "p", "Stage", "e"],
    ["console"],
    ["apply", "{pipeline}"],
    ["hook", "install", "{repository}"],
]


@pytest.fixture
def names(tmp_path: Path) -> dict[str, str]:
    pipeline = write(tmp_path, minimal())
    repository = tmp_path / "repo"
    Repo(repository)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    return {"pipeline": str(pipeline), "repository": str(repository), "file": str(a_file)}


@pytest.mark.parametrize("command", STATE_COMMANDS + TOKEN_COMMANDS, ids=lambda c: c[0])
def test_data_naming_a_file_is_refused_by_every_command(
    capsys: pytest.CaptureFixture[str], names: dict[str, str], command: list[str]
) -> None:
    args = [arg.format(**names) for arg in command]
    code, _, err = cli(capsys, *args, "--data", names["file"])
    refused(code, err, f"argument --data: {names['file']} is a file, not a directory")


@pytest.mark.parametrize("command", STATE_COMMANDS, ids=lambda c: c[0])
def test_data_that_cannot_be_written_or_holds_garbage_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, names: dict[str, str], command: list[str]
) -> None:
    args = [arg.format(**names) for arg in command]
    code, _, err = cli(capsys, *args, "--data", f"{names['file']}/below")
    # Commands that only read (executions, show) refuse a folder that is not there at all
    reads = command[0] in {"executions", "show"}
    refused(
        code,
        err,
        "below does not exist, so it holds no runs" if reads else "below: cannot write there (Not a directory)",
    )
    with unwritable(tmp_path / "locked") as locked:
        code, _, err = cli(capsys, *args, "--data", str(locked))
        refused(code, err, f"argument --data: {locked}: cannot write there")
    for database in ("engine.sqlite", "pipelines.sqlite", "approvals.sqlite"):
        folder = garbage_data(tmp_path, database)
        code, _, err = cli(capsys, *args, "--data", str(folder))
        refused(code, err, f"{folder / database} is not a SQLite database")
        assert (folder / database).read_bytes().startswith(b"this is not SQLite")  # left for its owner


def test_a_garbage_database_found_later_is_named_not_unexpected(tmp_path: Path) -> None:
    # Given a data folder whose registry is garbage (past the CLI's check: a server, a test)
    folder = garbage_data(tmp_path, "pipelines.sqlite")
    # When the runtime opens it, Then the error names the file
    with pytest.raises(StoreError, match=r"cannot open the database .*pipelines\.sqlite: file is not a database"):
        LocalRuntime(folder, workers=0, runs_executions=False)
    wiring.reset()


@pytest.mark.parametrize(("given", "says"), [("99999", "99999 is not a port"), ("-1", "-1 is not a port"),
                                             ("65536", "65536 is not a port"), ("http", "'http' is not a port number")])  # fmt: skip
def test_serve_refuses_a_port_out_of_range(capsys: pytest.CaptureFixture[str], given: str, says: str) -> None:
    code, _, err = cli(capsys, "serve", f"--port={given}")
    refused(code, err, f"argument --port: {says}: use 1-65535, or 0 for any free port")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--data", "{folder}"], "is a directory: --data names the SQLite file"),
        (["--data", "{file}"], "is not a SQLite database (it does not start with SQLite's header)"),
        (["--input", "[" * 100_000], "--input nests arrays or objects too deeply to be read"),
    ],
    ids=["data-folder", "data-garbage", "deep-input"],
)
def test_asl_run_refuses_bad_data_and_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, names: dict[str, str], args: list[str], says: str
) -> None:
    definition = tmp_path / "ok.asl.json"
    definition.write_text('{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}')
    formatted = [arg.format(folder=tmp_path, **names) if len(arg) < 100 else arg for arg in args]
    code, _, err = cli(capsys, "asl", "run", str(definition), *formatted)
    refused(code, err, says)


def test_asl_run_refuses_a_definition_nested_past_the_stack(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    definition = tmp_path / "deep.asl.json"
    definition.write_text('{"StartAt": "P", "States": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, _, err = cli(capsys, "asl", "run", str(definition))
    refused(code, err, "the definition nests arrays or objects too deeply to be read")


# --- every command, one bad input each -----------------------------------------------------

EVERY_COMMAND: dict[str, list[tuple[list[str], str]]] = {
    "validate": [(["{deep}"], "nests deeper than 32 levels"), (["{folder}"], "is a directory")],
    "compile": [(["{deep}"], "nests deeper than 32 levels"), (["{pipeline}", "-o", "{file}/x"], "cannot write")],
    "graph": [(["{deep}"], "nests deeper than 32 levels"), (["{pipeline}", "--format", "svg"], "invalid choice")],
    "schema": [(["--format", "yaml"], "unrecognized arguments")],
    "asl run": [
        (["{deep}"], "the definition nests arrays or objects too deeply"),
        (["{definition}", "--input", "{{not json"], "--input is not JSON"),
        (["{definition}", "--function", "nocolon"], "write NAME=MODULE:CALLABLE"),
        (["{definition}", "--data", "{folder}"], "is a directory: --data names the SQLite file"),
    ],
    "approve": [
        (["e", "S", "A", "--comment", "c" * 513], "--comment is 513 characters long; at most 512"),
        (["e", "S", "A", "--reviewer", "r" * 101], "--reviewer is 101 characters long; at most 100"),
        (["e", "S", "A", "--data", "{file}"], "is a file, not a directory"),
    ],
    "reject": [(["e", "S", "A", "--comment", "c" * 513], "--comment is 513 characters long")],
    "approvals": [(["--data", "{file}"], "is a file, not a directory")],
    "disable-transition": [
        (["p", "S", "--reason", "  "], "--reason: give 1 to 300 characters saying why (got 0)"),
        (["p", "S", "--reason", "r" * 301], "(got 301)"),
    ],
    "enable-transition": [(["p"], "the following arguments are required: STAGE")],
    "transitions": [(["p", "--data", "{file}"], "is a file, not a directory")],
    "stop": [(["p", "e", "--reason", "r" * 201], "--reason is 201 characters long; at most 200")],
    "rollback": [(["p", "Stage"], "the following arguments are required: TARGET")],
    "deploy": [(["{deep}"], "nests deeper than 32 levels")],
    "start": [(["app", "--variable", "no-equals-sign"], "--variable 'no-equals-sign': write NAME=VALUE")],
    "run": [
        (["{deep}"], "nests deeper than 32 levels"),
        (["{pipeline}", "--source", "nothing"], "--source 'nothing': write NAME=PATH"),
        (["{pipeline}", "--data", "{file}"], "is a file, not a directory"),
    ],
    "executions": [(["--data", "{garbage}"], "is not a SQLite database")],
    "metrics": [(["p", "--data", "{garbage}"], "is not a SQLite database"), (["p", "--data", "{file}"], "is a file")],
    "show": [(["x", "--data", "{file}/below"], "below does not exist, so it holds no runs")],
    "serve": [(["--port", "99999"], "99999 is not a port"), (["--data", "{garbage}"], "is not a SQLite database")],
    "apply": [
        (["{deep}"], "nests deeper than 32 levels"),
        (["{pipeline}", "--data", "{file}"], "is a file"),
        (["{pipeline}", "--schedule", "every day"], "write rate(VALUE UNIT) or cron("),
    ],
    "console": [(["--data", "{file}"], "is a file, not a directory")],
    "hook install": [(["{folder}/absent"], "no such directory"), (["{repository}", "--data", "{file}"], "is a file")],
}


def command_names(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    for action in parser._actions:  # argparse lists its subcommands nowhere public
        if isinstance(action, argparse._SubParsersAction):
            return {name for word, sub in action.choices.items() for name in command_names(sub, f"{prefix} {word}")}
    return {prefix.strip()}


def test_the_table_has_every_command() -> None:
    assert command_names(_parser()) == set(EVERY_COMMAND)


@pytest.mark.parametrize(
    ("command", "args", "says"),
    [(command, args, says) for command, cases in EVERY_COMMAND.items() for args, says in cases],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else "",
)
def test_every_command_refuses_bad_input_with_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, names: dict[str, str], command: str, args: list[str], says: str
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(deep_json(100_000))
    definition = tmp_path / "ok.asl.json"
    definition.write_text('{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}')
    garbage = garbage_data(tmp_path, "engine.sqlite")
    paths = names | {"deep": str(deep), "definition": str(definition), "folder": str(tmp_path), "garbage": str(garbage)}
    code, out, err = cli(capsys, *command.split(), *(arg.format(**paths) for arg in args))
    refused(code, out + err, says)
    assert len([line for line in err.splitlines() if line.startswith("stepline")]) <= 1


# --- names that are folders ----------------------------------------------------------------


def test_segments_keep_names_apart_and_inside_their_folder() -> None:
    assert [segment(name) for name in ("..", ".", "...", "a.b", "a/b", "100%", "sample-app")] == [
        "%2E%2E",
        "%2E",
        "...",
        "a.b",
        "a%2Fb",
        "100%25",
        "sample-app",
    ]


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_a_segment_is_one_harmless_component_and_distinct_names_stay_distinct(first: str, second: str) -> None:
    for name in (first, second):
        part = segment(name)
        assert part not in {".", ".."}
        assert "/" not in part
        assert "\x00" not in part
    assert (segment(first) == segment(second)) == (first == second)


def test_a_pipeline_named_dot_dot_runs_and_writes_only_inside_its_folders(tmp_path: Path) -> None:
    # Given a pipeline, stages, actions and an execution all named with dots, which CodePipeline
    # accepts ([A-Za-z0-9.@\-_]+) and validate therefore accepts
    repo = Repo(tmp_path / "app")
    repo.commit("first", {"a.txt": "hello"})
    document = {
        "name": "..",
        "pipelineType": "V2",
        "executionMode": "PARALLEL",
        "stages": [
            {"name": "..", "actions": [{
                "name": ".", "actionTypeId": {"category": "Source", "owner": "Custom", "provider": "Git", "version": "1"},
                "configuration": {"RepositoryUrl": str(repo.path), "BranchName": "main"},
                "outputArtifacts": [{"name": "Src"}],
            }]},
            {"name": ".", "actions": [{
                "name": "..", "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                "inputArtifacts": [{"name": "Src"}], "commands": ["cat a.txt"],
                "outputArtifacts": [{"name": "Out"}],
            }]},
        ],
    }  # fmt: skip
    assert check_file(write(tmp_path, document)).valid
    data = tmp_path / "data"
    runtime = LocalRuntime(data, workers=0)
    try:
        # When it runs
        entry = runtime.apply(valid_pipeline(document, "dots").pipeline)
        described = runtime.engine.run_until_done(runtime.start(entry.name, name=".."), timeout=GENEROUS_SECONDS)
    finally:
        runtime.close()
    # Then it succeeds, its artifacts and log in folders of their own names, encoded
    assert described["status"] == "SUCCEEDED", described.get("cause")
    folder = Path("%2E%2E") / "%2E%2E"
    assert sorted(p.name for p in (data / "artifacts" / folder).iterdir()) == ["Out.zip", "Src.zip"]
    assert (data / "logs" / folder / ".....log").read_text().count("hello") >= 1
    # And nothing was written outside the data folder, nor outside its artifact and log folders
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app", "data", "pipeline.json"]
    named = {path.relative_to(data).parts[0] for path in data.rglob("*") if "%2E" in path.name or path.name == ".."}
    assert named == {"artifacts", "logs"}


def test_the_artifact_store_keeps_dot_names_inside_its_root(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    reference = store.put("..", "..", "Src", archive)
    assert reference["location"].endswith("/store/%252E%252E/%252E%252E/Src.zip")  # as a file URI
    assert (tmp_path / "store" / "%2E%2E" / "%2E%2E" / "Src.zip").is_file()
    store.get(reference, tmp_path / "back.zip")
    assert (tmp_path / "back.zip").read_bytes() == archive.read_bytes()


# --- lengths said as the rule says them ------------------------------------------------------


@pytest.mark.parametrize(
    ("store", "says"),
    [
        ({"artifactStore": {"type": "S3", "location": "a"}}, "artifactStore.location: is 1 character long; it must have 3 to 63 characters"),
        ({"artifactStore": {"type": "S3", "location": ""}}, "artifactStore.location: is empty; it must have 3 to 63 characters"),
        ({"artifactStores": {"us-east-1": {"type": "S3", "location": "ab"}}}, "artifactStores.us-east-1.location: is 2 characters long; it must have 3 to 63"),
        ({"artifactStores": {"eu": {"type": "S3", "location": "bucket"}}}, "artifactStores.eu: is 2 characters long; it must have 4 to 30 characters"),
    ],
    ids=["one-character", "empty", "per-region", "region-name"],
)  # fmt: skip
def test_a_bucket_name_too_short_is_told_the_length_rule(tmp_path: Path, store: dict[str, Any], says: str) -> None:
    problems = [str(problem) for problem in check_file(write(tmp_path, minimal() | store)).problems]
    assert says in " ".join(problems), problems


# --- the review form -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "length", "says"),
    [("reviewer", 101, "Your name is 101 characters long; at most 100 are allowed"),
     ("comment", 513, "The comment is 513 characters long; at most 512 are allowed")],
)  # fmt: skip
def test_an_overlong_name_or_comment_in_the_review_form_is_a_400_page_and_decides_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], field: str, length: int,
    says: str,
) -> None:  # fmt: skip
    # Given a pending approval and its review form
    answers: list[Any] = []

    class Recorded:
        def succeed(self, token: str, output: Any) -> None:
            answers.append(output)

        def fail(self, token: str, error: str, cause: str) -> None:
            answers.append(cause)

    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / "data"))
    wiring.reset()
    wiring.install_local_callbacks(Recorded())
    wiring.install_clock(lambda: 1_790_000_000.0)
    try:
        approval = load_handler("approval").lambda_handler(load_event("approval/request.json"), None)["approval"]
        signature = capsys.readouterr().err.split("?sig=")[1].split()[0]
        page = load_event("api/review.json") | {
            "path": f"/approvals/{approval}",
            "queryStringParameters": {"sig": signature},
        }
        opened = handle(page, None)
        hidden = dict(re_hidden(opened["body"]))
        csrf = opened["multiValueHeaders"]["Set-Cookie"][0].split(";")[0].split("=", 1)[1]
        form = hidden | {"decision": "approve", "reviewer": "Ada", "comment": "ok"} | {field: "x" * length}
        post = load_event("api/decide.json") | {"path": f"/approvals/{approval}", "body": urlencode(form)}
        post["headers"] = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"stepline_csrf={csrf}"}
        # When the form is sent with a field over its limit
        answer = handle(post, None)
        # Then a 400 page names the limit (a 500 before), and nothing is decided
        assert answer["statusCode"] == 400, answer["body"]
        assert says in answer["body"]
        assert answers == []
        assert len(wiring.approvals().pending()) == 1
    finally:
        wiring.reset()


def re_hidden(body: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', body)


# --- a full disk under stepline run ----------------------------------------------------------


def test_a_full_disk_under_a_run_is_reported_and_the_run_resumes_later(tmp_path: Path) -> None:
    # Given a pipeline started on the local runtime
    repo = Repo(tmp_path / "app")
    repo.commit("first", {"buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands: ['echo built']\n"})
    document = {
        "name": "app", "pipelineType": "V2", "executionMode": "PARALLEL",
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": {"category": "Source", "owner": "Custom", "provider": "Git", "version": "1"},
                "configuration": {"RepositoryUrl": str(repo.path), "BranchName": "main"}, "outputArtifacts": [{"name": "Src"}],
            }]},
            {"name": "Build", "actions": [{
                "name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "app"}, "inputArtifacts": [{"name": "Src"}],
            }]},
        ],
    }  # fmt: skip
    data = tmp_path / "data"
    runtime = LocalRuntime(data, workers=1)
    try:
        entry = runtime.apply(valid_pipeline(document, "app").pipeline)
        execution = runtime.start(entry.name, name="first")
        # When the disk is full as the worker starts (SQLite's own SQLITE_FULL)
        pages = runtime.engine.store.query("PRAGMA page_count")[0][0]
        runtime.engine.store.db.execute(f"PRAGMA max_page_count = {pages}")
        runtime.start_worker()
        assert runtime._worker is not None
        runtime._worker.join(timeout=GENEROUS_SECONDS)  # the worker ends: it cannot write
        assert not runtime._worker.is_alive()
        # Then reading the run (what stepline run's poll does) says so, in one line
        with pytest.raises(StoreFull, match="is full: the last step was not written"):
            runtime.run_of(execution)
    finally:
        runtime.close()
    # And, with room again, the execution finishes where it stopped
    again = LocalRuntime(data, workers=0)
    try:
        described = again.engine.run_until_done(execution, timeout=GENEROUS_SECONDS)
        assert described["status"] == "SUCCEEDED", described.get("cause")
        assert again.run_of(execution).status == "Succeeded"
    finally:
        again.close()
