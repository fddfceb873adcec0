"""What every command shares: the plugin manager and the registries, built once, lazily."""

import json

import click

from ..core.registries import Registries


class AppContext(Registries):
    """Lazy access to the plugin manager, the unit registry and the checklist registry."""

    def warn_failed_plugins(self):
        """Tell the user (on stderr) about plugins that failed; the command still runs."""
        for status in self.pm.failed():
            reason = "; ".join(status.errors)
            click.echo(f"Warning: plugin '{status.name}' failed: {reason}", err=True)


def echo_json(value):
    """Print JSON only (UTF-8, Vietnamese unescaped, dates as ISO strings)."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_default))


def _default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def parse_date(value, option="--as-of"):
    """An ISO date from the command line, or a ``UsageError`` naming the option."""
    from datetime import date
    from ..core.errors import UsageError
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} must be a date as YYYY-MM-DD, not '{value}'.") from None


def json_option(function):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON only.")(function)
