"""grafana-proxy: one Grafana datasource for models in production."""

__version__ = "0.1.0"
