"""Run the ``fieldkit`` CLI in-process and capture what a user would see."""

import json

from fieldkit.cli import main


def run_cli(capsys, *args):
    """Returns ``(exit_code, stdout, stderr)``."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys, *args):
    """Run with ``--json`` already in args; assert success and parse stdout."""
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    return json.loads(out)
