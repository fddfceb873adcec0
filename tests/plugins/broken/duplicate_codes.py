"""Gives a checklist whose two items share a code."""
from fieldkit.core.hookspecs import hookimpl

ITEM = {"code": "D01", "text": {"vi": "t"}, "answer": {"type": "yes_no"}}


@hookimpl
def fieldkit_checklists():
    return [{"id": "test.dup", "version": "1.0.0", "title": {"vi": "Trùng mã"},
             "applies_to": {"unit_kinds": ["commune"]},
             "sections": [{"code": "BI", "title": {"vi": "x"}, "items": [ITEM, dict(ITEM)]}]}]
