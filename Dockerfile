# stopgate: a small image, built in two stages so no compiler reaches the final one.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY smpp ./smpp
COPY rules ./rules
COPY gateway ./gateway
RUN python -m venv /opt/stopgate \
 && /opt/stopgate/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/stopgate/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/stopgate --create-home stopgate
COPY --from=build /opt/stopgate /opt/stopgate
COPY config.toml /etc/stopgate/config.toml
ENV PATH=/opt/stopgate/bin:$PATH \
    STOPGATE_CONFIG=/etc/stopgate/config.toml \
    STOPGATE_SERVER_DATA_DIR=/var/lib/stopgate \
    STOPGATE_SERVER_SMPP_LISTEN=0.0.0.0:2775 \
    STOPGATE_SERVER_HTTP_LISTEN=0.0.0.0:8080
USER stopgate
WORKDIR /var/lib/stopgate
EXPOSE 2775 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["stopgate"]
CMD ["serve"]
