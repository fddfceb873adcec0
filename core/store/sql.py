"""The headquarters store: SQLAlchemy Core over an SQLite file (default) or PostgreSQL.

Tables are made only by the Alembic migrations in ``migrations/`` (run on open, or by
``SQLStore.migrate``). Several worker processes may write to one database at once, and pull
reads ``changes(since)`` as a cursor, so a sequence number must never become visible after a
higher one already was. A writing transaction therefore locks the single ``seq_counter`` row
before it takes its first number (``SELECT ... FOR UPDATE``; on SQLite ``BEGIN IMMEDIATE``
holds the database write lock from the start) and sets the row to its last number before
commit. The next writer waits for that lock, so transactions commit in the order of their
numbers. Within a transaction, rows are buffered and sent with executemany.
"""

import json
import threading
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from ..documents import now_iso
from ..errors import StoreError
from .base import Store
from .sql_schema import (EXTRACTED, JSON_BODY, MIGRATIONS, _TEXT_COLUMNS,  # noqa: F401
                         _current_revision, _known_revisions, alembic_config, conflicts,
                         documents, head_revision, meta, metadata, seq_counter)

# Any bigint: PostgreSQL advisory lock that serialises migrations across processes.
_MIGRATION_LOCK = int.from_bytes(b"fieldkit", "big") >> 1
_FLUSH_AT = 1000  # pending rows in a transaction before they are sent to the database


_MISSING = object()
# One encoder for every body: ``json.dumps`` with options builds a new encoder per call.
_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


# --- the store -----------------------------------------------------------------------------

class _Level:
    """One ``transaction()`` block: the rows it wrote that are not sent yet, and, once it has
    touched the database, the savepoint that lets it be undone alone."""

    __slots__ = ("rows", "seq_mark", "savepoint", "seq_in_db_at_savepoint")

    def __init__(self, seq_mark=None):
        self.rows = {}  # doc id -> row: the latest version written in this block
        self.seq_mark = seq_mark  # the transaction's last seq when the block began
        self.savepoint = None
        self.seq_in_db_at_savepoint = None


class _Transaction:
    """One open database transaction, owned by one thread; ``levels`` are its nested blocks."""

    __slots__ = ("connection", "owner", "levels", "seq", "seq_in_db")

    def __init__(self, connection):
        self.connection = connection
        self.owner = threading.get_ident()
        self.levels = [_Level()]
        self.seq = None  # last sequence number given in this transaction (None: none yet)
        self.seq_in_db = None  # what the seq_counter row holds in this transaction


class SQLStore(Store):
    """Documents, change feed, conflicts and metadata in SQL tables; see module docstring.

    ``create`` (default True) creates or upgrades the schema on open; with ``create=False``
    the database must already be at this code's schema version. ``busy_timeout`` (seconds)
    and ``sqlite_synchronous`` tune SQLite; ``engine_options`` go to ``create_engine``.
    """

    def __init__(self, url, create=True, busy_timeout=30.0, sqlite_synchronous="FULL",
                 engine_options=None, **_ignored):
        self.url = make_url(str(url))
        self.where = self.url.render_as_string(hide_password=True)
        self.dialect = self.url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"The HQ store runs on SQLite or PostgreSQL, not {self.dialect} "
                             f"({self.where}).")
        self._memory = self.dialect == "sqlite" and self.url.database in (None, "", ":memory:")
        if self.dialect == "sqlite" and not self._memory and create:
            Path(self.url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine = self._make_engine(busy_timeout, sqlite_synchronous, engine_options or {})
        # Reads outside a transaction: no BEGIN IMMEDIATE on SQLite, autocommit on PostgreSQL.
        read_options = {"fieldkit_read": True}
        if self.dialect == "postgresql":
            read_options["isolation_level"] = "AUTOCOMMIT"
        self._read_engine = self.engine.execution_options(**read_options)
        self._lock = threading.RLock()
        self._tx = None
        self._closed = False
        self._upsert = self._upsert_statement()
        self._inserts = {}  # (table, columns) -> driver INSERT text, for insert_rows
        try:
            self._open(create)
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self):
        return f"SQLStore({self.where!r})"

    # --- opening and migrations ----------------------------------------------------------

    def _make_engine(self, busy_timeout, synchronous, engine_options):
        options = {"pool_pre_ping": True, "json_serializer": _dumps,
                   "json_deserializer": json.loads}
        if self.dialect == "sqlite":
            options["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout}
            if self._memory:
                options["poolclass"] = StaticPool
        options.update(engine_options)
        engine = sa.create_engine(self.url, **options)
        if self.dialect == "sqlite":
            _prepare_sqlite(engine, busy_timeout, synchronous, wal=not self._memory)
        return engine

    def _open(self, create):
        head = head_revision()
        try:
            with self._read_engine.connect() as connection:
                current = _current_revision(connection)
        except SQLAlchemyError as exc:
            raise self._error("opened", exc) from exc
        if current == head:
            return
        self._check_not_newer(current)
        if not create:
            if current is None:
                raise StoreError(f"There is no fieldkit HQ database at {self.where}.")
            raise StoreError(
                f"The HQ database at {self.where} has schema version {current}; this fieldkit "
                f"needs {head}. Run the migrations (SQLStore.migrate) first.")
        self.migrate()

    def _check_not_newer(self, current):
        if current is not None and current not in _known_revisions():
            raise StoreError(
                f"The HQ database at {self.where} has schema version {current}, which is newer "
                f"than this fieldkit knows (its newest is {head_revision()}). Upgrade fieldkit "
                f"to open it.")

    def migrate(self):
        """Upgrade the schema to this code's version (Alembic ``upgrade head``), creating it
        in an empty database. Safe when several processes open the database at once."""
        with self._lock:
            self._check_open()
            try:
                with self.engine.begin() as connection:
                    self._lock_migrations(connection)
                    current = _current_revision(connection)
                    self._check_not_newer(current)
                    if current != head_revision():
                        self._alembic(connection, command.upgrade, "head")
            except SQLAlchemyError as exc:
                raise self._error("migrated", exc) from exc

    def _alembic(self, connection, run, target):
        """Run an Alembic command on ``connection`` (inside its transaction and lock)."""
        config = alembic_config(self.url)
        config.attributes["connection"] = connection
        run(config, target)

    def _lock_migrations(self, connection):
        # SQLite: BEGIN IMMEDIATE already holds the database write lock.
        if self.dialect == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))

    def schema_version(self):
        """The schema version (Alembic revision) the database is at, or None if empty."""
        with self._reading(sync=False) as connection:
            return _current_revision(connection)

    def drop_all_for_tests(self):
        """Drop every table the migrations made and migrate again: an empty store. Tests
        only."""
        with self._lock:
            self._check_open()
            try:
                with self.engine.begin() as connection:
                    self._lock_migrations(connection)
                    if _current_revision(connection) in _known_revisions():
                        self._alembic(connection, command.downgrade, "base")
                    for table in reversed(metadata.sorted_tables):  # leftovers of a bad state
                        connection.execute(sa.text(f"DROP TABLE IF EXISTS {table.name}"))
                    connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
            except SQLAlchemyError as exc:
                raise self._error("cleared", exc) from exc
            self.migrate()

    def close(self):
        with self._lock:  # lets a transaction of another thread finish first
            self._closed = True
            self.engine.dispose()

    # --- transactions --------------------------------------------------------------------

    @contextmanager
    def transaction(self):
        """One database transaction for every write inside, under a thread lock: all or
        nothing. A nested block joins it; if the nested block raises, only its own writes
        are undone (a savepoint, taken only if the block reached the database). Writes are
        sent in batches, at the latest on commit."""
        with self._lock:  # re-entrant: if a transaction is open, this thread owns it
            tx = self._tx
            if tx is not None:
                level = _Level(seq_mark=tx.seq)
                tx.levels.append(level)
                try:
                    yield self
                except BaseException:
                    self._undo_level(tx)
                    raise
                self._end_level(tx)
                return
            self._check_open()
            try:
                connection = self.engine.connect()
                connection.begin()
            except SQLAlchemyError as exc:
                raise self._error("written", exc) from exc
            self._tx = tx = _Transaction(connection)
            try:
                try:
                    yield self
                except BaseException:
                    connection.rollback()
                    raise
                try:
                    self._sync(tx)
                    connection.commit()
                except SQLAlchemyError as exc:
                    connection.rollback()
                    raise self._error("written", exc) from exc
            finally:
                self._tx = None
                connection.close()

    def _end_level(self, tx):
        level = tx.levels.pop()
        parent = tx.levels[-1]
        parent.rows.update(level.rows)
        try:
            if level.savepoint is not None:
                level.savepoint.commit()  # RELEASE SAVEPOINT
            if len(tx.levels) == 1 and len(parent.rows) >= _FLUSH_AT:
                self._sync(tx)
        except SQLAlchemyError as exc:
            raise self._error("written", exc) from exc

    def _undo_level(self, tx):
        level = tx.levels.pop()
        tx.seq = level.seq_mark
        if level.savepoint is not None:
            tx.seq_in_db = level.seq_in_db_at_savepoint
            try:
                level.savepoint.rollback()
            except SQLAlchemyError:
                pass  # the transaction is broken; its end rolls everything back

    def _sync(self, tx, rows=True):
        """Bring the database up to date for a statement in the innermost block: each open
        nested block gets its savepoint, taken after the rows of the blocks around it were
        sent. With ``rows``, the innermost block's rows and the counter are sent too."""
        innermost = len(tx.levels) - 1
        for depth, level in enumerate(tx.levels):
            if depth and level.savepoint is None:
                level.seq_in_db_at_savepoint = tx.seq_in_db
                level.savepoint = tx.connection.begin_nested()
            if level.rows and (rows or depth < innermost):
                columns = self._upsert.columns
                batch = [tuple(row[column] for column in columns)
                         for row in level.rows.values()]
                level.rows.clear()
                sent = tx.connection.exec_driver_sql(self._upsert.sql, batch)
                if sent.rowcount != len(batch):  # an indexed field changed: set every column
                    tx.connection.exec_driver_sql(self._upsert.every_column, batch)
        if rows and tx.seq is not None and tx.seq != tx.seq_in_db:
            tx.connection.execute(seq_counter.update().where(seq_counter.c.id == 1)
                                  .values(value=tx.seq))
            tx.seq_in_db = tx.seq

    def _own_tx(self):
        tx = self._tx
        return tx if tx is not None and tx.owner == threading.get_ident() else None

    @contextmanager
    def _writing(self, sync=True):
        """This thread's open transaction, else a new one around the block: for operations
        that are atomic by themselves (one changing statement, or buffered rows), so they
        need no nested block. ``sync`` prepares the database for a statement."""
        tx = self._own_tx()
        try:
            if tx is not None:
                if sync:
                    self._sync(tx, rows=False)
                yield tx
                return
            with self.transaction():
                yield self._tx
        except SQLAlchemyError as exc:
            raise self._error("written", exc) from exc

    @contextmanager
    def _reading(self, sync=True):
        """A connection for reading: this thread's transaction (pending writes sent first
        when ``sync``), else a fresh one."""
        try:
            tx = self._own_tx()
            if tx is not None:
                if sync:
                    self._sync(tx)
                yield tx.connection
                return
            self._check_open()
            if self._memory:  # one shared connection: keep other threads' transactions out
                with self._lock, self._read_engine.connect() as connection:
                    yield connection
            else:
                with self._read_engine.connect() as connection:
                    yield connection
        except SQLAlchemyError as exc:
            raise self._error("read", exc) from exc

    @contextmanager
    def connection(self):
        """A connection for report queries on ``metadata``'s tables (sees this thread's
        uncommitted writes when called inside ``transaction()``)."""
        with self._reading() as connection:
            yield connection

    def _reserve(self, tx, count):
        """``count`` new sequence numbers. The first call in a transaction locks the counter
        row (``SELECT ... FOR UPDATE``; on SQLite ``BEGIN IMMEDIATE`` already holds the write
        lock) until commit; numbers are counted on in memory and the row is set on flush."""
        if tx.seq is None:
            locked = sa.select(seq_counter.c.value).where(seq_counter.c.id == 1)
            tx.seq = tx.seq_in_db = tx.connection.execute(
                locked.with_for_update()).scalar_one()
        tx.seq += count
        return list(range(tx.seq - count + 1, tx.seq + 1))

    def _upsert_statement(self):
        """The documents upsert as the driver's own SQL and its column order: rows are sent
        with the DB-API ``executemany`` as prebuilt tuples, which skips SQLAlchemy's
        per-row parameter processing (a third of a push's time in a profile of 10k
        documents). The body arrives already serialised (at write time, so later changes
        to the caller's dict cannot leak in).

        Two forms. ``sql`` updates an existing row only where its indexed fields (type,
        inspection, campaign, province) stay the same, and leaves them out of the SET list:
        SQLite rewrites the index entries of every column it sets, even to the same value,
        and a new version almost never moves a document (measured: 100 edits upserted into
        100k documents, 36 ms setting every column, 12 ms without those four). When the
        database reports fewer rows than sent, ``every_column`` sends the batch again
        setting every column (rows already written are written the same again)."""
        # Computed (generated) columns are the database's to fill: never written.
        columns = tuple(column.name for column in documents.c if column.computed is None)
        insert = self._driver_insert("documents", columns, json_columns=("body",))
        indexed = sorted({column.name for index in documents.indexes
                          for column in index.columns} & set(columns) - {"id", "seq"})
        same = " IS " if self.dialect == "sqlite" else " IS NOT DISTINCT FROM "
        kept = " AND ".join(f"documents.{name}{same}excluded.{name}" for name in indexed)

        def upsert(names):
            updates = ", ".join(f"{name} = excluded.{name}" for name in names)
            return f"{insert} ON CONFLICT (id) DO UPDATE SET {updates}"
        return _DriverStatement(
            f"{upsert([n for n in columns if n != 'id' and n not in indexed])} WHERE {kept}",
            columns, upsert([n for n in columns if n != "id"]))

    def _driver_insert(self, table, columns, json_columns=()):
        """``INSERT INTO table (columns) VALUES (...)`` in the driver's parameter style;
        JSON columns take JSON text (cast to JSONB on PostgreSQL)."""
        mark = "?" if self.dialect == "sqlite" else "%s"
        values = ", ".join(f"{mark}::jsonb" if self.dialect == "postgresql"
                           and name in json_columns else mark for name in columns)
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"

    def insert_rows(self, table, rows):
        """Append ``rows`` (dicts with the same keys) to ``table`` (a ``Table`` of
        ``metadata`` or of another module's tables in this database) in the open
        transaction, else in one of their own, with one driver ``executemany``: for
        append-only logs written in bulk, such as the audit rows of a push. JSON columns
        are serialised here."""
        if not rows:
            return
        columns = tuple(rows[0])
        json_columns = {name for name in columns if isinstance(table.c[name].type, sa.JSON)}
        key = (table.name, columns)
        sql = self._inserts.get(key)
        if sql is None:
            sql = self._inserts[key] = self._driver_insert(table.name, columns, json_columns)
        batch = [tuple(_dumps(row[name]) if name in json_columns and row[name] is not None
                       else row[name] for name in columns) for row in rows]
        with self._writing() as tx:
            tx.connection.exec_driver_sql(sql, batch)

    # --- documents -----------------------------------------------------------------------

    def write(self, doc):
        return self.write_many([doc])[0]

    def write_many(self, docs):
        """Write several documents in one transaction (or the open one); their seqs, in order.
        Rows are sent with executemany, in batches, when the transaction needs them."""
        rows = [_document_row(doc) for doc in docs]
        if not rows:
            return []
        with self._writing(sync=False) as tx:
            seqs = self._reserve(tx, len(rows))
            pending = tx.levels[-1].rows
            for row, seq in zip(rows, seqs):
                row["seq"] = seq
                pending.pop(row["id"], None)
                pending[row["id"]] = row
            if len(tx.levels) == 1 and len(pending) >= _FLUSH_AT:
                self._sync(tx)
        return seqs

    def get(self, doc_id):
        if not isinstance(doc_id, str):
            return None
        tx = self._own_tx()
        if tx is not None:
            for level in reversed(tx.levels):
                row = level.rows.get(doc_id)
                if row is not None:
                    return {**json.loads(row["body"]), "_seq": row["seq"]}
        query = sa.select(documents.c.body, documents.c.seq).where(documents.c.id == doc_id)
        with self._reading(sync=False) as connection:
            row = connection.execute(query).first()
        return None if row is None else _with_seq(row)

    def find(self, type=None, **equals):
        query = sa.select(documents.c.body, documents.c.seq).order_by(documents.c.seq)
        criteria = dict(equals)
        if type is not None:
            criteria["type"] = type
        in_python = {}
        for key, value in criteria.items():
            if key in _TEXT_COLUMNS and isinstance(value, str):
                query = query.where(documents.c[key] == value)
            else:
                in_python[key] = value
        with self._reading() as connection:
            found = [_with_seq(row) for row in connection.execute(query)]
        if in_python:
            found = [doc for doc in found if all(
                doc.get(key, _MISSING) == value for key, value in in_python.items())]
        return found

    def changes(self, since=0, limit=500):
        if limit is None or limit <= 0:  # as the reference (memory) store
            return []
        query = (sa.select(documents.c.body, documents.c.seq)
                 .where(documents.c.seq > (since or 0)).order_by(documents.c.seq).limit(limit))
        with self._reading() as connection:
            return [_with_seq(row) for row in connection.execute(query)]

    def last_seq(self):
        tx = self._own_tx()
        if tx is not None and tx.seq is not None:
            return tx.seq
        with self._reading(sync=False) as connection:
            return connection.execute(sa.select(seq_counter.c.value)).scalar_one()

    # --- conflicts -----------------------------------------------------------------------

    def add_conflict(self, doc):
        """Keep a losing version; the same version (id and rev) again keeps one copy."""
        row = _document_row(doc, what="A conflicting version")
        kept = {"doc_id": row["id"], "rev": doc.get("rev"), "body": json.loads(row["body"]),
                "kept_at": now_iso()}
        if not isinstance(kept["rev"], (str, type(None))):
            kept["rev"] = _dumps(kept["rev"])
        with self._writing() as tx:
            already = tx.connection.execute(
                sa.select(conflicts.c.id).where(conflicts.c.doc_id == kept["doc_id"],
                                                conflicts.c.rev == kept["rev"])).first()
            if already is None:
                tx.connection.execute(conflicts.insert().values(kept))

    def conflicts(self, doc_id=None):
        query = sa.select(conflicts.c.body).order_by(conflicts.c.id)
        if doc_id is not None:
            query = query.where(conflicts.c.doc_id == str(doc_id))
        with self._reading(sync=False) as connection:
            return [row.body for row in connection.execute(query)]

    def resolve_conflicts(self, doc_id):
        """Forget the kept losing versions of a document; returns how many there were."""
        with self._writing() as tx:
            return tx.connection.execute(
                conflicts.delete().where(conflicts.c.doc_id == str(doc_id))).rowcount

    # --- metadata ------------------------------------------------------------------------

    def get_meta(self, key, default=None):
        with self._reading(sync=False) as connection:
            row = connection.execute(sa.select(meta.c.value).where(meta.c.key == key)).first()
        return default if row is None else row.value

    def set_meta(self, key, value):
        if not isinstance(key, str):
            raise StoreError("A metadata key must be text.")
        try:
            _dumps(value)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"Metadata {key!r} cannot be stored as JSON: {exc}.") from exc
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(meta).values(key=key, value=value)
        statement = statement.on_conflict_do_update(index_elements=[meta.c.key],
                                                    set_={"value": statement.excluded.value})
        with self._writing() as tx:
            tx.connection.execute(statement)

    # --- helpers -------------------------------------------------------------------------

    def _check_open(self):
        if self._closed:
            raise StoreError(f"The HQ store at {self.where} is closed.")

    def _error(self, action, exc):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return StoreError(f"The HQ database at {self.where} could not be {action}: {reason}")


class _DriverStatement:
    """SQL text in the driver's parameter style, the row keys it takes in order, and the
    form that sets every column (see ``SQLStore._upsert_statement``)."""

    __slots__ = ("sql", "columns", "every_column")

    def __init__(self, sql, columns, every_column):
        self.sql = sql
        self.columns = columns
        self.every_column = every_column


def _prepare_sqlite(engine, busy_timeout, synchronous, wal):
    """Pragmas on every connection, and BEGIN IMMEDIATE for write transactions so that
    concurrent writers queue on the busy timeout instead of failing "database is locked"."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not connection.get_execution_options().get("fieldkit_read"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _document_row(doc, what=None):
    """The ``documents`` row for a document; the body serialised to JSON text now, so later
    changes to the caller's dict cannot leak in. ``what`` set: a conflict (any type)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or not doc["id"]:
        raise StoreError(f"{what or 'A document'} needs a non-empty text id to be stored.")
    if what is None and not isinstance(doc.get("type"), (str, type(None))):
        raise StoreError(f"Document {doc['id']} has a type that is not text.")
    body = doc if "_seq" not in doc else {k: v for k, v in doc.items() if k != "_seq"}
    try:
        body_json = _dumps(body)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Document {doc['id']} cannot be stored as JSON: {exc}.") from exc
    get = doc.get
    row = {column: value if isinstance(value := get(column), str) else None
           for column in _TEXT_COLUMNS}
    row["deleted"] = bool(doc.get("deleted"))
    row["body"] = body_json
    return row


def _with_seq(row):
    return {**row.body, "_seq": row.seq}
