# syntax=docker/dockerfile:1.7
# cartlift: one image for the API (default command), the nightly `cartlift rebuild` and the CLI.
#   docker build -t cartlift .
#   docker run -p 8000:8000 -e CARTLIFT_DATABASE_URL=... -e CARTLIFT_REDIS_URL=... \
#       -e CARTLIFT_API_KEYS="$(cat shop-keys)" cartlift
# The server listens on 0.0.0.0, so it refuses to start without keys (protected mode): pass
# CARTLIFT_API_KEYS from a secret, or mount a keys file of hashed secrets, e.g.
#   docker run --mount type=bind,src=$PWD/keys.txt,dst=/run/secrets/cartlift-keys,ro \
#       -e CARTLIFT_API_KEYS_FILE=/run/secrets/cartlift-keys ... cartlift

ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# ---- builder: resolve the locked runtime dependencies into /app/.venv ----
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Dependencies first: this layer is reused until pyproject.toml or uv.lock change.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself. It stays an editable install on purpose: migrations and
# alembic.ini are found next to the package (/app), not inside site-packages.
COPY pyproject.toml uv.lock README.md alembic.ini ./
COPY migrations ./migrations
COPY app ./app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
    && python -m compileall -q app migrations

# ---- runtime: the venv and the sources, no build tools, a non-root user ----
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 cartlift \
    && useradd --system --uid 10001 --gid cartlift --home-dir /app --shell /usr/sbin/nologin cartlift \
    && mkdir -p /data \
    && chown cartlift:cartlift /data
WORKDIR /app
COPY --from=builder /app /app

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CARTLIFT_DATABASE_URL=sqlite+aiosqlite:////data/cartlift.db \
    CARTLIFT_SNAPSHOT_DIR=/data/rules
# Without CARTLIFT_REDIS_URL / a Postgres URL the container keeps its SQLite file and rule
# snapshots here; mount a volume to keep them across restarts.
VOLUME ["/data"]
USER cartlift
EXPOSE 8000

# Liveness of the process only (/readyz tells whether rules are loaded). No curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Migrations are idempotent, so every start brings the schema to head before serving.
# `exec` makes the server PID 1, so `docker stop` (SIGTERM) shuts it down gracefully.
CMD ["sh", "-c", "cartlift migrate && exec cartlift serve --host 0.0.0.0 --port 8000"]
