"""`make run`: a production-like demo on one machine. E-mail to files under var/mail/ (base.py), a throwaway secret.

DEBUG is off unless DJANGO_DEBUG=1, so a newcomer sees what production serves: the strict
Content-Security-Policy enforced, the friendly 404 and 500 pages, no browsable API. With
DJANGO_DEBUG=1 they get Django's debug pages, the browsable API, and the policy in report-only
mode (the debug pages use inline styles and scripts; the browser's console lists what it would block).
"""

from __future__ import annotations

from config.env import env_bool, env_str
from config.settings.base import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", default=False)  # base.py reads the same variable (the browsable API)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "local-only-insecure-key-do-not-deploy-" + "x" * 30)
SIMPLE_JWT["SIGNING_KEY"] = env_str("JWT_SIGNING_KEY", "") or SECRET_KEY
CONTENT_SECURITY_POLICY_REPORT_ONLY = DEBUG

# whitenoise serves straight from the app directories; no collectstatic needed here.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
