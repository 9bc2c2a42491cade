"""The monitor gateway (issue 3 §4): a recording reverse proxy in front of a model service."""
