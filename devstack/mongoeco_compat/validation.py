"""Documents converted for storage or a command are checked once per value, not once per ancestor.

``DocumentCodec.encode`` (every filter, pipeline and inserted document passes through it) calls
``validate_bson_value`` on each dict before encoding its values, and that walks the dict's whole
subtree; encoding then recurses and validates each nested dict's subtree again, and every scalar
once more on its own. A listing's pipeline (a ``$match`` nested four ``$and`` deep) had its
values checked about fifty times over: 0.9 ms per command. Inside ``encode`` each dict is now
checked for its own keys only and each scalar as before: ``encode`` reaches every value anyway
(a list's items and a dict's values) and checks it there, with the same errors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def shallow(validate: Callable[[Any], None]) -> Callable[[Any], None]:
    """``validate`` (mongoeco's ``validate_bson_value``) for one value, leaving what it holds to ``encode``."""

    @functools.wraps(validate)
    def validate_bson_value(value: Any) -> None:
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    raise TypeError("BSON document keys must be strings")
            return
        if isinstance(value, list | tuple):
            return
        validate(value)

    return validate_bson_value


def install() -> None:
    from mongoeco.core import codec

    # Only the name encode calls: other callers keep the whole walk.
    codec.validate_bson_value = shallow(codec.validate_bson_value)
