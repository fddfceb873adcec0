"""Alembic environment for the HQ SQL store, configured programmatically (no alembic.ini).

``fieldkit.core.store.sql.alembic_config`` builds the Config; ``SQLStore.migrate`` hands
over an open connection (already inside a transaction, under a migration lock) through
``config.attributes["connection"]``. Without one, an engine is made from ``sqlalchemy.url``.
"""

from alembic import context
from sqlalchemy import create_engine

config = context.config


def _configure(connection):
    context.configure(
        connection=connection,
        # SQLite cannot ALTER most things: future migrations use batch mode there.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
