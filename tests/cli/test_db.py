from __future__ import annotations

from sqlalchemy import inspect

from grafana_proxy.stores.engine import create_db_engine, current_revision


def test_db_upgrade_is_idempotent_on_every_backend(db_url: str, cli_env, invoke) -> None:
    cli_env["GRAFANA_PROXY_DB_URL"] = db_url
    first = invoke("db", "upgrade")
    second = invoke("db", "upgrade")
    engine = create_db_engine(db_url)
    try:
        revision = current_revision(engine)
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert revision is not None
    assert f"revision {revision}" in first.stderr and f"revision {revision}" in second.stderr
    assert {"series", "points"} <= tables


def test_db_upgrade_reports_an_unreachable_server(cli_env, invoke) -> None:
    # Port 9 (discard) has no database: a clean error naming the server, exit 1, no traceback.
    cli_env["GRAFANA_PROXY_DB_URL"] = "postgresql+psycopg://nobody:s3cret@127.0.0.1:9/nothing"
    result = invoke("db", "upgrade", ok=False)
    assert result.exit_code == 1
    assert "127.0.0.1" in result.stderr and "Traceback" not in result.output
    assert "s3cret" not in result.output
