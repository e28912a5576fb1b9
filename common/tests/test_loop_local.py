"""common/loop_local.py: one value per running event loop."""

from __future__ import annotations

import asyncio

import pytest

from common.loop_local import LoopLocal


def test_each_loop_gets_its_own_value_made_once() -> None:
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    per_loop = LoopLocal(make)

    async def twice() -> tuple[object, object]:
        return per_loop.get(), per_loop.get()

    first = asyncio.run(twice())
    second = asyncio.run(twice())
    assert first[0] is first[1]
    assert second[0] is second[1]
    assert first[0] is not second[0]
    assert len(made) == 2


def test_outside_a_running_loop_it_raises() -> None:
    with pytest.raises(RuntimeError):
        LoopLocal(dict).get()
