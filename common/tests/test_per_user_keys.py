"""common/per_user_keys.py: the keys read with every signed-in session."""

from __future__ import annotations

import pytest

from common.per_user_keys import per_user_key_templates, per_user_keys_register


def test_the_apps_register_the_card_and_the_badge_once() -> None:
    templates = per_user_key_templates()
    assert templates == (
        "acct:user:{user}", "acct:user-guard:{user}", "orders:pending:{user}", "orders:pending-guard:{user}",
    )  # fmt: skip
    per_user_keys_register("acct:user:{user}")
    assert per_user_key_templates() == templates


def test_a_template_must_name_the_user() -> None:
    with pytest.raises(ValueError, match=r"has no \{user\}"):
        per_user_keys_register("acct:user")
