"""Targets: one module per ``target_endpoint``, found through :mod:`grafana_proxy.targets.registry`."""
