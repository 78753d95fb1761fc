"""The app run from a copy, for the scripts and tests that start it as a process: what it trains lands in the copy,
never in this tree's checkpoints/runs/."""
from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def copy_of_the_app(folder: Path) -> Path:
    """app.py and cifar_demo/ as they are now, and links to the shipped checkpoints."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "app.py", folder / "app.py")
    shutil.copytree(REPO / "cifar_demo", folder / "cifar_demo", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "checkpoints").mkdir()
    for shipped in (REPO / "checkpoints").glob("*.pt"):
        (folder / "checkpoints" / shipped.name).symlink_to(shipped)
    return folder

