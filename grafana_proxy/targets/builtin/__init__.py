"""Built-in targets. Every public module here is loaded by the registry and exposes ``TARGETS``."""
