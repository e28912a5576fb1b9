"""Request body parsers for the API (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

ERROR_JSON_TOO_DEEP = _("JSON parse error - the document is nested too deeply.")


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a 400 for JSON nested too deeply to decode.

    ``json.loads('[' * 10_000 + ']' * 10_000)`` (20 KB) raises RecursionError, which DRF does not
    catch: the request ended in a 500 before this.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        """Parse like DRF; a RecursionError becomes a ParseError."""
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(ERROR_JSON_TOO_DEEP) from None
