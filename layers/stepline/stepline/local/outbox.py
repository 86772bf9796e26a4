"""Pushes a git hook kept while `stepline serve` could not be reached (``stepline.local.hooks``):
reported when the server next starts, each through the hook route's own trigger logic.

A kept push is removed only once it is handled, so a crash in between reports it again at the
next start, which starts nothing new: executions are named by the push (ref, before, after).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from stepline.api.local import GitPush, start_from_hook
from stepline.api.problems import ApiProblem
from stepline.local.hooks import OUTBOX, say
from stepline.observability import logger


def drain(data: Path) -> list[str]:
    """Start what each kept push starts, oldest first; what happened, as lines to print."""
    folder = data / OUTBOX
    if not folder.is_dir():
        return []
    lines = []
    for kept in sorted(folder.glob("*.json"), key=lambda path: path.stat().st_mtime_ns):
        try:
            push = GitPush.model_validate_json(kept.read_bytes())
            report = start_from_hook(push)
        except (ValidationError, ApiProblem) as error:
            # Never a push worth trying again: set aside, named, so it is not read at every start.
            os.replace(kept, kept.with_suffix(".rejected"))
            reason = error.errors()[0]["msg"] if isinstance(error, ValidationError) else error.detail
            lines.append(f"stepline: a kept push in {kept} is unreadable ({reason}); set aside as .rejected")
            continue
        except Exception as error:  # the engine or a repository failed: keep it for the next start
            logger.exception("a kept push could not be reported", extra={"file": str(kept)})
            lines.append(f"stepline: a kept push in {kept} could not be reported yet ({error}); kept")
            continue
        kept.unlink()
        move = {"ref": push.ref, "before": push.before, "after": push.after}
        said = "; ".join(line.removeprefix("stepline: ") for line in say(report.as_json(), move))
        lines.append(f"stepline: a push kept while the server was down, {push.ref} of {push.repository}: {said}")
    return lines
