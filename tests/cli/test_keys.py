from __future__ import annotations

from tests.cli.conftest import Invoke


def _key_of(result_stdout: str) -> str:
    lines = result_stdout.splitlines()
    assert lines, "keys create printed nothing on stdout"
    return lines[-1]


def test_create_prints_the_key_alone_on_the_last_line_and_it_verifies(invoke: Invoke, stores_of) -> None:
    result = invoke("keys", "create", "--project", "alpha", "--project", "beta", "--name", "grafana")
    secret = _key_of(result.stdout)
    assert secret == secret.strip() and " " not in secret and len(secret) >= 32
    assert result.stdout == secret + "\n", "stdout must hold the key only, details go to stderr"
    assert "alpha" in result.stderr
    with stores_of() as stores:
        key = stores.keys.verify(secret)
    assert key is not None
    assert key.projects == ("alpha", "beta") and key.scope == "read" and key.name == "grafana"


def test_create_all_projects_write(invoke: Invoke, stores_of) -> None:
    secret = _key_of(invoke("keys", "create", "--all-projects", "--write").stdout)
    with stores_of() as stores:
        key = stores.keys.verify(secret)
    assert key is not None and key.projects is None and key.scope == "write"


def test_create_needs_exactly_one_of_project_or_all_projects(invoke: Invoke) -> None:
    for args in (("keys", "create"), ("keys", "create", "--project", "a", "--all-projects")):
        result = invoke(*args, ok=False)
        assert result.exit_code == 1
        assert "--all-projects" in result.stderr
        assert result.stdout == ""


def test_list_never_shows_secrets(invoke: Invoke) -> None:
    first = _key_of(invoke("keys", "create", "--project", "alpha", "--name", "one").stdout)
    second = _key_of(invoke("keys", "create", "--all-projects", "--write", "--name", "two").stdout)
    listing = invoke("keys", "list")
    for secret in (first, second):
        assert secret not in listing.output
        # Not even the random part of the secret, in case the table wrapped the whole string.
        assert secret[-16:] not in listing.output
    assert "one" in listing.stdout and "two" in listing.stdout
    assert "write" in listing.stdout and "alpha" in listing.stdout


def test_revoke(invoke: Invoke, stores_of) -> None:
    secret = _key_of(invoke("keys", "create", "--project", "alpha").stdout)
    with stores_of() as stores:
        key = stores.keys.verify(secret)
    assert key is not None
    invoke("keys", "revoke", key.key_id)
    with stores_of() as stores:
        assert stores.keys.verify(secret) is None
        assert [k.revoked_at is not None for k in stores.keys.all()] == [True]
    again = invoke("keys", "revoke", key.key_id, ok=False)
    assert again.exit_code == 1
    unknown = invoke("keys", "revoke", "no-such-key", ok=False)
    assert unknown.exit_code == 1 and "no-such-key" in unknown.stderr
