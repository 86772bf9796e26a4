"""The Git source action and the buildspec runner, each beside the plain tool doing the same work.

- Packing a generated repository (10,000 files, ~100 MB) as a source artifact — resolving the
  commit, archiving it and storing it — beside ``git archive --format=zip`` of the same commit.
- Running a trivial buildspec beside ``bash -c`` of the same commands: the runner's overhead.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

from bench.timing import compare, interleaved, spread
from stepline.actions.build.buildspec import parse_buildspec
from stepline.actions.build.runner import BuildRequest, run_build
from stepline.actions.request import ActionRequest
from stepline.actions.source import run_source_action
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.adapters.local.sources import LocalGitSources
from tests.gitrepo import Repo
from tests.helpers import load_event

FILES, MEGABYTES = 10_000, 100


def make_repository(root: Path) -> Repo:
    repo = Repo(root / "big")
    chance = random.Random(7)
    size = MEGABYTES * 1024 * 1024 // FILES
    for index in range(FILES):
        folder = repo.path / f"pkg{index % 100:02d}"
        folder.mkdir(exist_ok=True)
        # Half compressible text, half random bytes: like source trees with some assets.
        body = (f"line {index}\n" * (size // 20)).encode() if index % 2 else chance.randbytes(size)
        (folder / f"file{index}.dat").write_bytes(body)
    repo.commit("a big tree")
    return repo


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        began = time.perf_counter()
        repo = make_repository(root)
        print(f"(generated {FILES:,} files, {MEGABYTES} MB, in {time.perf_counter() - began:.0f} s)")
        event = load_event("source/git-push.json")
        event["action"]["configuration"]["RepositoryUrl"] = str(repo.path)
        event["trigger"] = {}
        request = ActionRequest.model_validate(event)
        sources = LocalGitSources(root, root / "cache")
        store = LocalArtifactStore(root / "artifacts")
        target = root / "plain.zip"
        compare(
            f"source: a {FILES:,}-file, {MEGABYTES} MB commit as an artifact",
            ("stepline Git source action", lambda: run_source_action(request, sources, store)),
            (
                "git archive --format=zip",
                lambda: subprocess.run(
                    ["git", "archive", "--format=zip", "-o", str(target), "HEAD"], cwd=repo.path, check=True
                ),
            ),
            rounds=3,
        )

        source = root / "src"
        source.mkdir()
        commands = ["echo building", "x=$((6 * 7))", "test $x -eq 42"]
        spec = parse_buildspec(
            "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join(f"      - '{c}'\n" for c in commands), "b"
        )
        build = BuildRequest(source=source, buildspec=spec, log=root / "build.log")
        samples = interleaved(
            {
                "ours": (lambda: run_build(build), 1),
                "bash": (
                    lambda: subprocess.run(
                        ["bash", "-c", "; ".join(commands)],
                        cwd=source,
                        check=True,
                        stdout=subprocess.DEVNULL,
                        env=dict(os.environ),
                    ),
                    1,
                ),
            },
            rounds=10,
        )
        print("runner: a trivial buildspec (3 commands), ms, median (min–max) of 10 interleaved rounds")
        for label, side in (("stepline buildspec runner   ", "ours"), ("bash -c of the same commands", "bash")):
            print(f"  {label}  cpu {spread(samples[side].cpu, digits=1)}  wall {spread(samples[side].wall, digits=1)}")
        overhead = [ours - peer for ours, peer in zip(samples["ours"].wall, samples["bash"].wall, strict=True)]
        print(f"  runner overhead (each round's difference): {spread(overhead, digits=1)} ms")
