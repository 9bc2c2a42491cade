"""The write API tests use the same client, keys and seeded stores as the protocol tests."""

from tests.protocol.conftest import client, keys, settings

__all__ = ["client", "keys", "settings"]
