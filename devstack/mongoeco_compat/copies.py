"""Deep copies that return immutable values as they are.

mongoeco deep-copies a document about ten times per update: the stored document before the update
is applied, the update's working and original copies, the before and after images of the result,
and those images again when the result is built. Python's ``copy.deepcopy`` knows that str, int or
float need no copy, but not ``datetime``, ``ObjectId`` and ``Decimal128`` (bson's and mongoeco's
own), bson's ``Int64`` or mongoeco's frozen number wrappers (``BsonInt64`` ...): it rebuilds each
through ``__reduce_ex__``, about half of the time of copying an order document. These types are
immutable (frozen dataclasses, or objects without setters), so, as for str, a copy may be the
value itself. Only these exact types are registered; subclasses are copied as before.
"""

from __future__ import annotations

import copy
import datetime

from bson import Decimal128, Int64, ObjectId


def immutable_types() -> tuple[type, ...]:
    from mongoeco._types import Decimal128 as EcoDecimal128
    from mongoeco._types import ObjectId as EcoObjectId
    from mongoeco.core.bson_scalars import BsonDecimal128, BsonDouble, BsonInt32, BsonInt64

    return (
        datetime.datetime, ObjectId, Int64, Decimal128,  # as pymongo's codec decodes them
        EcoObjectId, EcoDecimal128, BsonInt32, BsonInt64, BsonDouble, BsonDecimal128,  # as mongoeco keeps them
    )  # fmt: skip


def install() -> None:
    for kind in immutable_types():
        copy._deepcopy_dispatch[kind] = copy._deepcopy_atomic  # the table deepcopy consults first
