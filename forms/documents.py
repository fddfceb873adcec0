"""Schemas of the documents the workflow writes: inspections and recommendations.

Views and commands call ``load_or_fail``; nothing re-checks by hand. Messages are
marshmallow's, keyed by field, and the raised ``ValidationFailed`` carries them.
"""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from ..core.errors import ValidationFailed
from ..core.text import nfc_tree
from .checklist import UNIT_KINDS

STATUSES = ("draft", "submitted", "returned", "resubmitted", "approved")
RECOMMENDATION_STATUSES = ("open", "in_progress", "done", "cancelled")


class _Document(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _nfc(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Expected an object.")
        return nfc_tree(data)


class UnitRefSchema(Schema):
    era = fields.String(required=True, validate=validate.OneOf(("legacy", "current")))
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(load_default=None)


class InspectionSchema(_Document):
    type = fields.Constant("inspection")
    campaign = fields.String(required=True)
    unit = fields.Nested(UnitRefSchema, required=True)
    province = fields.Nested(UnitRefSchema, required=True)
    province_code = fields.String(required=True)
    unit_kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    unit_name = fields.String(load_default=None, allow_none=True,
                              validate=validate.Length(max=300))
    checklist = fields.Dict(required=True)
    self_assessment = fields.Boolean(load_default=False)
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    inspectors = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                             load_default=list)
    date = fields.Date(required=True)
    status = fields.String(load_default="draft", validate=validate.OneOf(STATUSES))

    class Meta:
        unknown = EXCLUDE


class RecommendationSchema(_Document):
    type = fields.Constant("recommendation")
    inspection_id = fields.String(required=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    responsible = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=300))
    due = fields.Date(load_default=None, allow_none=True)
    status = fields.String(load_default="open", validate=validate.OneOf(RECOMMENDATION_STATUSES))


def load_or_fail(schema, data, what):
    """``schema.load`` returning JSON-able data (dates as ISO), or ``ValidationFailed``."""
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        details = "; ".join(f"{field}: {' '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                            for field, msgs in _flat(exc.messages))
        raise ValidationFailed(f"Invalid {what}: {details}", exc.messages) from None
    return {key: (value.isoformat() if hasattr(value, "isoformat") else value)
            for key, value in loaded.items()}


def _flat(messages, prefix=""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(value, dict):
                yield from _flat(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value
    else:
        yield prefix.rstrip(".") or "value", messages
