"""The monitor gateway: a recording reverse proxy in front of a model service."""
