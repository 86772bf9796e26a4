"""GitHub sources through the REST API: the commit's metadata, and its tarball turned into a zip.

Used for ``Source/AWS/CodeStarSourceConnection`` (``FullRepositoryId``) and
``Source/ThirdParty/GitHub`` (``Owner``/``Repo``), with a token from the secret store. The
tarball is converted entry by entry with the same rules as any artifact: no absolute paths,
no ``..``, no links leading outside, a size cap.
"""

from __future__ import annotations

import json
import posixpath
import stat
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote

from stepline.actions.errors import SourceAccessError, SourceNotFoundError, TransientActionError
from stepline.archives import MAX_UNPACKED_BYTES
from stepline.ports.secrets import SecretStore
from stepline.ports.sources import Revision, SourceRequest, git_variables

API = "https://api.github.com"


@dataclass
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: IO[bytes]
    extra: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        lowered = {key.lower(): value for key, value in self.headers.items()}
        return lowered.get(name.lower())


class HttpClient(Protocol):
    def get(self, url: str, headers: Mapping[str, str]) -> HttpResponse:
        """One GET; redirects are *not* followed (the caller decides what to forward)."""
        ...


def api_headers(token: str) -> dict[str, str]:
    """What every call to GitHub's REST API sends: the token goes to the API host only."""
    return {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "stepline",
    }


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibHttpClient:
    def __init__(self, timeout: float = 30) -> None:
        self.timeout = timeout
        self.opener = urllib.request.build_opener(_NoRedirects())

    def get(self, url: str, headers: Mapping[str, str]) -> HttpResponse:
        request = urllib.request.Request(url, headers=dict(headers))  # noqa: S310 - https URLs built here
        try:
            response = self.opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            return HttpResponse(error.code, dict(error.headers), error)
        except (urllib.error.URLError, TimeoutError) as error:
            raise TransientActionError(f"GitHub could not be reached: {error}") from None
        return HttpResponse(response.status, dict(response.headers), response)


class GitHubSource:
    def __init__(self, http: HttpClient, secrets: SecretStore, token_secret: str) -> None:
        self.http = http
        self.secrets = secrets
        self.token_secret = token_secret

    def fetch(self, request: SourceRequest, archive: Path) -> dict[str, str]:
        provider, configuration = request.provider, request.configuration
        if provider == "GitHub":
            owner_repo, branch = f"{configuration['Owner']}/{configuration['Repo']}", configuration["Branch"]
        else:
            owner_repo, branch = configuration["FullRepositoryId"], configuration["BranchName"]
        branch = request.branch(branch) or branch
        reference = request.commit() or branch
        try:
            token = self.secrets.get(self.token_secret)
        except LookupError as error:
            raise SourceAccessError(f"GitHub {owner_repo}: no token: {error}") from None
        headers = api_headers(token)
        commit = self._json(
            f"{API}/repos/{owner_repo}/commits/{quote(reference, safe='')}", headers, owner_repo, reference
        )
        sha = str(commit["sha"])
        response = self.http.get(f"{API}/repos/{owner_repo}/tarball/{sha}", headers)
        if response.status in {301, 302, 303, 307, 308}:
            location = response.header("Location") or ""
            # The download link is pre-signed: the token is not sent to another host.
            response = self.http.get(location, {"User-Agent": "stepline"})
        _check(response, owner_repo, sha)
        tarball_to_zip(response.body, archive, f"GitHub {owner_repo}@{sha[:12]}")
        details = commit.get("commit", {})
        revision = Revision(
            sha,
            branch,
            str(details.get("message", "")).strip(),
            str(details.get("author", {}).get("date", "")),
            str(details.get("committer", {}).get("date", "")),
        )
        return git_variables(provider, revision, configuration, owner_repo.split("/")[-1])

    def _json(self, url: str, headers: Mapping[str, str], owner_repo: str, reference: str) -> dict[str, Any]:
        response = self.http.get(url, headers)
        _check(response, owner_repo, reference)
        try:
            loaded: dict[str, Any] = json.loads(response.body.read())
        except ValueError:
            raise SourceAccessError(f"GitHub {owner_repo}: the API answered with something that is not JSON") from None
        return loaded


def _check(response: HttpResponse, owner_repo: str, reference: str) -> None:
    status = response.status
    if 200 <= status < 300:
        return
    where = f"GitHub {owner_repo}@{reference}"
    if status == 401:
        raise SourceAccessError(f"{where}: GitHub refused the token (401 Bad credentials)")
    if status in {403, 429} and (response.header("X-RateLimit-Remaining") == "0" or response.header("Retry-After")):
        reset = response.header("X-RateLimit-Reset")
        wait = response.header("Retry-After")
        when = (
            f"in {wait} seconds"
            if wait
            else f"at {time.strftime('%H:%M:%S UTC', time.gmtime(int(reset)))}"
            if reset
            else "later"
        )
        raise TransientActionError(f"{where}: GitHub's API rate limit is exhausted; it resets {when}")
    if status == 403:
        raise SourceAccessError(f"{where}: the token may not read this repository (403)")
    if status == 404:
        raise SourceNotFoundError(f"{where}: no such repository or commit, or the token cannot see it (404)")
    if status >= 500:
        raise TransientActionError(f"{where}: GitHub answered {status}")
    raise SourceAccessError(f"{where}: GitHub answered {status}")


def tarball_to_zip(stream: IO[bytes], archive: Path, label: str, max_bytes: int = MAX_UNPACKED_BYTES) -> int:
    """Rewrite a (gzipped) tarball as a zip, dropping its top folder, refusing unsafe entries."""
    total = 0
    count = 0
    try:
        with (
            tarfile.open(fileobj=stream, mode="r|*") as tar,
            zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle,
        ):
            for member in tar:
                name = _inside_top_folder(member.name, label)
                if name is None or member.isdir():
                    continue
                if member.issym():
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
                    if member.linkname.startswith("/") or target.startswith(".."):
                        raise SourceAccessError(
                            f"{label}: the link {name} points outside the repository ({member.linkname})"
                        )
                    info = zipfile.ZipInfo(name)
                    info.create_system = 3
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    bundle.writestr(info, member.linkname)
                elif member.isfile():
                    total += member.size
                    if total > max_bytes:
                        raise SourceAccessError(f"{label}: the tarball unpacks to more than {max_bytes:,} bytes")
                    reader = tar.extractfile(member)
                    assert reader is not None
                    info = zipfile.ZipInfo(name)
                    info.external_attr = (stat.S_IFREG | (0o755 if member.mode & 0o111 else 0o644)) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with bundle.open(info, "w") as writer:
                        while chunk := reader.read(1024 * 1024):
                            writer.write(chunk)
                else:
                    raise SourceAccessError(f"{label}: {name} is neither a file, a folder nor a symbolic link")
                count += 1
    except (tarfile.TarError, EOFError, OSError) as error:
        raise SourceAccessError(f"{label}: the tarball is corrupt ({error})") from None
    return count


def _inside_top_folder(name: str, label: str) -> str | None:
    parts = [part for part in name.split("/") if part not in {"", "."}]
    if name.startswith("/") or ".." in parts:
        raise SourceAccessError(f"{label}: the entry {name} would be written outside the repository")
    if parts and parts[0] == "pax_global_header":
        return None
    return "/".join(parts[1:]) or None
