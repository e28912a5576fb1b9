#!/bin/sh
# Container entrypoint: bring the database up to date, then hand PID 1 to CMD
# (exec, so the ASGI server receives SIGTERM directly and shuts down cleanly).
set -eu

# migrate is idempotent, so every start runs it: a lone `docker run` of the
# image is self-sufficient. Set SKIP_MIGRATIONS=1 where a release step owns it.
# Fail fast, naming the address, when MongoDB or Redis is unreachable.
python manage.py check_dependencies

if [ "${SKIP_MIGRATIONS:-0}" != "1" ]; then
    python manage.py migrate --noinput
fi

# Opt-in demo accounts for throwaway environments; a no-op once users exist.
# Production settings refuse demo data, so this needs e.g. config.settings.local.
if [ "${LOAD_DEMO_DATA:-0}" = "1" ]; then
    python manage.py seed_demo --if-empty
fi

exec "$@"
