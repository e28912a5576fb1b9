"""Every `make bench` benchmark runs: benchmarks/run_all.py in its short form (no figure is judged).

`--quick` starts a fresh server twice on a 60-product catalog, then runs catalog.py, auth.py and
push.py against it with a few requests each, and writes nothing. A change that breaks a benchmark
(a renamed endpoint, a new limit it meets) fails here instead of on the next `make bench`.
benchmarks/load.py has its own short run in test_load.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from devstack.testing import ROOT

pytestmark = pytest.mark.slow


def test_every_benchmark_runs_in_short_form() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/run_all.py", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for script in ("catalog.py", "auth.py", "push.py", "job_queue.py"):
        assert f"python benchmarks/{script}" in output
    assert "(exit 0," in output
    assert "not measured" not in output, output
