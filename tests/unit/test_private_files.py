"""What Stepline keeps on one machine is its user's alone: folders 0700, files 0600, set on
each file as it is made (no process umask, which the user's builds would inherit)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from stepline.adapters.local import open_database, private_data_directory
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.adapters.local.records import FileRecords
from stepline.adapters.local.waiters import SqliteWaiters


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_data_directory_an_earlier_version_left_open_is_closed(tmp_path: Path) -> None:
    # Given a data directory written with the usual umask: 0755 folders, 0644 files
    data = tmp_path / ".stepline"
    (data / "tokens").mkdir(parents=True)
    (data / "api-token").write_text("secret")
    for path in (data, data / "tokens"):
        path.chmod(0o755)
    (data / "api-token").chmod(0o644)
    umask = os.umask(0o022)
    os.umask(umask)
    # When the runtime opens it
    private_data_directory(data, files=("engine.sqlite", "engine.lock"))
    # Then it is 0700, what is in it is tightened, and the files it names are made 0600
    assert mode(data) == 0o700
    assert (mode(data / "tokens"), mode(data / "api-token")) == (0o700, 0o600)
    assert (mode(data / "engine.sqlite"), mode(data / "engine.lock")) == (0o600, 0o600)
    # And the process's umask is what it was: the user's builds still see theirs
    now = os.umask(umask)
    assert now == umask


def test_databases_with_their_wal_and_shm_are_0600(tmp_path: Path) -> None:
    database = open_database(tmp_path / "data" / "approvals.sqlite", "CREATE TABLE t (x);")
    database.execute("INSERT INTO t VALUES (1)")
    assert mode(tmp_path / "data") == 0o700
    for name in ("approvals.sqlite", "approvals.sqlite-wal", "approvals.sqlite-shm"):
        assert mode(tmp_path / "data" / name) == 0o600, name
    database.close()


def test_artifacts_records_and_waiters_are_0600_in_0700_folders(tmp_path: Path) -> None:
    archive = tmp_path / "built.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    archive.chmod(0o644)
    reference = LocalArtifactStore(tmp_path / "artifacts").put("app", "run-1", "Package", archive)
    stored = Path(reference["location"].removeprefix("file://"))
    assert mode(stored) == 0o600
    assert [mode(folder) for folder in (stored.parent, stored.parent.parent, tmp_path / "artifacts")] == [0o700] * 3
    FileRecords(tmp_path / "records").put("ecs#1", {"taskDefinition": "arn"})
    [record] = (tmp_path / "records").iterdir()
    assert (mode(tmp_path / "records"), mode(record)) == (0o700, 0o600)
    from stepline.ports.waiters import Waiter

    waiters = SqliteWaiters(tmp_path / "waiters" / "waiters.sqlite")  # task tokens live here
    waiters.register(Waiter(key="sfn#1", kind="sfn", token="t", action="Test.Smoke"), now=1.0)
    assert mode(tmp_path / "waiters") == 0o700
    assert {mode(path) for path in (tmp_path / "waiters").iterdir()} == {0o600}
    waiters.close()
