"""``fieldkit hq user …`` and ``fieldkit hq audit …``: HQ accounts and the audit log,
added to the ``hq`` group by ``register(hq)``."""

import click

from ..core.errors import UsageError
from .context import echo_json, json_option
from .hq import _session, db_option


def register(hq):
    """Add the account and audit commands to the ``hq`` group."""
    hq.add_command(user)
    hq.add_command(audit_group)


# --- user accounts --------------------------------------------------------------------------

@click.group("user")
def user():
    """Tài khoản trụ sở (HQ user accounts)."""


def _read_password(password_stdin, name):
    import sys
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"Mật khẩu cho {name} (password)", hide_input=True,
                                confirmation_prompt=True)
    return password


@user.command("add")
@click.argument("name")
@db_option
@click.option("--admin", "role", flag_value="admin", help="Administrator: everything.")
@click.option("--reviewer", "role", flag_value="reviewer",
              help="Reviewer: reads and reviews inspections (of --province, or all).")
@click.option("--viewer", "role", flag_value="viewer",
              help="Viewer: reads only (of --province, or all).")
@click.option("--province", "provinces", multiple=True,
              help="A current-era province code the user works on (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin's first "
              "line instead of a prompt.")
@json_option
@click.pass_context
def user_add(ctx, name, db, blobs, role, provinces, password_stdin, as_json):
    """Create an HQ account (the password is asked for, never an option)."""
    from ..web.hq.accounts import add_user
    if not role:
        raise UsageError("Say --admin, --reviewer or --viewer.")
    password = _read_password(password_stdin, name)
    created = add_user(_session(ctx, db, blobs).store, ctx.find_root().obj.units, name, role,
                       password, provinces=list(provinces) or None).summary()
    if as_json:
        echo_json(created)
    else:
        scope = ", ".join(created["provinces"]) if created["provinces"] else "mọi tỉnh (all)"
        click.echo(f"Đã tạo (created) {created['name']}: {created['role']}, {scope}.")


@user.command("list")
@db_option
@json_option
@click.pass_context
def user_list(ctx, db, blobs, as_json):
    """List HQ accounts."""
    from ..web.hq.accounts import list_users
    rows = [u.summary() for u in list_users(_session(ctx, db, blobs).store)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("Chưa có tài khoản (no accounts).")
    for r in rows:
        scope = ",".join(r["provinces"]) if r["provinces"] else "all"
        click.echo(f"{r['name']:<24} {r['role']:<9} {scope:<12} "
                   f"{'disabled' if r['disabled'] else 'active'}  last login "
                   f"{r['last_login_at'] or '-'}")


def _user_change(ctx, db, blobs, name, as_json, change, message):
    result = change(_session(ctx, db, blobs).store, name).summary()
    if as_json:
        echo_json(result)
    else:
        click.echo(f"{message} {result['name']}.")


@user.command("disable")
@click.argument("name")
@db_option
@json_option
@click.pass_context
def user_disable(ctx, name, db, blobs, as_json):
    """Disable an account: it cannot sign in, and its sessions end."""
    from ..web.hq.accounts import disable_user
    _user_change(ctx, db, blobs, name, as_json, disable_user, "Đã vô hiệu hoá (disabled)")


@user.command("enable")
@click.argument("name")
@db_option
@json_option
@click.pass_context
def user_enable(ctx, name, db, blobs, as_json):
    """Enable a disabled account again."""
    from ..web.hq.accounts import enable_user
    _user_change(ctx, db, blobs, name, as_json, enable_user, "Đã kích hoạt (enabled)")


@user.command("logout-everywhere")
@click.argument("name")
@db_option
@json_option
@click.pass_context
def user_logout_everywhere(ctx, name, db, blobs, as_json):
    """End every session of an account (e.g. a lost laptop)."""
    from ..web.hq.accounts import end_sessions
    _user_change(ctx, db, blobs, name, as_json, end_sessions,
                 "Đã đăng xuất mọi nơi (sessions ended)")


@user.command("password")
@click.argument("name")
@db_option
@click.option("--password-stdin", is_flag=True, help="Read the new password from stdin.")
@click.pass_context
def user_password(ctx, name, db, blobs, password_stdin):
    """Set a new password (ends the account's sessions)."""
    from ..web.hq.accounts import set_password
    set_password(_session(ctx, db, blobs).store, name, _read_password(password_stdin, name))
    click.echo(f"Đã đổi mật khẩu (password changed) {name}.")


# --- the audit log --------------------------------------------------------------------------

@click.group("audit")
def audit_group():
    """Nhật ký kiểm toán (the audit log)."""


@audit_group.command("export")
@db_option
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="The file to write ('-' for stdout).")
@click.pass_context
def audit_export(ctx, db, blobs, fmt, out):
    """Export the whole audit log (oldest first)."""
    from ..sync import audit
    store = _session(ctx, db, blobs).store
    audit.record(store, "audit.export", None, None, "ok", {"format": fmt})
    text = audit.export(store, fmt)
    if out == "-":
        click.echo(text, nl=False)
        return
    from pathlib import Path
    Path(out).write_text(text, encoding="utf-8")
    click.echo(f"Đã ghi (written) {out}", err=True)
