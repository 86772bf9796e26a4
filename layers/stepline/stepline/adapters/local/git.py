"""Git repositories on this machine, by path or by URL (mirrored into a cache), through the git CLI.

A source artifact is ``git archive --format=zip`` of the commit: exactly the commit's tree,
no ``.git``, ``export-ignore`` paths left out, symbolic links kept as links.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from stepline.actions.errors import SourceAccessError, SourceNotFoundError
from stepline.adapters.local import private_folder
from stepline.errors import ConfigurationError
from stepline.ports.sources import Revision

_URL_PREFIXES = ("http://", "https://", "ssh://", "git://", "file://", "git@")


def _git(*arguments: str, cwd: Path | None = None) -> str:
    if shutil.which("git") is None:
        raise ConfigurationError("git is not installed on this machine (make install adds it)")
    # The program is fixed ("git" from PATH); arguments are data, never a shell line.
    completed = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603, S607
    if completed.returncode != 0:
        raise _GitFailed(completed.stderr.strip() or completed.stdout.strip())
    return completed.stdout


class _GitFailed(Exception):
    pass


class GitRepository:
    """A repository Stepline reads commits from: a local path, or a URL mirrored under ``cache``."""

    def __init__(self, location: str, cache: Path, label: str | None = None) -> None:
        self.location = location
        self.label = label or location
        self.cache = cache
        self._path: Path | None = None

    @property
    def name(self) -> str:
        return Path(self.location.rstrip("/")).name.removesuffix(".git")

    def path(self) -> Path:
        if self._path is None:
            self._path = self._mirror() if self.location.startswith(_URL_PREFIXES) else self._local()
        return self._path

    def _local(self) -> Path:
        path = Path(self.location).expanduser()
        if not path.exists():
            raise SourceNotFoundError(f"{self.label}: {path} does not exist")
        try:
            _git("rev-parse", "--git-dir", cwd=path)
        except _GitFailed:
            raise SourceNotFoundError(f"{self.label}: {path} is not a git repository") from None
        return path

    def _mirror(self) -> Path:
        mirror = self.cache / hashlib.sha256(self.location.encode()).hexdigest()[:16]
        try:
            if (mirror / "HEAD").exists():
                _git("fetch", "--prune", "--quiet", "origin", "+refs/*:refs/*", cwd=mirror)
            else:
                private_folder(self.cache)
                _git("clone", "--mirror", "--quiet", self.location, str(mirror))
        except _GitFailed as error:
            raise SourceAccessError(f"{self.label}: cannot fetch {self.location}: {error}") from None
        return mirror

    def default_branch(self) -> str:
        try:
            return _git("symbolic-ref", "--short", "HEAD", cwd=self.path()).strip()
        except _GitFailed:
            raise SourceNotFoundError(f"{self.label}: the repository has no default branch") from None

    def resolve(self, branch: str | None, commit: str | None = None) -> Revision:
        """The commit to build: the one named (by a trigger) or the head of ``branch``."""
        branch = branch or self.default_branch()
        target = commit or f"refs/heads/{branch}"
        try:
            commit_id = _git("rev-parse", "--verify", "--quiet", f"{target}^{{commit}}", cwd=self.path()).strip()
        except _GitFailed:
            commit_id = ""
        if not commit_id:
            if commit:
                raise SourceNotFoundError(f"{self.label}: commit {commit} is not in the repository") from None
            branches = _git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=self.path()).split()
            listing = ", ".join(branches) or "none"
            raise SourceNotFoundError(f"{self.label}: branch {branch!r} does not exist (branches: {listing})")
        fields = _git("show", "-s", "--format=%B%x00%aI%x00%cI", commit_id, cwd=self.path()).split("\x00")
        return Revision(commit_id, branch, fields[0].strip(), fields[1].strip(), fields[2].strip())

    def archive(self, commit_id: str, destination: Path) -> None:
        try:
            _git("archive", "--format=zip", "-o", str(destination), commit_id, cwd=self.path())
        except _GitFailed as error:
            raise SourceAccessError(f"{self.label}: cannot archive {commit_id}: {error}") from None


class GitChangedPaths:
    """The ChangedPaths port on a repository on this machine (``git diff --name-only``)."""

    def between(self, repository: str, old_commit: str, new_commit: str) -> set[str]:
        location = Path(repository)
        try:
            if old_commit:
                listed = _git("diff", "--name-only", "--no-renames", old_commit, new_commit, cwd=location)
            else:
                listed = _git("ls-tree", "-r", "--name-only", new_commit, cwd=location)
        except _GitFailed as failed:
            raise ConfigurationError(f"{repository}: cannot list the files changed: {failed}") from None
        return {line for line in listed.splitlines() if line}
