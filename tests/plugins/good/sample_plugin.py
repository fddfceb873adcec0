"""A tiny real plugin implementing every hook, used by tests/test_plugin_hooks.py."""

import click

from fieldkit.core.hookspecs import hookimpl
from fieldkit.core.reports import ReportRenderer

CHECKLIST = {
    "id": "test.sample",
    "version": "1.0.0",
    "title": {"vi": "Bảng kiểm thử", "en": "Sample checklist"},
    "applies_to": {"unit_kinds": ["commune"], "provinces": [{"era": "legacy", "code": "17"}],
                   "valid_from": "2024-01-01"},
    "sections": [{
        "code": "KT", "title": {"vi": "Dân kiểm tra"},
        "items": [
            {"code": "S01", "text": {"vi": "Có Ban Thanh tra nhân dân"},
            "answer": {"type": "yes_no"}, "flag_when": [{"op": "eq", "value": "no"}]},
            {"code": "S02", "text": {"vi": "Số thành viên"}, "answer": {"type": "count"},
             "flag_when": [{"op": "lt", "value": 5}],
             "show_when": {"item": "S01", "op": "eq", "value": "yes"}},
        ],
    }],
}


@hookimpl
def fieldkit_checklists():
    return [CHECKLIST]


@hookimpl
def fieldkit_admin_units():
    return [{"era": "current", "code": "99999", "name": "Xã Thử Nghiệm", "level": "commune",
             "kind": "Xã", "parent": "25", "valid_from": "2025-07-01", "valid_to": None}]


@hookimpl
def fieldkit_validate_finding(item, finding):
    if item["code"] == "S02" and finding["value"] > 50:
        return ["S02: quá 50 thành viên (more than 50 members)"]
    return None


@hookimpl(tryfirst=True)
def fieldkit_score_inspection(checklist, findings):
    if checklist.id != "test.sample":
        return None
    return {"overall": 42.0, "themes": {}, "method": "sample"}


@hookimpl
def fieldkit_report_renderers():
    return [ReportRenderer("inspection", "txt", "text/plain",
                           lambda report: report["title"].encode("utf-8"), "Text")]


@hookimpl
def fieldkit_register_commands(cli):
    @cli.command(name="sample-hello")
    def sample_hello():
        """Say hello from the sample plugin."""
        click.echo("Xin chào")
