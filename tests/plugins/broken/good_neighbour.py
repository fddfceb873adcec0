"""A well-behaved plugin loaded next to the broken ones."""
from fieldkit.core.hookspecs import hookimpl


@hookimpl
def fieldkit_checklists():
    return [{"id": "test.neighbour", "version": "1.0.0", "title": {"vi": "Hàng xóm tốt"},
             "applies_to": {"unit_kinds": ["commune"]},
             "sections": [{"code": "BI", "title": {"vi": "x"}, "items": [
                 {"code": "N01", "text": {"vi": "t"}, "answer": {"type": "yes_no"}}]}]}]
