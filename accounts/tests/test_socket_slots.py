"""accounts/socket_slots.py against the real Redis, through the real channel layer's connections."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from django_redis import get_redis_connection

from accounts.socket_slots import socket_slot_claim, socket_slot_forget, socket_slot_release, user_slots_key

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("empty_redis")]


def redis_slots(user_id: object) -> dict[str, float]:
    pairs = get_redis_connection("default").zrange(user_slots_key(user_id), 0, -1, withscores=True)
    return {member.decode(): score for member, score in pairs}


async def claim(channel: str, user_id: object = 7) -> bool:
    return await socket_slot_claim(layer=get_channel_layer(), user_id=user_id, channel=channel)


async def test_claims_up_to_the_cap_then_refuses_and_a_release_frees_one(settings) -> None:
    settings.WS_MAX_SOCKETS_PER_USER = 3
    assert [await claim(f"c{number}") for number in range(4)] == [True, True, True, False]
    assert await claim("c1") is True, "a socket already holding a slot keeps it"
    assert await claim("other", user_id=8) is True, "caps are per user"
    assert set(redis_slots(7)) == {"c0", "c1", "c2"}
    assert 0 < get_redis_connection("default").ttl(user_slots_key(7)) <= settings.WS_SOCKET_LEASE_SECONDS

    await socket_slot_release(layer=get_channel_layer(), user_id=7, channel="c0")

    assert set(redis_slots(7)) == {"c1", "c2"}
    assert await claim("c3") is True
    for channel in ("c1", "c2", "c3", "other"):
        socket_slot_forget(channel=channel)


async def test_an_unrenewed_slot_stops_counting_after_its_lease(settings) -> None:
    settings.WS_MAX_SOCKETS_PER_USER = 1
    settings.WS_SOCKET_LEASE_SECONDS = 1
    assert await claim("crashed") is True
    socket_slot_forget(channel="crashed")  # its process is gone: nobody renews it, nobody releases it
    assert await claim("new") is False

    await asyncio.sleep(1.1)

    assert await claim("new") is True
    assert set(redis_slots(7)) == {"new"}
    socket_slot_forget(channel="new")


async def test_held_slots_are_renewed_while_the_socket_is_open(settings) -> None:
    settings.WS_MAX_SOCKETS_PER_USER = 1
    settings.WS_SOCKET_LEASE_SECONDS = 1
    assert await claim("open") is True
    first_expiry = redis_slots(7)["open"]

    await asyncio.sleep(2.2)  # two leases: without renewals it would be gone

    assert await claim("another") is False
    assert redis_slots(7)["open"] > first_expiry + 1500
    await socket_slot_release(layer=get_channel_layer(), user_id=7, channel="open")
    assert redis_slots(7) == {}


async def test_a_cap_of_zero_turns_the_slots_off(settings) -> None:
    settings.WS_MAX_SOCKETS_PER_USER = 0
    assert all([await claim(f"c{number}") for number in range(50)])
    assert get_redis_connection("default").exists(user_slots_key(7)) == 0
