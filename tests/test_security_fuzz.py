"""Fuzzing the sync API from its own OpenAPI document (schemathesis, in-process over WSGI,
with a valid device token): no request may get a 5xx, and a refused request (4xx) must leave
the documents, the change feed and the kept conflicts exactly as they were. Bounded: at most
25 examples per operation, no deadline."""

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402

from fieldkit.core.store.sql import conflicts, documents  # noqa: E402
from fieldkit.core.store.memory import MemoryStore  # noqa: E402
from test_sync_support import enroll_store, make_hq_app  # noqa: E402


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    app, store = make_hq_app(f"sqlite:///{folder / 'hq.db'}", folder)
    device = enroll_store(app, store, MemoryStore())
    yield {"app": app, "store": store, "token": device.token}
    store.close()


@pytest.fixture(scope="module")
def api_schema(hq):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", hq["app"])


schema = schemathesis.pytest.from_fixture("api_schema")


def _state(store):
    with store.connection() as connection:
        docs = connection.execute(sa.select(documents.c.id, documents.c.rev, documents.c.seq)
                                  .order_by(documents.c.id)).all()
        kept = connection.execute(sa.select(sa.func.count()).select_from(conflicts)).scalar()
    return docs, kept, store.last_seq()


@schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_the_sync_api_survives_fuzzing(case, hq):
    before = _state(hq["store"])
    response = case.call(headers={"Authorization": f"Bearer {hq['token']}"})
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500
    if response.status_code >= 400:
        assert _state(hq["store"]) == before, "a refused request changed HQ's documents"
