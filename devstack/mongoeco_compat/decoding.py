"""Stored documents decoded without asking, for each one, which keywords the codec's ``decode`` takes.

mongoeco's SQLite engine decodes every document it reads through ``_decode_codec_payload``, which calls
``inspect.signature`` on the codec's ``decode`` each time to learn whether it takes
``preserve_bson_wrappers``: about 50 µs a document, a page of 24 products spent more on it than on
decoding them. The answer depends on the function alone, so it is worked out once per function.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any


@functools.cache
def takes_preserve_flag(decode: Callable[..., Any]) -> bool:
    """Whether ``decode`` accepts ``preserve_bson_wrappers`` (what mongoeco asks on every call)."""
    try:
        return "preserve_bson_wrappers" in inspect.signature(decode).parameters
    except (TypeError, ValueError):
        return False


def install() -> None:
    from mongoeco.engines.sqlite import SQLiteEngine

    original = SQLiteEngine._decode_codec_payload

    @functools.wraps(original)
    def decode_codec_payload(self: Any, payload: object, *, preserve_bson_wrappers: bool) -> Any:
        decode = self._codec.decode
        if not takes_preserve_flag(decode):
            return decode(payload)
        return decode(payload, preserve_bson_wrappers=preserve_bson_wrappers)

    SQLiteEngine._decode_codec_payload = decode_codec_payload
