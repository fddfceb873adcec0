"""Implements a hook name fieldkit does not know (missing 's')."""
from fieldkit.core.hookspecs import hookimpl


@hookimpl
def fieldkit_checklist():
    return []
