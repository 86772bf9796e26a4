"""The SourceHeads port on one machine: a polled CodeCommit or GitHub source's branch head in
the local repository it is mapped to (``--source NAME=PATH``, as the source action reads it)."""

from __future__ import annotations

from collections.abc import Mapping

from stepline.adapters.local.sources import LocalGitSources


class LocalSourceHeads:
    def __init__(self, sources: LocalGitSources) -> None:
        self.sources = sources

    def head(self, provider: str, configuration: Mapping[str, str]) -> str:
        if provider == "S3":
            raise LookupError("S3 sources are read on AWS only; locally nothing polls them")
        repository, _, branch = self.sources.repository(provider, configuration)
        return repository.resolve(branch).commit_id
