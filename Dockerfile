# syntax=docker/dockerfile:1
# The trading service in a container (docs/deploy.md). Not built on the machines this project is
# developed on (they run no Docker engine): CI lints it with hadolint, and
# tests/test_deploy_files.py checks it names the service's real settings, port and health route.
#
# The base image is pinned by digest: python:3.11-slim-bookworm, the digest taken from public
# Dockerfiles that pin it (not pulled here). Check it, or pin a newer one, with
#   docker buildx imagetools inspect python:3.11-slim-bookworm
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# --- build: the dependencies into a virtual environment ------------------------------------
FROM ${PYTHON_IMAGE} AS build
WORKDIR /build
RUN python -m venv /venv
COPY requirements.txt .
RUN /venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt

# --- run: the environment and the code, as a user without privileges -----------------------
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 trader \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/trader trader \
    && mkdir -p /app/data && chown trader:trader /app/data
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=trader:trader . .
USER 10001:10001
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    API_HOST=0.0.0.0 \
    API_PORT=8000
EXPOSE 8000
VOLUME ["/app/data"]
# Unhealthy when /health does not answer, or a symbol's newest trade (hence its candle) is stale.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
    CMD ["python", "scripts/healthcheck.py", "http://127.0.0.1:8000/health"]
CMD ["python", "main.py"]
