"""Debian's Chromium for Playwright, shared by the browser tests and tests/screenshots.py: Playwright's own browser
download fails on these machines, so it is never used."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright

LIMIT_S = 180  # a give-up limit for anything a page does, not a timing: two slow cores here, shared with other jobs
VIEWPORT = {"width": 1400, "height": 900}
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; tests/run.py installs it when it is missing
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]  # a webcam that films a test card


def launch(playwright: Playwright, flags: tuple[str, ...] = ()) -> Browser:
    """Headless Debian Chromium (with `flags` besides FLAGS); a missing one is an error naming the fix (so browser
    tests fail, never skip)."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), "
                           "as tests/run.py does")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS + list(flags))


@pytest.fixture(scope="module")
def browser():
    """Chromium for the test module that imports this fixture: one per module, as Playwright's sync API holds this
    thread's event loop while it runs (a browser kept for the whole session would break every test after it)."""
    expect.set_options(timeout=LIMIT_S * 1000)
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


def open_page(browser: Browser, url: str, locale: str = "en-US", viewport: dict = VIEWPORT,
              header_shows: str = "·") -> Page:
    """A tab in a context of its own (its own cookies, its own language), loaded until the header shows
    `header_shows`; close it with page.context.close()."""
    context = browser.new_context(viewport=viewport, locale=locale)
    context.set_default_timeout(LIMIT_S * 1000)
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#header")).to_contain_text(header_shows)
    return page


def typed(field: Locator, value: str, tries: int = 5) -> None:
    """Type into a field until the page keeps it, as a person does who sees the old value come back: Gradio 6 sets
    the value of a control it has just mounted (an accordion's first opening) once more a moment later, over what
    was typed in that moment (in a test that typed at once after the opening: 20 back over 3, one try in two)."""
    for _ in range(tries):
        field.fill(value)
        field.press("Tab")
        try:
            expect(field).to_have_value(value, timeout=5000)
            return
        except AssertionError:
            continue
    expect(field).to_have_value(value)
