"""Stores: protocols in ``base``, SQLAlchemy implementations beside them; open them with
``grafana_proxy.stores.engine.open_stores(settings)``."""
