"""Packing and unpacking artifacts, and refusing archives that try to escape or explode."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.archives import ArchiveError, Limits, pack_directory, unpack
from stepline.ports.artifacts import ArtifactNotFound, get_into, put_directory


def tree(root: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[relative] = "-> " + os.readlink(path)
        elif path.is_file():
            found[relative] = path.read_text()
    return found


def test_a_directory_round_trips_with_links_and_modes(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "bin").mkdir(parents=True)
    (source / "bin" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (source / "bin" / "run.sh").chmod(0o755)
    (source / "README.md").write_text("readme")
    (source / "docs").symlink_to("bin")
    (source / "latest").symlink_to("README.md")
    archive = tmp_path / "a.zip"
    assert pack_directory(source, archive) == 4
    target = tmp_path / "out"
    unpack(archive, target)
    assert tree(target) == {
        "README.md": "readme",
        "bin/run.sh": "#!/bin/sh\necho hi\n",
        "docs": "-> bin",
        "latest": "-> README.md",
    }
    assert os.stat(target / "bin" / "run.sh").st_mode & stat.S_IXUSR


def _zip(path: Path, entries: list[tuple[str, bytes]], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in entries:
            bundle.writestr(name, data)
        for name, pointee in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, pointee)
    return path


@pytest.mark.parametrize(
    ("entries", "links", "message"),
    [
        (
            [("../../etc/cron.d/evil", b"x")],
            None,
            "the entry ../../etc/cron.d/evil would be written outside the target directory",
        ),
        ([("ok/../../escape", b"x")], None, "would be written outside the target directory"),
        ([("/etc/passwd", b"x")], None, "the entry /etc/passwd has an absolute path"),
        ([("C:/Windows/evil", b"x")], None, "has an absolute path"),
        (
            [("fine.txt", b"x")],
            {"passwords": "/etc/passwd"},
            "the symbolic link passwords points outside the artifact (/etc/passwd)",
        ),
        (
            [("fine.txt", b"x")],
            {"up": "../../outside"},
            "the symbolic link up points outside the artifact (../../outside)",
        ),
        ([("fine.txt", b"x")], {"loop": "inner/../../.."}, "points outside the artifact"),
    ],
)
def test_escaping_archives_are_refused_and_write_nothing(
    tmp_path: Path, entries: list[tuple[str, bytes]], links: dict[str, str] | None, message: str
) -> None:
    archive = _zip(tmp_path / "evil.zip", entries, links)
    target = tmp_path / "target" / "inner"
    with pytest.raises(ArchiveError) as caught:
        unpack(archive, target)
    assert message in str(caught.value)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "etc").exists()
    assert not (tmp_path / "target" / "outside").exists()


def test_links_inside_the_artifact_are_kept(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "ok.zip", [("lib/real.txt", b"x")], {"alias": "lib/real.txt", "lib/up": "../lib"})
    unpack(archive, tmp_path / "out")
    assert (tmp_path / "out" / "alias").read_text() == "x"


def test_oversized_and_overcrowded_archives_are_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "big.zip", [("a", b"0" * 2000), ("b", b"1" * 2000)])
    with pytest.raises(ArchiveError) as caught:
        unpack(archive, tmp_path / "out", Limits(max_bytes=3000))
    assert "unpacks to 4,000 bytes; at most 3,000 are allowed" in str(caught.value)
    with pytest.raises(ArchiveError) as caught:
        unpack(archive, tmp_path / "out", Limits(max_entries=1))
    assert "has 2 entries; at most 1 are unpacked" in str(caught.value)


def test_an_entry_larger_than_its_header_declares_is_refused(tmp_path: Path) -> None:
    # Given an archive whose header under-states an entry's size (a classic bomb trick)
    archive = _zip(tmp_path / "liar.zip", [("payload", b"A" * 10_000)])
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as bundle:
        info = bundle.getinfo("payload")
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")  # uncompressed size in the central directory
    archive.write_bytes(bytes(data))
    assert info.file_size == 10_000
    with pytest.raises(ArchiveError) as caught:
        unpack(archive, tmp_path / "out")
    assert "liar.zip" in str(caught.value)
    assert not (tmp_path / "out" / "payload").exists()


def test_a_corrupt_archive_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ArchiveError) as caught:
        unpack(broken, tmp_path / "out")
    assert "broken.zip is not a readable zip archive" in str(caught.value)


def test_the_local_store_round_trips_and_stays_inside_its_root(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "store")
    source = tmp_path / "build"
    source.mkdir()
    (source / "app.jar").write_text("jar")
    (source / "notes.txt").write_text("skip me")
    reference = put_directory(store, "payments", "exec-1", "Package", source, [Path("app.jar")])
    assert reference == {
        "type": "Local",
        "location": (tmp_path / "store" / "payments" / "exec-1" / "Package.zip").resolve().as_uri(),
    }
    assert get_into(store, reference, tmp_path / "fetched") == ["app.jar"]
    with pytest.raises(ArtifactNotFound):
        store.get({"type": "Local", "location": "file:///etc/passwd"}, tmp_path / "x.zip")
    with pytest.raises(ArtifactNotFound):
        store.get({"type": "S3", "location": "s3://b/k"}, tmp_path / "x.zip")


def _deflated_zeros(path: Path, expanded: int) -> Path:
    """A zip of one entry of ``expanded`` zero bytes, built without deflating them all: after a
    full flush a deflate stream starts afresh, so each MiB of zeros compresses to the same
    bytes, which are written ``expanded / MiB`` times (about 1 KB each)."""
    mib = 1024 * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(mib)) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = block * (expanded // mib) + compressor.flush(zlib.Z_FINISH)
    crc = 0
    zeros = bytes(mib)
    for _ in range(expanded // mib):
        crc = zlib.crc32(zeros, crc)
    name = b"zeros.bin"
    sizes = struct.pack("<III", crc, len(stream), expanded)
    local = struct.pack("<IHHHHH", 0x04034B50, 20, 0, 8, 0, 0) + sizes + struct.pack("<HH", len(name), 0) + name
    central = (
        struct.pack("<IHHHHHH", 0x02014B50, 20, 20, 0, 8, 0, 0)
        + sizes
        + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, 0)
        + name
    )
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(stream), 0)
    path.write_bytes(local + stream + central + end)
    return path


def test_a_zip_that_expands_a_thousandfold_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    # Given a 1 MB zip of 1 GiB
    bomb = _deflated_zeros(tmp_path / "bomb.zip", 1024**3)
    assert bomb.stat().st_size < 1_100_000
    with zipfile.ZipFile(bomb) as bundle:
        assert bundle.getinfo("zeros.bin").file_size == 1024**3
    # When it is unpacked, Then it is refused, naming both sizes and the rule, and nothing is written
    with pytest.raises(ArchiveError) as caught:
        unpack(bomb, tmp_path / "out")
    message = str(caught.value)
    assert f"bomb.zip is {bomb.stat().st_size:,} bytes and unpacks to 1,073,741,824" in message
    assert "may unpack to at most 100 times its size" in message
    assert not (tmp_path / "out").exists()


def test_a_small_zip_may_compress_very_well(tmp_path: Path) -> None:
    # Given 8 MiB of zeros in a zip of a few KB (a thousandfold, but below the ratio's floor)
    archive = _deflated_zeros(tmp_path / "padding.zip", 8 * 1024**2)
    # When it is unpacked, Then it is, whole
    assert unpack(archive, tmp_path / "out") == ["zeros.bin"]
    assert (tmp_path / "out" / "zeros.bin").read_bytes() == bytes(8 * 1024**2)
