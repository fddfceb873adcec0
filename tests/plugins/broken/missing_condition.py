"""Gives a checklist whose skip logic points at an item that does not exist."""
from fieldkit.core.hookspecs import hookimpl


@hookimpl
def fieldkit_checklists():
    return [{"id": "test.cond", "version": "1.0.0", "title": {"vi": "Điều kiện"},
             "applies_to": {"unit_kinds": ["commune"]},
             "sections": [{"code": "BI", "title": {"vi": "x"}, "items": [
                 {"code": "C01", "text": {"vi": "t"}, "answer": {"type": "count"},
                  "show_when": {"item": "NOPE", "op": "answered"}}]}]}]
