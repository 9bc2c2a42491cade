# grafana-proxy: the datasource service, ingest, controller, gateway, demo model and traffic
# generator are all commands of this one image. Installed exactly as the README says: pip install .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY grafana_proxy ./grafana_proxy
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data --create-home grafana-proxy

USER grafana-proxy
WORKDIR /data
ENV GRAFANA_PROXY_DATA_DIR=/data \
    GRAFANA_PROXY_HOST=0.0.0.0 \
    GRAFANA_PROXY_PORT=8080
EXPOSE 8080
CMD ["grafana-proxy", "serve"]
