"""orders/events.py: what a push carries, encoded once per site language."""

from __future__ import annotations

import json

from django.conf import settings

from orders import events

PAYLOAD = {"order_id": "65f0c0ffee0000000000abcd", "number": "T261126-ABCDEF", "status": "paid",
           "status_label": "Paid", "seq": 2, "event": {"seq": 2, "from": "pending", "to": "paid"}}  # fmt: skip


def test_a_push_is_encoded_once_per_site_language() -> None:
    texts = events.order_changed_texts(PAYLOAD)
    assert set(texts) == {code for code, _name in settings.LANGUAGES} == {"en", "es"}
    assert json.loads(texts["es"]) == {"type": "order.changed", "order": {**PAYLOAD, "status_label": "Pagado"}}
    assert json.loads(texts["en"]) == {"type": "order.changed", "order": PAYLOAD}


def test_a_socket_relays_its_languages_text_or_the_default() -> None:
    message = {"type": events.ORDER_CHANGED, "texts": events.order_changed_texts(PAYLOAD)}
    assert events.order_changed_text(message, "es") == message["texts"]["es"]
    # Django knows French, the site does not: such a page gets the default language's text.
    assert events.order_changed_text(message, "fr") == message["texts"][settings.LANGUAGE_CODE]


def test_unknown_statuses_keep_the_label_they_came_with() -> None:
    odd = {**PAYLOAD, "status": "lost-in-space", "status_label": "?"}
    assert events.order_in_language(odd, "es") == odd
    assert events.order_in_language({}, "es") == {}
