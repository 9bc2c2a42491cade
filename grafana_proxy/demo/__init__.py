"""The demo: seeded history projects (``setup``) and the live pipeline as supervised roles (``live``):
demo model <- gateway <- traffic, with the api, ingest and controller roles of ``serve``."""
