"""The words people write for yes and no, in environment variables and in query strings."""

from __future__ import annotations

YES = frozenset({"1", "true", "yes", "on"})
NO = frozenset({"0", "false", "no", "off", ""})


def yes_no(text: str) -> bool | None:
    """True for a yes word, False for a no word (case and surrounding spaces ignored), else None."""
    word = text.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    return None
