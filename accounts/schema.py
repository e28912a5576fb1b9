"""OpenAPI description of Tienda's JWT authentication (drf-spectacular extension)."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class TiendaJWTScheme(SimpleJWTScheme):
    """Bearer JWT, as simplejwt's, for accounts.authentication.TiendaJWTAuthentication."""

    target_class = "accounts.authentication.TiendaJWTAuthentication"
    name = "jwtAuth"
