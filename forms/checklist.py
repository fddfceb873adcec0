"""Checklist definitions: the marshmallow schema that says what a valid checklist is.

A checklist arrives as data (JSON/YAML file, a plugin's dict, or a snapshot synced from HQ);
``ChecklistSchema().load`` is the only gate. Errors are keyed by path, e.g.
``sections.2.items.3.flag_when.0.op``; ``checklist_errors`` turns them into sentences that
name the item by its code.
"""


from marshmallow import (EXCLUDE, RAISE, Schema, ValidationError, fields, post_dump, post_load,
                         pre_load, validate, validates_schema)

from ..core.text import nfc_tree

UNIT_KINDS = ("province", "commune", "agency", "enterprise")
ANSWER_TYPES = ("yes_no", "count", "number", "percent", "date", "text", "choice", "photo")
EXTRA_TYPES = ("date", "count", "number", "percent", "text")
YES_NO_VALUES = ("yes", "no", "partial", "na")
EVIDENCE_KINDS = ("document", "photo", "interview", "observation")
THEMES = ("LD", "BI", "BA", "LA", "KT", "GS", "TH")
PREDICATE_OPS = ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "answered", "not_answered")
ERAS = ("legacy", "current")

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,79}$"
SEMVER_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$"
CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$"


class _Strict(Schema):
    class Meta:
        unknown = RAISE
        ordered = True

    @post_dump
    def _drop_nulls(self, data, **kwargs):
        """Dump only what is set, so that a dump loads again unchanged."""
        return {key: value for key, value in data.items() if value is not None}


class TextSchema(_Strict):
    """Text in Vietnamese (required) and English (optional)."""

    vi = fields.String(required=True, validate=validate.Length(min=1))
    en = fields.String(load_default=None, allow_none=True)


class LegalBasisSchema(_Strict):
    """One legal reference; ``verified: false`` is shown as unverified, never as a citation."""

    ref = fields.String(required=True, validate=validate.Length(min=1))
    verified = fields.Boolean(required=True)


class ChoiceSchema(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN))
    label = fields.Nested(TextSchema, required=True)


class AnswerSchema(_Strict):
    """The answer an item asks for: its type and, by type, choices, bounds and unit."""

    type = fields.String(required=True, validate=validate.OneOf(ANSWER_TYPES))
    choices = fields.List(fields.Nested(ChoiceSchema), load_default=None)
    min = fields.Float(load_default=None, allow_none=True)
    max = fields.Float(load_default=None, allow_none=True)
    unit = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _check_by_type(self, data, **kwargs):
        kind = data["type"]
        if kind == "choice":
            choices = data.get("choices") or []
            if len(choices) < 2:
                raise ValidationError("A choice answer needs at least two choices.", "choices")
            codes = [c["code"] for c in choices]
            if len(set(codes)) != len(codes):
                raise ValidationError("Choice codes must be unique.", "choices")
        elif data.get("choices"):
            raise ValidationError(f"Only choice answers have choices, not {kind}.", "choices")
        if data.get("min") is not None and data.get("max") is not None and data["min"] > data["max"]:
            raise ValidationError("min is greater than max.", "min")
        if kind == "percent":
            for bound in ("min", "max"):
                value = data.get(bound)
                if value is not None and not 0 <= value <= 100:
                    raise ValidationError("A percent bound must be between 0 and 100.", bound)


class PredicateSchema(_Strict):
    """A test on an answer: ``{"op": "lt", "value": 5}``; ``item`` names another item
    (skip logic) and is left out in flag rules, which test the item's own answer."""

    item = fields.String(load_default=None, validate=validate.Regexp(CODE_PATTERN))
    op = fields.String(required=True, validate=validate.OneOf(PREDICATE_OPS))
    value = fields.Raw(load_default=None, allow_none=True)

    @validates_schema
    def _check_value(self, data, **kwargs):
        op, value = data["op"], data.get("value")
        if op in ("in", "not_in") and not isinstance(value, list):
            raise ValidationError(f"'{op}' needs a list value.", "value")
        if op in ("lt", "lte", "gt", "gte") and (
                isinstance(value, bool) or not isinstance(value, (int, float, str))):
            raise ValidationError(f"'{op}' needs a number or a date.", "value")
        if op in ("eq", "ne") and value is None:
            raise ValidationError(f"'{op}' needs a value.", "value")


class ItemSchema(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN))
    text = fields.Nested(TextSchema, required=True)
    answer = fields.Nested(AnswerSchema, required=True)
    extras = fields.List(fields.String(validate=validate.OneOf(EXTRA_TYPES)), load_default=list)
    required = fields.Boolean(load_default=True)
    weight = fields.Float(load_default=1.0, validate=validate.Range(min=0, max=100))
    flag_when = fields.List(fields.Nested(PredicateSchema), load_default=list)
    evidence = fields.List(fields.String(validate=validate.OneOf(EVIDENCE_KINDS)),
                           load_default=list)
    legal_basis = fields.List(fields.Nested(LegalBasisSchema), load_default=list)
    show_when = fields.Nested(PredicateSchema, load_default=None, allow_none=True)
    guidance = fields.Nested(TextSchema, load_default=None, allow_none=True)

    @validates_schema
    def _check_rules(self, data, **kwargs):
        for index, rule in enumerate(data.get("flag_when") or []):
            if rule.get("item"):
                raise ValidationError({str(index): {"item": [
                    "A flag rule tests the item's own answer; leave 'item' out."]}}, "flag_when")
        if data.get("show_when") and not data["show_when"].get("item"):
            raise ValidationError({"item": ["show_when must name the item it depends on."]},
                                  "show_when")


class SectionSchema(_Strict):
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN))
    theme = fields.String(load_default=None, validate=validate.OneOf(THEMES))
    title = fields.Nested(TextSchema, required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True,
                        validate=validate.Length(min=1))

    @post_load
    def _default_theme(self, data, **kwargs):
        if data.get("theme") is None and data["code"] in THEMES:
            data["theme"] = data["code"]
        return data


class ProvinceRefSchema(_Strict):
    era = fields.String(required=True, validate=validate.OneOf(ERAS))
    code = fields.String(required=True, validate=validate.Regexp(r"^\d{2}$"))


class AppliesToSchema(_Strict):
    unit_kinds = fields.List(fields.String(validate=validate.OneOf(UNIT_KINDS)), required=True,
                             validate=validate.Length(min=1))
    provinces = fields.List(fields.Nested(ProvinceRefSchema), load_default=list)
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_to = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def _check_dates(self, data, **kwargs):
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and end and start > end:
            raise ValidationError("valid_from is after valid_to.", "valid_to")


class ChecklistSchema(_Strict):
    """A whole checklist definition. Loading returns plain dicts (dates as ``date``)."""

    id = fields.String(required=True, validate=validate.Regexp(
        ID_PATTERN, error="Must be lower-case letters, digits, '.', '_' or '-'."))
    version = fields.String(required=True, validate=validate.Regexp(
        SEMVER_PATTERN, error="Must be a semantic version such as 1.2.0."))
    title = fields.Nested(TextSchema, required=True)
    description = fields.Nested(TextSchema, load_default=None, allow_none=True)
    applies_to = fields.Nested(AppliesToSchema, required=True)
    sources = fields.List(fields.Nested(LegalBasisSchema), load_default=list)
    sections = fields.List(fields.Nested(SectionSchema), required=True,
                           validate=validate.Length(min=1))

    @pre_load
    def _normalise(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("A checklist definition must be an object.")
        return nfc_tree(data)

    @validates_schema
    def _check_items(self, data, **kwargs):
        """Item codes are unique; skip logic points at another existing item."""
        errors = {}
        seen = {}
        for s_index, section in enumerate(data.get("sections") or []):
            for i_index, item in enumerate(section.get("items") or []):
                code = item["code"]
                if code in seen:
                    errors.setdefault("sections", {}).setdefault(s_index, {}).setdefault(
                        "items", {}).setdefault(i_index, {})["code"] = [
                            f"Duplicate item code {code} (also at {seen[code]})."]
                seen.setdefault(code, f"sections.{s_index}.items.{i_index}")
        for s_index, section in enumerate(data.get("sections") or []):
            for i_index, item in enumerate(section.get("items") or []):
                target = (item.get("show_when") or {}).get("item")
                if target is None:
                    continue
                problem = None
                if target == item["code"]:
                    problem = "show_when cannot depend on the item itself."
                elif target not in seen:
                    problem = f"show_when points at a missing item {target}."
                if problem:
                    errors.setdefault("sections", {}).setdefault(s_index, {}).setdefault(
                        "items", {}).setdefault(i_index, {})["show_when"] = [problem]
        if errors:
            raise ValidationError(errors)


def checklist_errors(messages, definition=None):
    """Flatten marshmallow's nested messages into sentences with item codes named.

    ``{"sections": {0: {"items": {2: {"code": [...]}}}}}`` becomes
    ``"sections[0].items[2] (BI01).code: Duplicate item code …"``.
    """
    sentences = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path + [key])
        elif isinstance(node, list) and all(isinstance(v, str) for v in node):
            for message in node:
                sentences.append(f"{_render_path(path, definition)}: {message}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, path + [index])
        else:
            sentences.append(f"{_render_path(path, definition)}: {node}")

    walk(messages, [])
    return sentences


def _render_path(path, definition):
    parts = []
    node = definition
    for key in path:
        if key == "_schema":
            continue
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            index = int(key)
            parts[-1] = f"{parts[-1]}[{index}]" if parts else f"[{index}]"
            node = node[index] if isinstance(node, list) and index < len(node) else None
            if isinstance(node, dict) and "code" in node and "items" not in node:
                parts[-1] += f" ({node['code']})"
            continue
        parts.append(str(key))
        node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "checklist"


def load_checklist(definition):
    """Validate a definition; returns the loaded dict or raises ``ValidationError``."""
    return ChecklistSchema().load(definition)


def dump_checklist(checklist):
    """The definition in the data format (JSON-able; dates as ISO strings)."""
    return ChecklistSchema().dump(checklist)


__all__ = ["ChecklistSchema", "load_checklist", "dump_checklist", "checklist_errors",
           "UNIT_KINDS", "ANSWER_TYPES", "THEMES", "YES_NO_VALUES", "ValidationError", "EXCLUDE"]
