"""scripts/mongo_stepdown.py, which CI runs against a real replica set while its primary steps down,
runs here without the step-down (the embedded MongoDB has no replica set), so it stays working."""

from __future__ import annotations

import re
import subprocess
import sys

from devstack.testing import ROOT
from tests.e2e.app import App


def test_the_stepdown_script_places_pays_ships_and_reads_every_order_back(app: App) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/mongo_stepdown.py", "--url", app.base_url, "--no-stepdown", "--seconds", "3",
         "--threads", "2", "--password", app.password],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    acknowledged = re.search(r"orders acknowledged: (\d+); problems: 0", output)
    assert acknowledged, output
    assert int(acknowledged.group(1)) > 0, output
    assert "500" not in re.search(r"answers: (\{.*\})", output).group(1), output
