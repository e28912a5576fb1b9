"""One ASGI application: Django views over HTTP, Channels consumers over WebSocket."""

from __future__ import annotations

import gc
import os
from importlib import import_module

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Django must be set up before anything imports models (consumers, routing), as
# django.core.asgi.get_asgi_application does before it builds Django's own handler.
django.setup(set_prefix=False)

from config.http_handler import ThreadPoolASGIHandler  # noqa: E402

django_asgi_app = ThreadPoolASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from accounts.ws_auth import TiendaAuthMiddlewareStack  # noqa: E402
from config.lifespan import lifespan  # noqa: E402
from config.limits import RequestBodyLimit  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Bodies over the limit never reach Django's buffer; WebSocket frames are capped by the
        # server (--ws-max-size, devstack.WS_MAX_SIZE_BYTES) and messages by the consumers.
        "http": RequestBodyLimit(django_asgi_app, max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
        "websocket": AllowedHostsOriginValidator(TiendaAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": lifespan,
    }
)

# What is loaded by now lives as long as the process: keep it out of the cyclic collector's full
# collections. They re-scanned ~110,000 such objects each time (~60 ms), on top of the sockets'
# own, and a push that met one waited for it (docs/benchmarks/push.md). The URLconf is loaded
# here rather than by the first request, so that it is frozen too.
import_module(settings.ROOT_URLCONF)
gc.freeze()
