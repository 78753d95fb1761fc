"""The app as a process of its own (python3 app.py), for the tests that kill it with -9 and start it again on the
same store: launched on every interface, waited for, killed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conftest import REPO
from cifar_demo.network import free_port

APP_START_TIMEOUT = 300.0  # torch and gradio import in 5-60 s on a busy machine


def launch(store: Path, data: Path, checkpoint: Path, port: int, log: Path, *extra: str) -> subprocess.Popen:
    """python3 app.py on every interface (with `extra` arguments), its output in `log`."""
    command = [sys.executable, str(REPO / "app.py"), "--data", str(data), "--checkpoint", str(checkpoint),
               "--device", "cpu", "--host", "0.0.0.0", "--port", str(port), "--store", str(store), *extra]
    env = {**os.environ, "GRADIO_TEMP_DIR": str(log.parent / "uploads")}
    with log.open("a") as output:
        return subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, env=env)


def wait_for_page(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + APP_START_TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the app exited with {process.returncode}:\n{log.read_text()[-2000:]}"
        try:
            if httpx.get(url + "gradio_api/info", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the app did not answer within {APP_START_TIMEOUT:.0f} s:\n{log.read_text()[-2000:]}")


class Server:
    """The app as a process of its own, restartable on the same store."""

    def __init__(self, folder: Path, data: Path, checkpoint: Path):
        self.folder, self.data, self.checkpoint = folder, data, checkpoint
        self.store, self.log = folder / "class.sqlite3", folder / "app.log"
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.bad = b""  # what the store file held before the first start

    def start(self, *extra: str) -> str:
        """Started (with `extra` arguments for app.py) and answering; returns the teacher's address."""
        self.port = free_port()
        self.process = launch(self.store, self.data, self.checkpoint, self.port, self.log, *extra)
        wait_for_page(self.url, self.process, self.log)
        return self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
