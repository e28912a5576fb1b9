"""The tests' own servers: plain `pytest` starts them, and the test settings refuse any other.

The stand-in for `make run` here is a redis-server holding a cache entry, a revoked token and a
rate limit, and a MongoDB address with nothing behind it (a test run that reached for it would
fail on its timeouts).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from accounts import ratelimit
from accounts.blocklist import revoked_key
from devstack.processes import ProcessGroup, free_port
from devstack.pytest_plugin import work_unit
from devstack.services import start_redis
from devstack.testservers import MONGODB, REDIS, WORKERS, worker_args, workers_for

ROOT = Path(__file__).resolve().parents[2]
PYTEST = Path(sys.executable).parent / "pytest"
# One test that uses the database and Redis (the login rate limit of 127.0.0.1, held below too).
ONE_TEST = "accounts/tests/test_ratelimit.py::test_five_failures_lock_the_account_even_for_the_right_password"
HELD = {
    "cache:shop:page:home": "a cached page",
    revoked_key("a-revoked-token-id"): "1",
    ratelimit.login_ip_key("127.0.0.1"): "7",
}


@pytest.fixture
def make_run_redis() -> Iterator[redis.Redis]:
    """A Redis that the tests did not start, holding what `make run`'s would."""
    group = ProcessGroup()
    try:
        url = start_redis(group, port=free_port(), data_dir=None)
        client = redis.Redis.from_url(url, decode_responses=True)
        client.mset(HELD)
        yield client
        client.close()
    finally:
        group.stop_all()


def shell_of_make_run(client: redis.Redis, **changes: str) -> dict[str, str]:
    """A developer's environment pointing at `make run`'s servers, with nothing of this test run's."""
    ours = {*REDIS, *MONGODB}
    env = {name: value for name, value in os.environ.items() if name not in ours}
    port = client.connection_pool.connection_kwargs["port"]
    env.update(
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
        MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}/tienda?directConnection=true",
        MONGODB_TIMEOUT_MS="1500",
        **changes,
    )
    return env


def test_plain_pytest_runs_one_test_on_servers_of_its_own(make_run_redis: redis.Redis) -> None:
    env = shell_of_make_run(make_run_redis)
    result = subprocess.run(
        [PYTEST, "-p", "no:cacheprovider", "-q", ONE_TEST], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert make_run_redis.mget(list(HELD)) == list(HELD.values())
    assert make_run_redis.dbsize() == len(HELD)


def manage_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_test_settings_refuse_a_redis_nothing_started_for_the_tests(make_run_redis: redis.Redis) -> None:
    result = manage_check(shell_of_make_run(make_run_redis))
    assert result.returncode != 0
    assert "The tests use only servers started for them, and Redis at 127.0.0.1:" in result.stderr
    assert "TIENDA_TEST_REDIS_PID is not set" in result.stderr
    assert make_run_redis.dbsize() == len(HELD)


def test_the_test_settings_refuse_a_redis_that_is_not_the_process_started(make_run_redis: redis.Redis) -> None:
    result = manage_check(shell_of_make_run(make_run_redis, TIENDA_TEST_REDIS_PID="1"))
    assert result.returncode != 0
    actual = make_run_redis.info("server")["process_id"]
    assert f"its process is {actual}, the one started for the tests was 1" in result.stderr


def test_the_test_settings_accept_servers_given_for_the_tests(make_run_redis: redis.Redis) -> None:
    env = shell_of_make_run(make_run_redis)
    env.update({REDIS.given: env[REDIS.url], MONGODB.given: env[MONGODB.url]})
    result = manage_check(env)
    assert result.returncode == 0, result.stderr


def test_make_test_runs_on_workers_unless_servers_are_given_or_the_arguments_choose() -> None:
    assert worker_args({}, ["-x", "-k", "health"]) == ["-n", str(WORKERS)]
    assert worker_args({REDIS.given: "redis://ci:6379/0"}, []) == []  # shared servers: one process
    assert worker_args({MONGODB.given: "mongodb://ci:27017/t"}, []) == []
    for chosen in (["-n", "0"], ["-n0"], ["--numprocesses=4"], ["-p", "no:xdist"]):
        assert worker_args({}, chosen) == []


def test_one_worker_more_than_the_cores_between_two_and_six() -> None:
    assert [workers_for(cores) for cores in (1, 2, 3, 4, 5, 8, 64)] == [2, 3, 4, 5, 6, 6, 6]


def test_a_worker_runs_a_module_or_a_directory_sharing_one_stack_as_a_whole() -> None:
    assert work_unit("shop/tests/test_api.py::test_list[page-2]") == "shop/tests/test_api.py"
    assert work_unit("devstack/tests/test_mongoeco_speed.py::TestSharedReads::test_x") == (
        "devstack/tests/test_mongoeco_speed.py"
    )
    assert work_unit("tests/e2e/test_api_fuzzing.py::test_every_answer") == "tests/e2e/"
    assert work_unit("tests/faults/test_redis_down.py::test_outage") == "tests/faults/"


def test_each_test_of_a_module_that_starts_its_own_stacks_is_a_unit() -> None:
    for nodeid in (
        "devstack/tests/test_run.py::test_children_die_with_a_killed_launcher",
        "devstack/tests/test_run.py::test_a_bad_web_concurrency_stops_start_up_before_anything_starts[two]",
        "tests/jobs/test_order_mails.py::test_an_email_never_queued_is_sent_by_the_reconciliation",
    ):
        assert work_unit(nodeid) == nodeid
