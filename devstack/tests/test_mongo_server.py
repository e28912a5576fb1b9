"""devstack.mongo_server: what the embedded MongoDB server prints about its own failures."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from mongoeco.errors import DuplicateKeyError, OperationFailure

from devstack.mongo_server import log_internal_errors
from devstack.testing import ROOT


def patched_server() -> Any:
    """A stand-in for mongoeco's proxy server class, patched: it records the failures it answers."""

    class Server:
        def __init__(self) -> None:
            self.answered: list[BaseException] = []

        def _wire_failure(self, error: BaseException, header: Any, state: Any) -> str:
            self.answered.append(error)
            return "error reply"

    log_internal_errors(Server)
    return Server()


def test_a_bug_inside_the_server_is_printed_with_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    server = patched_server()
    with pytest.raises(TypeError) as raised:
        {}.update(x for x in [1])  # a TypeError raised inside the "server"
    bug = raised.value
    assert server._wire_failure(bug, None, None) == "error reply"
    printed = capsys.readouterr().err
    assert "mongoeco internal error: TypeError" in printed
    assert "Traceback (most recent call last)" in printed
    assert "test_a_bug_inside_the_server" in printed  # the frame where it was raised
    assert server.answered == [bug]  # the client still gets mongoeco's error reply


def test_a_bug_wrapped_in_an_operation_failure_is_printed_too(capsys: pytest.CaptureFixture[str]) -> None:
    def wrapped_bug() -> OperationFailure:
        try:
            {}.update(x for x in [1])
        except TypeError as bug:
            try:
                raise OperationFailure(str(bug)) from bug
            except OperationFailure as error:
                return error
        raise AssertionError("no bug raised")

    server = patched_server()
    server._wire_failure(wrapped_bug(), None, None)
    printed = capsys.readouterr().err
    assert "mongoeco internal error: OperationFailure" in printed
    assert "TypeError" in printed


def test_errors_raised_on_purpose_stay_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    server = patched_server()
    duplicate = DuplicateKeyError("E11000 duplicate key")
    assert server._wire_failure(duplicate, None, None) == "error reply"
    assert capsys.readouterr().err == ""
    assert server.answered == [duplicate]


def test_the_sqlite_engine_runs_one_command_at_a_time(tmp_path) -> None:
    # The race itself is too rare to provoke in a test (2 of 46 short load runs);
    # this pins the setting that avoids it.
    from devstack.mongo_server import build_engine

    engine = build_engine("sqlite", str(tmp_path / "db.sqlite3"))
    assert engine._executor_workers == 1  # private: mongoeco is pinned exactly


def test_the_fork_server_imports_everything_a_test_server_needs(tmp_path) -> None:
    # devstack.testing.wire_server forks its servers from a process that imported these modules;
    # one missed would be imported again by every server (multiprocessing ignores a failed preload).
    script = f"""
import asyncio, importlib, sys
from devstack import mongo_server
for name in mongo_server.imported_before_ready():
    importlib.import_module(name)
before = set(sys.modules)
for engine, path in (("memory", None), ("sqlite", {str(tmp_path / "db.sqlite3")!r})):
    async def start_and_stop():
        task = asyncio.ensure_future(mongo_server.serve(
            host="127.0.0.1", port=0, engine=engine, path=path, ready=lambda uri: task.cancel()))
        try:
            await task
        except asyncio.CancelledError:
            pass
    asyncio.run(start_and_stop())
print(sorted(name for name in set(sys.modules) - before if name.startswith(("mongoeco", "devstack"))))
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
