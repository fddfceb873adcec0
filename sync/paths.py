"""Where headquarters keeps its data by default: the database URL from ``--db`` or
``FIELDKIT_HQ_DB``, else an SQLite file in a per-user HQ data folder; evidence files beside
an SQLite database, or in that folder."""

import os
from pathlib import Path

from sqlalchemy.engine import make_url

DB_ENV = "FIELDKIT_HQ_DB"
BLOBS_ENV = "FIELDKIT_HQ_BLOBS"
PUBLIC_URL_META = "hq.public_url"


def hq_data_dir():
    """``$XDG_DATA_HOME/fieldkit-hq``, else ``~/.local/share/fieldkit-hq``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "fieldkit-hq"


def hq_db_url(db=None):
    """The HQ database URL: ``db``, else ``$FIELDKIT_HQ_DB``, else the per-user SQLite file."""
    url = db or os.environ.get(DB_ENV)
    if url:
        if "://" not in url:  # a plain path: an SQLite file
            return f"sqlite:///{Path(url).expanduser().resolve()}"
        return url
    return f"sqlite:///{hq_data_dir() / 'hq.db'}"


def blob_dir(db=None):
    """The folder whose ``blobs/`` holds HQ's evidence files: ``$FIELDKIT_HQ_BLOBS``, else
    the SQLite file's folder, else the per-user HQ data folder."""
    if os.environ.get(BLOBS_ENV):
        return Path(os.environ[BLOBS_ENV])
    url = make_url(hq_db_url(db))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).expanduser().parent
    return hq_data_dir()
