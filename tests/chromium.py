"""Debian's Chromium for Playwright, shared by the browser tests and tests/screenshots.py: Playwright's own browser
download fails on these machines, so it is never used."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Playwright

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
