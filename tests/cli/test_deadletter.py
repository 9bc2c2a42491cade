"""``grafana-proxy deadletter list|show|replay|drop`` on every backend, against letters kept by the store."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from grafana_proxy.stores.base import Stores

from .conftest import Invoke

PAYLOAD = b'{"project":"proj","batch":[{"endpoint_id":"e","request_id":"r\\u00e9","timestamp":1}]}\x00\xff'


@pytest.fixture
def on_backend(db_url: str, cli_env: dict[str, str | None]) -> None:
    cli_env["GRAFANA_PROXY_DB_URL"] = db_url


@pytest.mark.usefixtures("on_backend")
def test_list_show_replay_drop(invoke: Invoke, stores_of: Callable[[], AbstractContextManager[Stores]]) -> None:
    with stores_of() as stores:
        letter_id = stores.dead_letters.add("spool:serve", "7", PAYLOAD, "Traceback ...\nValueError: refused", 3)

    listing = invoke("deadletter", "list").stdout
    assert "spool:serve" in listing and "ValueError: refused" in listing

    shown = invoke("deadletter", "show", str(letter_id), "--payload")
    assert shown.stdout_bytes == PAYLOAD + b"\n"  # byte for byte, not re-encoded

    invoke("deadletter", "replay", str(letter_id))
    with stores_of() as stores:
        letter = stores.dead_letters.get(letter_id)
    assert letter is not None and letter.replay_requested_at is not None and letter.payload == PAYLOAD

    invoke("deadletter", "drop", str(letter_id))
    with stores_of() as stores:
        assert stores.dead_letters.letters() == []

    missing = invoke("deadletter", "show", str(letter_id), ok=False)
    assert missing.exit_code == 1 and "no dead letter" in missing.output and "Traceback" not in missing.output
