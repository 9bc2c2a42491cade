"""Side-by-side benchmark of grafana-proxy against Prometheus on the same samples.

Run: ``python -m benchmarks.run [--quick] [--out benchmarks/out/results.json]``; see ``benchmarks/RESULTS.md``."""
