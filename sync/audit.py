"""HQ's audit log: an append-only table of every change and decision — who (a user, a device,
the command line), from where, when, what (action, document, outcome).

Who is acting is a context variable (``acting_as``): the web app sets it per request from the
signed-in user or the authenticated device, the CLI once per command; functions deeper down
(review, enrollment, push) call ``record`` without being told. Rows are written in the
caller's store transaction when there is one, so a rolled-back change leaves no entry and a
committed one always has its entry. Table made by migration ``0003_hq_security``; a trigger
refuses UPDATE and DELETE on it.
"""

import contextvars
import csv
import io
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from .tables import audit_log

PAGE_SIZE = 50
COLUMNS = ("id", "at", "actor_kind", "actor", "device_id", "ip", "action", "doc_type",
           "doc_id", "outcome", "detail")


@dataclass(frozen=True)
class Actor:
    """Who acts: ``kind`` is ``user``, ``device``, ``cli``, ``anonymous`` or ``system``."""

    kind: str
    name: str | None = None
    device_id: str | None = None
    ip: str | None = None


SYSTEM = Actor("system", "hq")
_current = contextvars.ContextVar("fieldkit_audit_actor", default=SYSTEM)


def current_actor():
    return _current.get()


def set_actor(actor):
    """Make ``actor`` the one recorded from now on in this context; returns a reset token."""
    return _current.set(actor)


def reset_actor(token):
    _current.reset(token)


@contextmanager
def acting_as(actor):
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def now():
    """The time an entry records (UTC, milliseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _row(action, actor, doc_type=None, doc_id=None, outcome=None, detail=None, at=None):
    return {"at": at or now(), "actor_kind": actor.kind,
            "actor": (actor.name or None) and str(actor.name)[:200],
            "device_id": actor.device_id, "ip": actor.ip, "action": action,
            "doc_type": doc_type, "doc_id": doc_id and str(doc_id)[:200], "outcome": outcome,
            "detail": detail}


def record(store, action, doc_type=None, doc_id=None, outcome=None, detail=None, actor=None):
    """Append one entry (in the open transaction, if any)."""
    record_many(store, [_row(action, actor or current_actor(), doc_type, doc_id, outcome,
                             detail)])


def record_many(store, rows):
    """Append prepared rows (``entry(...)``) with one driver ``executemany``, in the open
    transaction if any (a push writes one row per document)."""
    store.insert_rows(audit_log, rows)


def entry(action, doc_type=None, doc_id=None, outcome=None, detail=None, actor=None, at=None):
    """A row for ``record_many``."""
    return _row(action, actor or current_actor(), doc_type, doc_id, outcome, detail, at)


def page(store, number=1, size=PAGE_SIZE):
    """One page of the log, newest first: ``{"rows", "page", "pages", "total"}``."""
    number = max(1, int(number))
    with store.connection() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()
        rows = connection.execute(sa.select(audit_log).order_by(audit_log.c.id.desc())
                                  .limit(size).offset((number - 1) * size)).mappings().all()
    return {"rows": [dict(r) for r in rows], "page": number,
            "pages": max(1, -(-total // size)), "total": total}


def iter_entries(store, batch=1000):
    """Every entry, oldest first, read in batches."""
    last = 0
    while True:
        with store.connection() as connection:
            rows = connection.execute(sa.select(audit_log).where(audit_log.c.id > last)
                                      .order_by(audit_log.c.id).limit(batch)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last = rows[-1]["id"]


def export(store, fmt):
    """The whole log as ``csv`` or ``json`` text."""
    if fmt == "json":
        return json.dumps(list(iter_entries(store)), ensure_ascii=False, indent=1) + "\n"
    if fmt != "csv":
        from ..core.errors import UsageError
        raise UsageError(f"The audit log exports as csv or json, not '{fmt}'.")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in iter_entries(store):
        detail = row.get("detail")
        row["detail"] = json.dumps(detail, ensure_ascii=False) if detail is not None else ""
        writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return buffer.getvalue()


def _cell(value):
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
