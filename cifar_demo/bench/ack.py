"""Submission acknowledgements timed from outside the server: N callers send challenge_submit at the same moment
over plain HTTP (gradio's /gradio_api/call route, as any notebook can) and time each until its answer, twice: first
each from a new session (gradio builds a session's state on its first event: what a page pays once, when it opens),
then again together from the same sessions (a student's page or notebook resubmitting: the case a lesson repeats).

    python3 -m cifar_demo.bench.ack URL COUNT TAG

runs them in a process of its own, so the callers' work is not the server's (nor its GIL's), and prints one JSON
line: {"new_session": [...], "open_session": [...], "errors": [...]}. It imports nothing but the standard library.
"""
from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
import uuid

ENDPOINT = "challenge_submit"
NET = "lenet"
ANSWER_TIMEOUT = 120.0  # a caller gives up after this long; a slow answer is still a measured one


def submit(url: str, nickname: str, seed: int, session: str) -> str | None:
    """One submission, from the POST until gradio streams its answer; None when entered, else the error's text."""
    base = f"{url.rstrip('/')}/gradio_api/call/{ENDPOINT}"
    body = json.dumps({"data": [nickname, NET, 1, None, None, None, None, seed], "session_hash": session}).encode()
    request = urllib.request.Request(base, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=ANSWER_TIMEOUT) as answer:
        event = json.loads(answer.read())["event_id"]
    with urllib.request.urlopen(f"{base}/{event}", timeout=ANSWER_TIMEOUT) as stream:
        kind = ""
        for raw in stream:
            line = raw.decode().strip()
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind in ("complete", "error"):
                return None if kind == "complete" else line[5:].strip()[:200] or "error"
    return "the answer's stream ended without a result"


def burst(url: str, count: int, tag: str) -> dict:
    """`count` callers released together twice, from new sessions then from the same ones; each one's seconds to
    its acknowledgement both times, and what went wrong."""
    together = threading.Barrier(count)
    seconds: dict[str, list[float]] = {"new_session": [], "open_session": []}
    errors: list[str] = []

    def caller(n: int) -> None:
        session = uuid.uuid4().hex
        for when, times in seconds.items():
            together.wait()
            sent = time.perf_counter()
            try:
                error = submit(url, f"{tag} {n + 1}", n, session)
            except OSError as failure:
                error = str(failure)
            times.append(time.perf_counter() - sent)
            if error is not None:
                errors.append(f"{when}: {error}")

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {when: sorted(times) for when, times in seconds.items()} | {"errors": errors}


if __name__ == "__main__":
    print(json.dumps(burst(sys.argv[1], int(sys.argv[2]), sys.argv[3])), flush=True)
