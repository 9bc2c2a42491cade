"""Grafana dashboards, alert rules and provisioning for the grafana-proxy datasource: one Python
definition rendered for the SimpleJSON and the Infinity datasource types."""
