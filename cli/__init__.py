"""The ``fieldkit`` command: a click group whose sub-commands import lazily.

``fieldkit --help`` must start fast on a field laptop, so each command group lives in its own
module and is imported only when it runs. Plugins add commands through the
``fieldkit_register_commands`` hook. Every ``FieldkitError`` becomes one sentence on stderr
and a non-zero exit; nothing prints a traceback unless ``FIELDKIT_DEBUG=1``.
"""

import importlib
import os
import sys

import click

from ..core import __version__
from ..core.errors import FieldkitError

# name -> (module, attribute, one-line help shown by --help without importing the module)
LAZY_COMMANDS = {
    "plugins": ("fieldkit.cli.catalog", "plugins", "List the loaded plugins and their status."),
    "checklists": ("fieldkit.cli.catalog", "checklists", "List, show and validate checklists."),
    "units": ("fieldkit.cli.catalog", "units", "Search and list administrative units."),
    "plugin": ("fieldkit.cli.scaffold", "plugin", "Create a new checklist plugin package."),
    "field": ("fieldkit.cli.field", "field", "The field station: inspections, answers, sync."),
    "hq": ("fieldkit.cli.hq", "hq", "Headquarters: central store, devices, review, reports."),
    "demo": ("fieldkit.cli.demo", "demo", "Run HQ and a field station with demo data."),
}


class LazyGroup(click.Group):
    """A group that imports a sub-command's module only when that command is used."""

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None or name not in LAZY_COMMANDS:
            return command
        module_name, attribute, _ = LAZY_COMMANDS[name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None  # a face that is not built into this install
        return getattr(module, attribute)

    def format_commands(self, ctx, formatter):
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS:
                rows.append((name, LAZY_COMMANDS[name][2]))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(formatter.width)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="fieldkit")
@click.option("--plugins-dir", type=click.Path(file_okay=False), envvar="FIELDKIT_PLUGINS_DIR",
              help="Also load *.py plugins from this directory (or FIELDKIT_PLUGINS_DIR).")
@click.pass_context
def cli(ctx, plugins_dir):
    """fieldkit — bộ công cụ kiểm tra thực hiện dân chủ ở cơ sở (field toolkit for
    grassroots-democracy inspections)."""
    from .context import AppContext
    ctx.obj = AppContext(plugins_dir=plugins_dir)


def _register_plugin_commands():
    """Let plugins add commands, unless we are only printing help or the version."""
    args = sys.argv[1:]
    if not args or any(a in ("-h", "--help", "--version") for a in args[:1]):
        return
    from ..core.plugins import get_plugin_manager
    plugins_dir = _plugins_dir_from_args(args)
    pm = get_plugin_manager(plugins_dir=plugins_dir)
    pm.call_each("fieldkit_register_commands", cli=cli)


def _plugins_dir_from_args(args):
    for index, arg in enumerate(args):
        if arg == "--plugins-dir" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--plugins-dir="):
            return arg.split("=", 1)[1]
    return os.environ.get("FIELDKIT_PLUGINS_DIR")


def main(argv=None):
    """Console entry point: run the CLI, turning fieldkit errors into one clear line."""
    try:
        if argv is None:
            _register_plugin_commands()
        cli.main(args=argv, prog_name="fieldkit", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except FieldkitError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no tracebacks
        if os.environ.get("FIELDKIT_DEBUG") == "1":
            raise
        click.echo(f"Error: unexpected {type(exc).__name__}: {exc} "
                   "(set FIELDKIT_DEBUG=1 for details).", err=True)
        sys.exit(1)
