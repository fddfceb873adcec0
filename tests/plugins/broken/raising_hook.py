"""A hook that raises."""
from fieldkit.core.hookspecs import hookimpl


@hookimpl
def fieldkit_checklists():
    raise RuntimeError("disk on fire")
