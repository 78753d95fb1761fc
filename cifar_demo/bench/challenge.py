"""`bench --challenge`: N entries of a short budget run through the class challenge's queue, in the real trainer
process, on the data given (tiny or CIFAR-10), timing what each entry takes beyond its budget: handing the run to
the trainer, setting the net up, the final test on the validation pictures, saving, and starting the next one."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from ..access import Caller
from ..challenge import Challenge, EntryBudget
from ..challenge_store import RUNNING, WAITING
from ..lab import Lab
from ..store import Store
from .common import BenchError, columns, machine, say

ENTRIES = 5
ENTRY_SECONDS = 5.0
NET = "lenet"
TARGET_OVERHEAD = 2.0  # seconds an entry may take beyond its budget (issue 31: 30 x 20 s + 60 s)


def run_challenge_benchmark(args) -> dict:
    entries, seconds = args.entries or ENTRIES, args.entry_seconds or ENTRY_SECONDS
    if entries < 1 or not 1 <= seconds <= 3600:
        raise BenchError("--entries must be at least 1 and --entry-seconds from 1 to 3600.")
    with tempfile.TemporaryDirectory(prefix="cifar-demo-bench-challenge-") as folder:
        lab = Lab(data_path=args.data, checkpoint_dir=folder, device=args.device, download=not args.no_download)
        say("loading the data (before the clock: a server has it loaded once for the day)")
        lab.data(progress=lambda fraction, message: say(f"  {message}"))
        lab.trainer.start()
        store = Store(Path(folder) / "class.sqlite3")
        challenge = Challenge(lab, store)
        try:
            result = run_entries(challenge, entries, seconds)
        finally:
            challenge.close_down()
            store.close()
    for line in overhead_table(result):
        print(line)
    return {"benchmark": "challenge", "machine": machine(lab.device), **result}


def run_entries(challenge: Challenge, entries: int, seconds: float, epochs: int | None = None) -> dict:
    """Open a challenge, submit the entries at once, wait until the queue has run them all, then end it. Each is
    the net's preset with its own seed (and `epochs`, when given: enough for a small data set to fill the budget)."""
    challenge.open(EntryBudget(seconds=seconds), [NET])
    say(f"{entries} entries of {seconds:g} s ({NET}, each with its preset and its own seed)")
    submitted = time.time()
    for n in range(entries):
        challenge.submit(f"student {n + 1}", NET, {"seed": n, "epochs": epochs}, Caller(f"bench-{n}", "127.0.0.1"))
    while any(e.state in (WAITING, RUNNING) for e in challenge.records.entries(challenge.current().id)):
        time.sleep(0.2)
    board = challenge.end()
    ranked = {s.entry.id: s for s in board.standings}
    rows, previous_end = [], submitted
    for entry in challenge.records.entries(board.challenge.id):
        if entry.id not in ranked:
            raise BenchError(f"Entry #{entry.id} did not run to its budget: {entry.state}, {entry.message}")
        rows.append({"entry": entry.id, "trained_seconds": entry.seconds, "turn_seconds": entry.ended - entry.started,
                     "gap_seconds": entry.started - previous_end, "beyond_budget": entry.ended - previous_end - seconds,
                     "epochs_done": entry.epochs_done, "validation_accuracy": entry.public,
                     "test_accuracy": entry.private})
        previous_end = entry.ended
    later = [row["beyond_budget"] for row in rows[1:]] or [rows[0]["beyond_budget"]]
    return {"entries": entries, "budget_seconds": seconds, "rows": rows,
            "total_seconds": previous_end - submitted, "median_beyond_budget": statistics.median(later),
            "target_beyond_budget": TARGET_OVERHEAD}


def overhead_table(result: dict) -> list[str]:
    """The entries side by side, then the totals against the target."""
    head = ("entry", "trained", "its turn", "gap before", "beyond budget", "epochs", "validation", "test")
    rows = [head] + [(f"#{r['entry']}", f"{r['trained_seconds']:.2f} s", f"{r['turn_seconds']:.2f} s",
                      f"{r['gap_seconds']:.2f} s", f"{r['beyond_budget']:.2f} s", f"{r['epochs_done']:.2f}",
                      f"{r['validation_accuracy']:.1%}", f"{r['test_accuracy']:.1%}") for r in result["rows"]]
    count, budget = result["entries"], result["budget_seconds"]
    return columns(rows) + [
        f"{count} entries of {budget:g} s took {result['total_seconds']:.1f} s from submission to the last result: "
        f"{result['total_seconds'] - count * budget:.1f} s beyond the budgets; after the first (which hands the "
        f"data to the trainer), {result['median_beyond_budget']:.2f} s an entry at the median (target "
        f"{result['target_beyond_budget']:g} s)"]
