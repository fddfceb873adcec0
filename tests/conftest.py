"""Shared fixtures. Services (PostgreSQL, Chromium) skip only where absent, and never in CI:
``FIELDKIT_REQUIRE_SERVICES=1`` turns a missing service into a failure."""

import os
import shutil

import pytest

PG_URL = os.environ.get("FIELDKIT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHROMIUM = os.environ.get("FIELDKIT_CHROMIUM", "/usr/bin/chromium")


def require_service(name, available, why):
    """Skip when a service is missing, or fail when the run demands services (CI)."""
    if available:
        return
    if os.environ.get("FIELDKIT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required (FIELDKIT_REQUIRE_SERVICES=1) but {why}")
    pytest.skip(f"{name} not available: {why}")


def _pg_reachable():
    try:
        import psycopg
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=3):
            return True, ""
    except Exception as exc:  # noqa: BLE001
        return False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@pytest.fixture(scope="session")
def pg_url():
    ok, why = _pg_reachable()
    require_service("PostgreSQL", ok, why)
    return PG_URL


@pytest.fixture(scope="session")
def chromium_path():
    ok = os.path.exists(CHROMIUM) or shutil.which("chromium")
    require_service("Chromium", ok, f"{CHROMIUM} does not exist")
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


@pytest.fixture
def plugin_manager():
    from fieldkit.core.plugins import get_plugin_manager
    return get_plugin_manager(load_entrypoints=False)
