"""The load test (benchmarks/load.py) in its short form: ~20 s of mixed load on a fresh launcher.

`make load` runs the same for minutes. Here every invariant it checks must hold: no 5xx, no
unit oversold or lost, every timeline complete and in sequence, every socket in agreement with
MongoDB after its resync, and the app's memory flat after the warm-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.testing import ROOT

pytestmark = pytest.mark.slow


def test_short_mixed_load_keeps_every_invariant(tmp_path: Path) -> None:
    report = tmp_path / "load.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/load.py", "--duration", "20", "--warmup", "6", "--catalog-size", "60",
         "--shoppers", "4", "--listeners", "3", "--staff-listeners", "1", "--report", str(report)],
        cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    figures = json.loads(report.read_text())
    assert all(figures["checks"].values()), figures["checks"]
    kinds = figures["kinds"]
    for kind in ("page:home", "page:listing", "page:product", "page:search", "api:products", "checkout"):
        assert kinds[kind]["requests"] > 0, f"no {kind} request was made"
    assert kinds["checkout"]["statuses"].get("201", 0) > 0, "some checkouts succeeded"
    assert not [code for kind in kinds.values() for code in kind["statuses"] if int(code) >= 500]
    assert figures["timelines"]["orders"] > 0
    assert figures["sockets"]["pushes"] > 0, "the sockets received pushes"
    assert "Checks:" in output
    analytics = figures["analytics"]
    assert analytics["live"]["orders"] > 0, "the load's checkouts were counted"
    assert analytics["live"] == analytics["rebuilt"], "live counters equal analytics_rebuild after the load"
    assert analytics["memory"]["total_bytes"] > 0
