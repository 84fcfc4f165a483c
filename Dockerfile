# groove-wallet: one image, one process per container.
# Build: docker build -t groove-wallet .
# Run:   docker run -p 8080:8080 -e GW_ADMIN_TOKEN=change-me -v gw-data:/data groove-wallet
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY config ./config
COPY wallet_store ./wallet_store
COPY groove_adapter ./groove_adapter
COPY groove_client ./groove_client
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GW_HOST=0.0.0.0 \
    GW_PORT=8080 \
    GW_DATABASE_URL=sqlite:////data/wallet.db \
    GW_LOG_FORMAT=json
RUN groupadd --system wallet && useradd --system --gid wallet --home-dir /data --shell /usr/sbin/nologin wallet \
    && mkdir -p /data && chown wallet:wallet /data
COPY --from=build /opt/venv /opt/venv
USER wallet
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request; u='http://127.0.0.1:%s/healthz' % os.environ.get('GW_PORT','8080'); sys.exit(0 if urllib.request.urlopen(u, timeout=2).status == 200 else 1)"]
ENTRYPOINT ["groove-wallet"]
CMD ["serve"]
