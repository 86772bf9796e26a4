"""The command line's start-up: `stepline --version` and `stepline validate` of a small
pipeline, each a fresh process, beside `python -c pass` (the interpreter's own start, the floor
any Python command stands on), in interleaved rounds. Issue 18 measured ~3 s a command on a
loaded 2-core machine; what a command costs above the floor is what its imports cost."""

from __future__ import annotations

import subprocess
import sys

from bench.timing import interleaved, row
from tests.helpers import EXAMPLES

ROUNDS = 9


def _run(*arguments: str) -> None:
    subprocess.run([sys.executable, *arguments], check=True, capture_output=True)


def main() -> None:
    demo = str(EXAMPLES / "local-demo.yaml")
    samples = interleaved(
        {
            "python -c pass": (lambda: _run("-c", "pass"), 1),
            "stepline --version": (lambda: _run("-m", "stepline", "--version"), 1),
            "stepline validate examples/pipelines/local-demo.yaml": (
                lambda: _run("-m", "stepline", "validate", demo),
                1,
            ),
        },
        ROUNDS,
    )
    print(
        f"CLI start-up, a fresh process each (median (min–max) of {ROUNDS} interleaved rounds; CPU includes the child)"
    )
    floor = samples["python -c pass"]
    for name, measured in samples.items():
        above = (
            ""
            if name == "python -c pass"
            else f"   +{(measured.wall_median - floor.wall_median) * 1000:.0f} ms wall over the interpreter"
        )
        print(row(name, measured) + above)


if __name__ == "__main__":
    main()
