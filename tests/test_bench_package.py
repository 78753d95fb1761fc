"""The benchmarks stay out of the product: no product module imports one, and the core imports no client library.

One fresh interpreter imports every product module (the core, then the page): whatever the tests imported before
cannot hide an import here."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

CORE = sorted(f"cifar_demo.{path.stem}" for path in (REPO / "cifar_demo").glob("*.py") if path.stem != "__init__")
PAGE = sorted(f"cifar_demo.ui.{path.stem}" for path in (REPO / "cifar_demo" / "ui").glob("*.py")) + ["app"]
IMPORTED = """
import importlib, json, sys
def loaded(): return sorted(m for m in sys.modules if m.split(".")[:2] == ["cifar_demo", "bench"]
                            or m.split(".")[0] == "gradio_client")
for name in {core}: importlib.import_module(name)
core = loaded()
for name in {page}: importlib.import_module(name)
print(json.dumps({{"core": core, "page": loaded()}}))
"""


def test_no_product_module_imports_a_benchmark_and_the_core_no_client_library():
    script = IMPORTED.format(core=CORE, page=PAGE)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert "cifar_demo.training" in CORE and "cifar_demo.__main__" in CORE and "cifar_demo.ui.common" in PAGE
    assert found["core"] == []
    # gradio itself imports gradio_client, so past the core only the benchmarks are looked for
    assert [name for name in found["page"] if name.startswith("cifar_demo")] == []
