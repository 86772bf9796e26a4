"""Real git repositories for tests, made with the git CLI and a fixed identity and clock."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Reviewer",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Reviewer",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


class Repo:
    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", f"--initial-branch={branch}")
        self.clock = 1_767_225_600  # 2026-01-01T00:00:00Z

    def git(self, *arguments: str) -> str:
        environment = {
            **os.environ,
            **IDENTITY,
            "GIT_AUTHOR_DATE": f"@{self.clock_value()} +0000",
            "GIT_COMMITTER_DATE": f"@{self.clock_value()} +0000",
        }
        return subprocess.run(
            ["git", *arguments], cwd=self.path, env=environment, check=True, capture_output=True, text=True
        ).stdout

    def clock_value(self) -> int:
        return getattr(self, "clock", 1_767_225_600)

    def write(self, files: dict[str, str | bytes]) -> None:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(self, message: str, files: dict[str, str | bytes] | None = None, *, allow_empty: bool = False) -> str:
        self.clock += 60
        self.write(files or {})
        self.git("add", "-A")
        self.git("commit", "--quiet", "-m", message, *(["--allow-empty"] if allow_empty else []))
        return self.git("rev-parse", "HEAD").strip()
