"""The one test command: install what the tests need, then run the whole suite (standard library only, so it
runs before anything is installed).

    python3 tests/run.py [extra pytest arguments]

It pip-installs requirements-test.txt, installs Debian's Chromium with apt-get when /usr/bin/chromium is missing
(through sudo when not root; never Playwright's downloaded browser, which fails on these machines), then runs
pytest and exits with its status: 0 only when every test ran and passed (5, no tests collected, fails too).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")  # tests/chromium.py's (not imported: it needs playwright, maybe not there yet)
# Test files run side by side in WORKERS processes (pytest-xdist), each file whole in one of them (its module's
# server and browser made once): most tests wait on a page, a socket or a subprocess, so two cores run two files at
# nearly twice the pace (this suite: 18.3 min one after another, about 10 side by side, on a 2-core VM).
WORKERS = max(1, min(4, os.cpu_count() or 1))  # a few: each imports torch (about 1 GB)
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(WORKERS), "--dist", "loadfile",
          "tests"]


def run(command: list[str]) -> int:
    print("+", " ".join(command), flush=True)
    try:
        return subprocess.run(command, cwd=REPO).returncode
    except OSError as error:  # sudo (or apt-get) is not there
        print(f"{command[0]}: {error.strerror}", flush=True)
        return 127


def install_chromium() -> None:
    """apt-get update, then install; a failure is reported and left to the browser tests, which then fail."""
    as_root = [] if os.geteuid() == 0 else ["sudo"]
    apt = [*as_root, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q"]
    if run([*apt, "update"]) or run([*apt, "install", "-y", "chromium"]):
        print(f"could not install chromium: the browser tests will fail until {CHROMIUM} exists", flush=True)


def main() -> int:
    if run([sys.executable, "-m", "pip", "install", "-q", "-r", "requirements-test.txt"]):
        return 1
    if not CHROMIUM.exists():
        install_chromium()
    return run(PYTEST + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
