"""Built-in plugin: the default scoring of an inspection (runs last; a plugin may override)."""

from fieldkit.core import scoring
from fieldkit.core.hookspecs import hookimpl


@hookimpl(trylast=True)
def fieldkit_score_inspection(checklist, findings):
    """Score with fieldkit's documented default method."""
    return scoring.score(checklist, findings)
