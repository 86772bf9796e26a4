"""Every console page in Debian's chromium, at a desktop's 1440 px and a phone's 390 px: a
pipeline that never ran, Release change starting a real execution, its build's log followed
live and read back as phases, the review page deciding the approval, the history, and the
delivery metrics — with no page wider than its window (measured, and seen in a full-page
screenshot's width)."""

from __future__ import annotations

import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.local_server import APPROVE, Server, commit_and_push, pipeline, repositories
from tests.e2e.test_local_server import CHROMIUM, CHROMIUM_FLAGS, OVERFLOWS

# A build that waits for the test twice: once so its log is followed while it runs, once so
# the page sees a line arrive by the tail rather than by a reload.
WAITING_BUILD = {
    "name": "Build",
    "actions": [
        {
            "name": "Package",
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
            "namespace": "BuildVariables",
            "inputArtifacts": [{"name": "Src"}],
            "outputArtifacts": [{"name": "Package"}],
            "commands": [
                "echo waiting for the first go",
                'while [ ! -f "$STEPLINE_GO.1" ]; do sleep 0.05; done',
                "echo released by the test",
                'while [ ! -f "$STEPLINE_GO.2" ]; do sleep 0.05; done',
                "export VERSION=1.2.3",
            ],
            "outputVariables": ["VERSION"],
        }
    ],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which(CHROMIUM), "Debian's chromium is missing: make test installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    running.start({"STEPLINE_GO": str(tmp_path / "go")})
    yield running
    running.stop()


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state()


def _png_width(image: bytes) -> int:
    """A PNG's width, from its IHDR chunk (bytes 16-20, big-endian)."""
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    width: int = struct.unpack(">I", image[16:20])[0]
    return width


def assert_fits(page: Page, width: int, what: str) -> None:
    """No element of a stage outside it, the page no wider than the window, and a full-page
    screenshot exactly as wide as the window."""
    measured = page.evaluate(OVERFLOWS)
    assert measured["problems"] == [], what
    assert measured["pageWidth"] <= measured["windowWidth"], f"{what} scrolls sideways at {width} px"
    image = page.screenshot(full_page=True)
    assert _png_width(image) == width, what
    keep = os.environ.get("STEPLINE_SCREENSHOTS")  # a folder to look at the pages in
    if keep:
        name = "".join(c if c.isalnum() else "-" for c in what)
        (Path(keep) / f"{width}-{name}.png").write_bytes(image)


@pytest.mark.parametrize("width", [1440, 390])
def test_every_console_page_drives_a_real_execution_and_fits_the_window(
    server: Server, browser: Browser, width: int, tmp_path: Path
) -> None:
    # Given a pipeline with a source, a build that waits for the test, and an approval, never run
    bare, work = repositories(server.home)
    commit_and_push(work, {}, "the sample app")
    server.apply(pipeline("shop", bare, [WAITING_BUILD, APPROVE]))
    page = browser.new_page(viewport={"width": width, "height": 900})
    _open(page, server.sign_in_link())
    assert_fits(page, width, "the pipelines page")
    # When its page is opened, Then its stages are drawn, pending, with the levers
    _open(page, f"{server.url}/pipelines/shop")
    expect(page.get_by_text("This pipeline has not run yet.")).to_be_visible()
    expect(page.locator('section[data-stage="Build"] .action.s-Pending')).to_be_visible()
    assert_fits(page, width, "a never-run pipeline")
    # When Release change is pressed, Then a real execution starts and its page shows the build running
    page.get_by_role("button", name="Release change").click()
    page.wait_for_url("**/pipelines/shop/executions/*")
    build = page.locator('.action[data-action="Build.Package"]')
    expect(build).to_have_class("action s-InProgress", timeout=30_000)
    execution_url = page.url
    expect(page.get_by_role("button", name="Abandon")).to_be_visible()
    assert_fits(page, width, "a running execution with its Stop buttons")
    # When the build's log is opened while it runs
    build.get_by_role("link", name="log").click()
    expect(page.locator("body")).to_contain_text("waiting for the first go", timeout=30_000)
    expect(page.locator("#live")).to_contain_text("Following the log")
    # Then a line the build prints now arrives through the tail, without a reload
    (tmp_path / "go.1").touch()
    expect(page.locator("#tail")).to_contain_text("released by the test", timeout=30_000)
    assert_fits(page, width, "a running build's log")
    # And when the build ends the page shows the log as phases, with a way back
    (tmp_path / "go.2").touch()
    expect(page.locator("details.phase-SUCCEEDED > summary")).to_contain_text("BUILD · SUCCEEDED", timeout=30_000)
    expect(page.locator(".log .c").first).to_contain_text("Running command echo waiting for the first go")
    assert_fits(page, width, "a finished build's log")
    page.get_by_role("link", name="← Back to the execution").click()
    assert page.url == execution_url
    # When the approval is reviewed from its link and approved with a comment
    page.locator('.action[data-action="Approve.Release"]').get_by_role("link", name="Review").click(timeout=30_000)
    expect(page.get_by_role("heading", name="Approval needed")).to_be_visible()
    assert_fits(page, width, "the review page")
    page.get_by_label("Your name").fill("Grace")
    page.get_by_label("Comment").fill("numbers checked")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Approve/Release approved")).to_be_visible()
    assert_fits(page, width, "the decision's page")
    # Then the way back leads to the execution, which says who approved and what they wrote
    page.get_by_role("link", name="← Back to the execution in the console").click()
    expect(page.locator(".meta .badge")).to_have_text("Succeeded", timeout=30_000)
    approval = page.locator('.action[data-action="Approve.Release"] .decision')
    expect(approval).to_contain_text("Approved by Grace")
    expect(approval).to_contain_text("numbers checked")
    expect(build.locator(".vars")).to_contain_text("VERSION")
    expect(page.locator("table.history")).to_contain_text("Release change")
    assert_fits(page, width, "a finished execution with its history")
    # And the metrics page counts the deployment, with its chart
    page.get_by_role("link", name="Metrics").click()
    expect(page.get_by_role("heading", name="shop · delivery metrics")).to_be_visible()
    expect(page.locator(".number").first).to_contain_text("1 succeeded")
    expect(page.locator(".chart svg rect").first).to_be_attached()
    assert_fits(page, width, "the metrics page")
    page.close()
