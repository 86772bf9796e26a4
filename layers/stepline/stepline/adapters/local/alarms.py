"""Alarms on one machine, for run control's CloudWatchAlarm rule: CloudWatch has no local
stand-in, so their states are what ``<data>/alarms.json`` says (an object of alarm name →
ALARM, OK or INSUFFICIENT_DATA), which a person, a script or a monitor writes."""

from __future__ import annotations

import json
from pathlib import Path

from stepline.errors import ConfigurationError


class FileAlarms:
    def __init__(self, path: Path) -> None:
        self.path = path

    def states(self, names: list[str]) -> dict[str, str]:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"{self.path}: {error}") from None
        if not isinstance(loaded, dict):
            raise ConfigurationError(f"{self.path}: must be a JSON object of alarm name → state")
        return {name: str(loaded[name]) for name in names if name in loaded}
