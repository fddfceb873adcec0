"""Predicates of a checklist: flag rules (``flag_when``) and skip logic (``show_when``).

A predicate is ``{"op": ..., "value": ...}``; it tests an answer value. Numbers compare as
numbers, ISO dates as dates (strings of the same shape compare in date order).
"""

_COMPARE = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


def test(predicate, value):
    """Does ``value`` (None = not answered) satisfy the predicate?"""
    op, expected = predicate["op"], predicate.get("value")
    if op == "answered":
        return value is not None
    if op == "not_answered":
        return value is None
    if value is None:
        return False
    if op == "eq":
        return value == expected
    if op == "ne":
        return value != expected
    if op == "in":
        return value in expected
    if op == "not_in":
        return value not in expected
    if isinstance(value, (int, float)) and isinstance(expected, (int, float)):
        return _COMPARE[op](value, expected)
    if isinstance(value, str) and isinstance(expected, str):
        return _COMPARE[op](value, expected)
    return False


def is_flagged(item, value):
    """A finding is flagged when any of the item's ``flag_when`` predicates holds."""
    return any(test(rule, value) for rule in item.get("flag_when") or [])


def is_shown(item, answers):
    """Whether the item applies, given the other answers (``{code: value}``)."""
    condition = item.get("show_when")
    if not condition:
        return True
    return test(condition, answers.get(condition["item"]))
