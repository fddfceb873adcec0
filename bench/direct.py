"""The direct-insert baseline: the same ``documents`` rows written straight into a database
of the same kind with the driver's ``executemany`` — no HTTP, no sync rules, no SQLAlchemy —
tuned as HQ is: the same batch size, one transaction per batch, and on SQLite the same
pragmas (WAL, ``synchronous = FULL``). The schema is made by ``SQLStore``'s migrations, so
the indexes are the same too. Rows are built before the clock starts: this is the floor of
storing the data, not of serialising it."""

import sqlite3
import time

from sqlalchemy.engine import make_url

from .data import row

COLUMNS = ("id", "type", "rev", "base_rev", "seq", "deleted", "updated_at", "device",
           "author", "inspection_id", "campaign_id", "province_code", "team", "body")


class Direct:
    def __init__(self, url, create=False):
        if create:
            from fieldkit.core.store.sql import SQLStore
            SQLStore(url).close()  # the schema, by the migrations
        self.url = make_url(url)
        self.postgres = self.url.get_backend_name() == "postgresql"
        if self.postgres:
            import psycopg
            self.connection = psycopg.connect(
                self.url.set(drivername="postgresql").render_as_string(hide_password=False),
                autocommit=True)
            values = ", ".join(f"%({c})s::jsonb" if c == "body" else f"%({c})s"
                               for c in COLUMNS)
        else:
            self.connection = sqlite3.connect(self.url.database, isolation_level=None,
                                              check_same_thread=False)
            self.connection.execute("PRAGMA journal_mode = WAL")
            self.connection.execute("PRAGMA synchronous = FULL")
            values = ", ".join(f":{c}" for c in COLUMNS)
        columns = ", ".join(COLUMNS)
        self.insert_sql = f"INSERT INTO documents ({columns}) VALUES ({values})"
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "id")
        self.upsert_sql = f"{self.insert_sql} ON CONFLICT (id) DO UPDATE SET {updates}"

    def _batch(self, sql, rows):
        if self.postgres:
            with self.connection.transaction(), self.connection.cursor() as cursor:
                cursor.executemany(sql, rows)
        else:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                self.connection.executemany(sql, rows)
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    def insert(self, docs, batch, first_seq=1):
        """Insert ``docs`` in batches of ``batch`` rows; returns the seconds taken."""
        rows = [row(doc, seq) for seq, doc in enumerate(docs, first_seq)]
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            self._batch(self.insert_sql, rows[start:start + batch])
        return time.perf_counter() - started

    def upsert(self, docs, last_seq):
        """Upsert ``docs`` (existing ids) in one transaction; returns the seconds taken."""
        first = last_seq - len(docs) + 1
        rows = [row(doc, seq) for seq, doc in enumerate(docs, first)]
        started = time.perf_counter()
        self._batch(self.upsert_sql, rows)
        return time.perf_counter() - started

    def count(self):
        return self.connection.execute("SELECT count(*) FROM documents").fetchone()[0]

    def close(self):
        self.connection.close()
