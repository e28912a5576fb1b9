"""Contract fuzzing: schemathesis against the running server's own OpenAPI schema.

Every operation in `/api/schema/` gets generated requests (the schema's examples, boundary and
invalid values, random ones, then stateful sequences that follow the links between operations),
as a shopper and as staff at the same time, each with a fresh token pair. Every answer must not be a
5xx and must match the schema: a documented status code, the documented content type, a body that
validates. Examples per operation: `SCHEMATHESIS_MAX_EXAMPLES` (default 10, about a minute);
`SCHEMATHESIS_SEED` repeats a run.

Random ids only ever reach "not found", so half of the generated `{id}`s are real: a product made
for the run (a second one for DELETE, so it is not gone after the first try) and an order the
shopper placed for it. That way the answers of reading, paying, cancelling and changing an order
and of editing a product are checked too.

It runs the schemathesis CLI (what a developer runs by hand, with the same report, curl commands
included) rather than the pytest plugin, whose fixture-based loader does not work with pytest 9.2
(it sets `Node._nodeid`, which pytest 9.2 no longer has). tests/e2e/schemathesis_hooks.py supplies
the tokens and records what the run creates.

This runs after every other test of the session (marker `e2e_last`): it changes data on the shared
server and uses up the token endpoint's rate limit. What it creates is deleted or cancelled at the end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.app import App

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Excluded, and why (each is covered elsewhere):
# - logout ends the very session the fuzzer's token belongs to, so every later request would be a
#   (documented) 401 that tests nothing: tests/e2e/test_api_journey.py logs out and checks the refusal.
# - logout-all ends every session of the demo account, other journeys' included:
#   accounts/tests/test_tokens.py covers it over HTTP.
# - ending a session by id: schemathesis reuses values it saw in answers, so it reads the fuzzer's own
#   session id from GET /api/auth/sessions/ and ends it, with the same effect as logout
#   (accounts/tests/test_tokens.py::test_ending_a_session_by_id_refuses_its_tokens_only covers it).
EXCLUDED_OPERATIONS = ("auth_logout", "auth_logout_all", "auth_sessions_end")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
SUMMARY_LINE = re.compile(r"(Examples|Coverage|Fuzzing|Stateful) \(in |\d+ passed|\d+ failed|API Links:")
ROLES = {"shopper": "shopper_email", "staff": "admin_email"}
ADDRESS = {"full_name": "Fuzz", "line1": "1 Test St", "city": "Madrid", "postal_code": "28001", "country": "ES"}
CONFIG = """\
[dictionaries.product]
values = ["{product}"]

[dictionaries.doomed_product]
values = ["{doomed}"]

[dictionaries.order]
values = ["{order}"]

[[operations]]
include-operation-id = ["products_retrieve", "products_update", "products_partial_update"]
parameters = {{ "path.id" = {{ dictionary = "product", probability = 0.5 }} }}

[[operations]]
include-operation-id = "products_destroy"
parameters = {{ "path.id" = {{ dictionary = "doomed_product", probability = 0.5 }} }}

[[operations]]
include-path-regex = '^/api/orders/\\{{id\\}}/'
parameters = {{ "path.id" = {{ dictionary = "order", probability = 0.5 }} }}
"""

pytestmark = [pytest.mark.slow, pytest.mark.e2e_last]


@dataclass
class Targets:
    product: str
    doomed: str
    order: str


def bearer(pair: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access']}"}


@pytest.fixture(scope="module")
def http(app: App) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app.base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def pairs(app: App, http: httpx.Client) -> dict[str, dict[str, str]]:
    """Each role, and a staff session for setup and clean-up, log in before any fuzzing: fuzzing the
    login endpoint uses up its per-IP rate limit."""
    result = {}
    for role, email in {**ROLES, "setup": "admin_email"}.items():
        response = http.post("/api/auth/token/", json={"email": getattr(app, email), "password": app.password})
        assert response.status_code == 200, response.text
        result[role] = response.json()
    return result


@pytest.fixture(scope="module")
def targets(http: httpx.Client, pairs: dict[str, dict[str, str]]) -> Iterator[Targets]:
    """Real ids for the fuzzer (a product, one to delete, an order of the shopper), removed afterwards."""
    staff, shopper = bearer(pairs["setup"]), bearer(pairs["shopper"])
    products = []
    for sku in ("FUZZ-TARGET", "FUZZ-DOOMED"):
        body = {"category": "clothing", "name": sku.title(), "sku": sku, "price": "9.99", "stock": 1_000_000}
        response = http.post("/api/products/", json=body, headers=staff)
        assert response.status_code == 201, response.text
        products.append(response.json()["id"])
    order = http.post("/api/orders/", json={"lines": [{"product_id": products[0], "quantity": 1}], "address": ADDRESS},
                      headers=shopper)  # fmt: skip
    assert order.status_code == 201, order.text
    yield Targets(product=products[0], doomed=products[1], order=order.json()["id"])
    undo(http, pairs, orders=[order.json()["id"]], products=products)


def undo(http: httpx.Client, pairs: dict[str, dict[str, str]], *, orders: list[str], products: list[str]) -> None:
    """Cancel orders (their units go back on sale; a shipped one answers 409 and stays), delete products."""
    refreshed = http.post("/api/auth/token/refresh/", json={"refresh": pairs["setup"]["refresh"]})
    assert refreshed.status_code == 200, refreshed.text
    pairs["setup"] = refreshed.json()
    for order_id in orders:
        http.post(f"/api/orders/{order_id}/cancel/", headers=bearer(pairs["setup"]))
    for product_id in products:
        response = http.delete(f"/api/products/{product_id}/", headers=bearer(pairs["setup"]))
        assert response.status_code in (204, 404), response.text


def created_by(logs: list[Path], path: str) -> list[str]:
    """Ids of what the runs created at ``path`` (tests/e2e/schemathesis_hooks.py writes the logs)."""
    rows = (json.loads(line) for log in logs if log.exists() for line in log.read_text().splitlines())
    return [row["id"] for row in rows if row["path"] == path]


def start(app: App, role: str, pair: dict[str, str], config: Path, workdir: Path) -> subprocess.Popen[str]:
    workdir.mkdir()
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "TIENDA_FUZZ_BASE_URL": app.base_url,
        "TIENDA_FUZZ_ACCESS": pair["access"],
        "TIENDA_FUZZ_REFRESH": pair["refresh"],
        "TIENDA_FUZZ_CREATED": str(workdir / "created.ndjson"),
    }
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", f"{app.base_url}/api/schema/",
        "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
        "--generation-database", "none", "--output-truncate", "false", "--no-color",
        *(argument for operation in EXCLUDED_OPERATIONS for argument in ("--exclude-operation-id", operation)),
    ]  # fmt: skip
    if seed := os.environ.get("SCHEMATHESIS_SEED"):
        command += ["--seed", seed]
    # cwd: the CLI's cache and Hypothesis's files stay out of the repository.
    return subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_every_answer_matches_the_schema(
    app: App, http: httpx.Client, pairs: dict[str, dict[str, str]], targets: Targets, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(product=targets.product, doomed=targets.doomed, order=targets.order))
    started = time.monotonic()
    # Both roles at once: the server, not the fuzzer, is the bottleneck, and it serves both.
    runs = {role: start(app, role, pairs[role], config, tmp_path / role) for role in ROLES}
    try:
        outputs = {role: run.communicate(timeout=900)[0] for role, run in runs.items()}
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
        logs = [tmp_path / role / "created.ndjson" for role in ROLES]
        undo(http, pairs, orders=created_by(logs, "/api/orders/"), products=created_by(logs, "/api/products/"))
    failures = []
    for role, run in runs.items():
        generated = re.search(r"(\d+) generated", outputs[role])
        print(f"\nschemathesis as {role}: {generated.group(1) if generated else '?'} test cases, exit {run.returncode}")
        print("\n".join(line.strip() for line in outputs[role].splitlines() if SUMMARY_LINE.search(line)))
        if run.returncode != 0 or not generated:
            failures.append(f"===== schemathesis as {role} (exit {run.returncode}) =====\n{outputs[role]}")
    print(f"both roles in {time.monotonic() - started:.1f} s")
    assert not failures, "\n".join(failures)
