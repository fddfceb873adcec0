"""Gives a checklist without a title."""
from fieldkit.core.hookspecs import hookimpl


@hookimpl
def fieldkit_checklists():
    return [{"id": "test.bad", "version": "1.0.0", "applies_to": {"unit_kinds": ["commune"]},
             "sections": [{"code": "BI", "title": {"vi": "x"}, "items": [
                 {"code": "A1", "text": {"vi": "t"}, "answer": {"type": "yes_no"}}]}]}]
