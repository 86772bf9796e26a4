"""`stepline serve` end to end: real git pushes through installed hooks, a server killed with
SIGKILL mid-build and restarted, and the console driven in Debian's chromium by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.local_server import (
    APPROVE,
    BUILD,
    Server,
    commit_and_push,
    pipeline,
    repositories,
    stepline,
    wait_for,
)

CHROMIUM = "/usr/bin/chromium"
# Flags for a root, headless chromium on a machine with no network but loopback.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which(CHROMIUM), "Debian's chromium is missing: make test installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def test_a_push_starts_exactly_the_pipelines_its_filters_match(server: Server) -> None:
    # Given a bare repository with the hooks installed, and a pipeline triggered by pushes to
    # main that change anything but docs/
    bare, work = repositories(server.home)
    trigger = {
        "providerType": "CodeStarSourceConnection",
        "gitConfiguration": {
            "sourceActionName": "Checkout",
            "push": [{"branches": {"includes": ["main"]}, "filePaths": {"excludes": ["docs/**"]}}],
        },
    }
    applied = server.apply(pipeline("app", bare, [BUILD], triggers=[trigger]))
    assert f"pushes to git {bare} with branches main, files not docs/** (Checkout)" in applied
    hooked = stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data)
    assert hooked.returncode == 0, hooked.stderr
    # When the app is pushed to main
    said = commit_and_push(work, {}, "the sample app")
    # Then exactly one execution starts (the hook says so in the push's output) and succeeds
    assert "stepline: started stepline-app main-" in said
    assert [status for _, status in server.finished("app")] == ["SUCCEEDED"]
    # When a push changes only docs, or goes to another branch
    docs = commit_and_push(work, {"docs/guide.md": "# Guide\n"}, "docs only")
    feature = commit_and_push(work, {"sample_app/extra.py": "X = 1\n"}, "feature work", branch="feature/x")
    # Then nothing more starts: the server decided before each push returned, and said why
    assert "stepline: refs/heads/main started nothing: app:" in docs
    assert "stepline: refs/heads/feature/x started nothing: app:" in feature
    assert len(server.pipeline_executions("app")) == 1
    # When main moves again with code, Then a second execution starts
    commit_and_push(work, {"sample_app/extra.py": "X = 2\n"}, "code change")
    assert [status for _, status in server.finished("app", count=2)] == ["SUCCEEDED", "SUCCEEDED"]


def test_a_server_killed_mid_build_resumes_the_execution_when_restarted(server: Server) -> None:
    # Given a pipeline whose build takes a few seconds, started by a push
    slow = (
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        '      - echo started >> "$STEPLINE_MARKS"\n      - sleep 3\n      - echo finished\n'
        "artifacts:\n  files: ['**/*']\n"
    )
    marks = server.home / "marks.txt"
    bare, work = repositories(server.home, {"buildspec.yml": slow})
    server.apply(pipeline("slow", bare, [BUILD]))
    assert (
        stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data).returncode == 0
    )
    server.stop()
    server.start({"STEPLINE_MARKS": str(marks)})  # the build writes a mark each time it starts
    commit_and_push(work, {}, "slow build")
    # When the server is killed while the build runs
    wait_for(marks.exists, "the build to start")
    server.kill()
    assert server.pipeline_executions("slow")
    assert server.pipeline_executions("slow")[0][1] == "RUNNING"
    # Then a restarted server finishes the execution: the build, still running under its
    # supervisor, is adopted and waited for, not started again
    server.start({"STEPLINE_MARKS": str(marks)})
    assert [status for _, status in server.finished("slow")] == ["SUCCEEDED"]
    assert marks.read_text().count("started") == 1


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state()


def test_an_approval_decided_in_the_console_turns_its_stage_green(server: Server, browser: Browser) -> None:
    # Given an execution waiting for a person's approval
    bare, work = repositories(server.home)
    server.apply(pipeline("release", bare, [APPROVE]))
    assert (
        stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data).returncode == 0
    )
    commit_and_push(work, {}, "ready to ship")
    page = browser.new_page()
    # When a person signs in with the link serve printed and opens the pipeline in the console
    _open(page, server.printed_sign_in_link())
    page.get_by_role("link", name="release").click()
    stage = page.locator('section[data-stage="Approve"]')
    expect(stage.locator(".action.s-InProgress")).to_be_visible(timeout=30_000)
    # And follows the Review link, approves with a comment
    page.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Approval needed")).to_be_visible()
    page.get_by_label("Your name").fill("Grace")
    page.get_by_label("Comment").fill("release notes checked")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Approve/Release approved")).to_be_visible()
    # Then the pipeline page shows the stage green and the execution succeeded
    _open(page, f"{server.url}/pipelines/release")
    expect(page.locator('section[data-stage="Approve"].s-Succeeded')).to_be_visible(timeout=30_000)
    expect(page.locator(".meta .badge")).to_have_text("Succeeded")
    assert [status for _, status in server.finished("release")] == ["SUCCEEDED"]
    page.close()


def test_a_failing_build_turns_the_pipeline_red_with_its_phase_and_log(server: Server, browser: Browser) -> None:
    # Given a pipeline whose unit tests fail
    failing = {
        "tests/test_add.py": "import unittest\n\nclass T(unittest.TestCase):\n    def test_no(self):\n        self.fail('broken')\n"
    }
    bare, work = repositories(server.home, failing)
    server.apply(pipeline("broken", bare, [BUILD]))
    assert (
        stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data).returncode == 0
    )
    commit_and_push(work, {}, "a broken test")
    assert [status for _, status in server.finished("broken")] == ["FAILED"]
    # When the pipeline is opened in the console
    page = browser.new_page()
    _open(page, server.sign_in_link())
    _open(page, f"{server.url}/pipelines/broken")
    # Then the build is red, says which phase failed, and links to its log
    failed = page.locator('.action.s-Failed[data-action="Build.TestAndPackage"]')
    expect(failed).to_be_visible()
    expect(failed.locator(".error")).to_contain_text("BUILD")
    expect(page.locator(".meta .badge")).to_have_text("Failed")
    failed.get_by_role("link", name="log").click()
    expect(page.locator("body")).to_contain_text("FAILED (failures=1)")
    page.close()


def test_a_second_engine_on_the_same_data_is_refused(server: Server) -> None:
    # Given stepline serve running on a data directory
    bare, _ = repositories(server.home)
    path = server.home / "p.yaml"
    path.write_text(yaml.safe_dump(pipeline("p", bare, [BUILD])))
    # When stepline run is pointed at the same directory, Then it refuses: both would run the
    # unfinished executions
    ran = stepline("run", str(path), cwd=server.home, data=server.data)
    assert ran.returncode == 1
    assert f"another stepline run or serve is using {server.data.resolve()}" in ran.stderr
    # And reading past runs is still fine
    assert stepline("executions", cwd=server.home, data=server.data).returncode == 0


# A failure whose cause and log hold long unbroken words: a path, a hash, a minified line.
LONG_FAILURE = {
    "name": "Build",
    "actions": [
        {
            "name": "Test",
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "inputArtifacts": [{"name": "Src"}],
            "commands": [
                'for i in $(seq 1 25); do echo "output line $i"; done',
                f"echo {'0123456789abcdef' * 24}",
                f"test -f /{'a-rather-long-directory-name/' * 8}missing.txt",
            ],
        }
    ],
}
# Every element of every stage lies inside its stage's box; the page is no wider than the window.
OVERFLOWS = """() => {
  const problems = [];
  for (const stage of document.querySelectorAll('section.stage')) {
    const edge = stage.getBoundingClientRect();
    for (const element of stage.querySelectorAll('*')) {
      const box = element.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      if (box.left < edge.left - 0.5 || box.right > edge.right + 0.5 || element.scrollWidth > element.clientWidth + 1) {
        problems.push(`${element.tagName}.${element.className} in ${stage.dataset.stage}: ` +
          `${box.left}–${box.right} outside ${edge.left}–${edge.right}, scrollWidth ${element.scrollWidth}`);
      }
    }
  }
  const page = document.documentElement;
  return {problems, pageWidth: page.scrollWidth, windowWidth: window.innerWidth};
}"""


@pytest.mark.parametrize("width", [390, 1440])
def test_a_failure_box_stays_inside_its_stage_on_a_phone_and_a_desktop(
    server: Server, browser: Browser, width: int
) -> None:
    # Given a pipeline whose Commands action fails with a long command and long log lines
    bare, work = repositories(server.home)
    server.apply(pipeline("narrow", bare, [LONG_FAILURE, APPROVE]))
    assert (
        stepline("hook", "install", str(bare), "--url", server.url, cwd=server.home, data=server.data).returncode == 0
    )
    commit_and_push(work, {}, "a failing release")
    assert [status for _, status in server.finished("narrow")] == ["FAILED"]
    # When the execution is opened in a window `width` pixels wide
    page = browser.new_page(viewport={"width": width, "height": 900})
    _open(page, server.sign_in_link())
    _open(page, f"{server.url}/pipelines/narrow")
    # Then the failure is told in one line, with the log's last lines beside it
    failed = page.locator('.action.s-Failed[data-action="Build.Test"]')
    expect(failed.locator(".error")).to_contain_text("BuildFailedError — phase BUILD failed: `test -f /a-rather")
    expect(failed.locator(".tail")).to_contain_text("output line 25")
    expect(failed.locator(".tail")).to_contain_text("0123456789abcdef" * 24)
    expect(page.locator(".failure")).to_contain_text("Build.Test failed: BuildFailedError")
    # And nothing overflows its stage, and the page does not scroll sideways
    measured = page.evaluate(OVERFLOWS)
    assert measured["problems"] == []
    assert measured["pageWidth"] <= measured["windowWidth"]
    page.close()
