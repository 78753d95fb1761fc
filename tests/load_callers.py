"""The callers of tests/test_load.py, in a process of their own: their work must not be counted as the server's.

    python tests/load_callers.py URL CALLERS SECONDS PICTURE...

Prints "ready" once every client is connected, then one JSON line: the wall time and every call, with its caller,
its seconds and either the /classify answer or the error. Imports gradio_client only, so it starts in a second.
"""
from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from pathlib import Path

from gradio_client import Client, handle_file


def keep_classifying(caller: int, client: Client, pictures: list[str], start: threading.Barrier, seconds: float,
                     calls: list[dict]) -> None:
    """Classify picture after picture until the window closes; every failure is recorded, none is raised."""
    start.wait()
    deadline = time.monotonic() + seconds
    for picture in itertools.cycle(pictures):
        if time.monotonic() >= deadline:
            return
        began = time.perf_counter()
        try:
            outcome = {"answer": client.predict(handle_file(picture), api_name="/classify")}
        except Exception as error:  # every kind of failure goes back to the test, which expects none
            outcome = {"error": f"{Path(picture).name}: {type(error).__name__}: {error}"}
        calls.append({"caller": caller, "seconds": time.perf_counter() - began, **outcome})


def main(argv: list[str]) -> int:
    url, count, seconds, *pictures = argv
    clients = [Client(url, verbose=False) for _ in range(int(count))]
    start = threading.Barrier(len(clients))
    calls: list[dict] = []
    threads = [threading.Thread(target=keep_classifying,
                                args=(i, client, pictures[i::len(clients)] or pictures, start, float(seconds), calls))
               for i, client in enumerate(clients)]
    print("ready", flush=True)
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"seconds": time.monotonic() - began, "calls": calls}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
