"""A WSGI entry point for production servers (several worker processes)::

    pip install gunicorn
    FIELDKIT_HQ_DB=postgresql+psycopg://hq@db/fieldkit gunicorn -w 4 -b 0.0.0.0:8765 \\
        'fieldkit.web.hq.wsgi:app'

Reads ``FIELDKIT_HQ_DB`` (database URL), ``FIELDKIT_HQ_BLOBS`` (folder for evidence files)
``FIELDKIT_HQ_PUBLIC_URL`` (the address devices use; ``https://`` makes the session cookie
Secure) and ``FIELDKIT_HQ_PROXY_HOPS`` (reverse proxies in front, usually 1). Every worker builds its own app
(do not use ``--preload``: database connections must not be shared across a fork).
"""

import os

from ...sync.paths import hq_db_url
from . import create_hq_app

app = create_hq_app({"db": hq_db_url(), "blobs": os.environ.get("FIELDKIT_HQ_BLOBS"),
                     "public_url": os.environ.get("FIELDKIT_HQ_PUBLIC_URL"),
                     "proxy_hops": int(os.environ.get("FIELDKIT_HQ_PROXY_HOPS") or 0)})
