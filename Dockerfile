# syntax=docker/dockerfile:1
# Tienda: Django (ASGI) served by uvicorn, static files by whitenoise.
# MongoDB and Redis are external: pass MONGODB_URI and REDIS_URL at run time.

FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    PORT=8000

WORKDIR /app

# Fixed uid/gid so volume ownership is predictable across rebuilds and hosts.
RUN groupadd --system --gid 10001 tienda \
    && useradd --system --uid 10001 --gid tienda --create-home --shell /usr/sbin/nologin tienda

# Dependencies first: this layer is reused until requirements.txt changes.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The code stays root-owned: the app user can read it but not rewrite it.
COPY . .
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/docker-entrypoint

# Production settings refuse to import without these, but collectstatic touches
# neither the database nor Redis: throwaway values, set for this RUN only so
# nothing secret-looking is baked into the image's environment.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret-collectstatic-only-not-a-secret \
    DJANGO_ALLOWED_HOSTS=localhost \
    MONGODB_URI=mongodb://localhost:27017/tienda \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

# Numeric, so orchestrators (runAsNonRoot) can verify it is not root.
USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

ENTRYPOINT ["docker-entrypoint"]
# The one place that names the ASGI server. --proxy-headers trusts
# X-Forwarded-* only from FORWARDED_ALLOW_IPS (uvicorn default 127.0.0.1);
# set that env var to the reverse proxy's address in production.
# WEB_CONCURRENCY app processes share the port; unset, one per CPU the container may use
# (docs/decisions/0013-several-app-processes.md).
CMD ["sh", "-c", "exec uvicorn config.asgi:application --host 0.0.0.0 --port \"${PORT:-8000}\" --workers \"${WEB_CONCURRENCY:-$(nproc)}\" --loop uvloop --http httptools --ws websockets-sansio --ws-max-size 65536 --ws-per-message-deflate false --proxy-headers --timeout-graceful-shutdown 20 --no-access-log"]
