"""The fieldkit plugin API: every hook a plugin may implement, in one place.

Hooks are called by keyword; a hook that is not ``firstresult`` returns a list with one
entry per plugin (``None`` results dropped by pluggy). Each hook is documented, with an
example, in ``docs/plugins.md`` (a test keeps the two in step).
"""

import pluggy

PROJECT_NAME = "fieldkit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- Content: what gets inspected ---------------------------------------------------------


@hookspec
def fieldkit_checklists():
    """Return a list of checklist definitions (dicts in the checklist data format)."""


@hookspec
def fieldkit_admin_units():
    """Return a list of administrative-unit records (dicts) to add to the unit registry."""


# --- Rules: what an answer means ----------------------------------------------------------


@hookspec
def fieldkit_validate_finding(checklist, item, finding, inspection):
    """Return a list of error sentences for a finding the schemas accepted, or None."""


@hookspec(firstresult=True)
def fieldkit_score_inspection(checklist, findings):
    """Return the scores of an inspection (a ``Scores`` mapping). Stops at first non-None result."""


# --- Output: documents and faces ----------------------------------------------------------


@hookspec
def fieldkit_report_renderers():
    """Return a list of ``ReportRenderer`` objects (report kind, format, render function)."""


@hookspec
def fieldkit_register_commands(cli):
    """Add click commands or groups to the ``fieldkit`` command group ``cli``."""
