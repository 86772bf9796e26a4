"""``stepline metrics PIPELINE``: a pipeline's delivery metrics over a window (stepline.metrics),
from the executions kept on this machine (``--data``); ``--output json`` for programs, the
same document the console's ``/api/pipelines/NAME/metrics`` answers."""

from __future__ import annotations

import argparse
import time
from typing import Any

from stepline.cli import render
from stepline.cli.exits import ExitCode, UsageError
from stepline.cli.options import add_state_data


def add_commands(commands: Any) -> None:
    metrics = commands.add_parser(
        "metrics", help="a pipeline's delivery metrics: frequency, lead time, failures, restore"
    )
    metrics.add_argument("pipeline", metavar="PIPELINE", help="the pipeline's name")
    metrics.add_argument(
        "--since", default="30d", help="the window's start: 7d, 12h, 30m before now, or a date (default 30d)"
    )
    metrics.add_argument("--output", choices=["text", "json"], default="text")
    add_state_data(metrics, existing=True)
    metrics.set_defaults(handler=show_metrics)


def show_metrics(args: argparse.Namespace) -> ExitCode:
    from stepline import wiring
    from stepline.cli.run import _runtime
    from stepline.metrics import compute, numbers, read_deliveries, window_start

    now = time.time()
    try:
        since = window_start(args.since, now)
    except ValueError as error:
        raise UsageError(str(error)) from None
    with _runtime(args.data, {}, runs=False) as runtime:
        entry = runtime.registry.get(args.pipeline)
        if entry is None:
            known = ", ".join(sorted(e.name for e in runtime.registry.all())) or "none yet"
            raise UsageError(f"no pipeline {args.pipeline!r} in {args.data} (pipelines there: {known})")
        metrics = compute(entry.name, read_deliveries(entry, wiring.workflows(), since), since, now)
    if args.output == "json":
        render.emit(metrics.as_json())
        return ExitCode.OK
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime(since))
    render.say(f"{entry.name} · {started} UTC to now")
    for title, value, note in numbers(metrics):
        render.say(f"  {title + ':':<24}{value:<12}{note}")
    return ExitCode.OK
