# Tsunagu's image: one image for the web, worker and beat containers (compose.yaml runs it three ways).
# Built with uv from the lock file; static files collected and messages compiled at build; runs as a user
# without privileges. The commands are those bin/cluster runs (and tests/ops/test_cluster.py proves).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH

# gettext for compilemessages; postgresql-client for bin/backup and bin/restore run inside the container.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv

WORKDIR /app
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev

# Build-time steps need a key to import the settings; it is thrown away with this layer (set the real one at run).
RUN DJANGO_SECRET_KEY=build-only DJANGO_STATIC_ROOT=/app/staticfiles \
        python manage.py collectstatic --noinput \
    && DJANGO_SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin tsunagu \
    && mkdir -p /app/var /srv/tsunagu/media \
    && chown -R tsunagu /app/var /srv/tsunagu/media

USER tsunagu
ENV DJANGO_STATIC_ROOT=/app/staticfiles \
    DJANGO_MEDIA_ROOT=/srv/tsunagu/media \
    DJANGO_LOG_FORMAT=json
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "crm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--timeout", "60", "--graceful-timeout", "10"]
