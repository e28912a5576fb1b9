"""Development on a laptop: `make run`. Debug on, e-mail to files under var/mail/ (base.py), a throwaway secret."""

from __future__ import annotations

from config.env import env_bool, env_str
from config.settings.base import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "local-only-insecure-key-do-not-deploy-" + "x" * 30)
SIMPLE_JWT["SIGNING_KEY"] = env_str("JWT_SIGNING_KEY", "") or SECRET_KEY
# Django's debug pages are inline styles and scripts: in debug, the browser only reports what the
# policy would block (in the console). Tests, `DJANGO_DEBUG=0 make run` and production enforce it.
CONTENT_SECURITY_POLICY_REPORT_ONLY = DEBUG

# whitenoise serves straight from the app directories; no collectstatic needed here.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The browsable API helps while developing (base.py reads DEBUG before this file sets it).
REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
    "rest_framework.renderers.JSONRenderer",
    "rest_framework.renderers.BrowsableAPIRenderer",
]
