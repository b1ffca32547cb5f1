"""Request and response schemas of the referral API (also the OpenAPI document).

The shapes only: the rules (consent, scope, transitions, who may act) are the domain's,
and come back as problem+json naming the field."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from haven.platform.schemas import PageSchema

from ..domain import incidents
from ..domain.client import AGE_GROUPS, CLIENT_REF, CONSENT_SCOPES, GENDERS, LANGUAGE, PHONE
from ..domain.model import (ACTIONS, CANCEL_REASONS, CREATE, DECLINE_REASONS, ESCALATE, RE_REFER, RISK_LEVELS,
                            STATUSES, URGENCIES)
from ..domain.sla import DEADLINE_KINDS, DEADLINE_STATES


def _plausible(value) -> None:
    # Far-off years are typing mistakes, and years 1 or 9999 in another offset cannot even
    # be converted to UTC.
    if not 2000 <= value.year <= 2200:
        raise ma.ValidationError("Must be between the years 2000 and 2200.")


# The same bound as _plausible, for the OpenAPI document (a generated client, a fuzzer).
PLAUSIBLE_YEAR = r"^(20[0-9]{2}|21[0-9]{2}|2200)-"


def When(**kwargs) -> f.AwareDateTime:
    metadata = {"pattern": PLAUSIBLE_YEAR, "description": "RFC 3339 with an offset, between the years 2000 and "
                                                          "2200.", **kwargs.pop("metadata", {})}
    return f.AwareDateTime(validate=_plausible, metadata=metadata, **kwargs)


# Consent is recorded as exactly true or false, never inferred from "yes" or 1.
STRICT_BOOLEAN = {"truthy": {True}, "falsy": {False}}


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE  # a misspelt field is an error, not silently dropped data


class ProfileSchema(Strict):
    client_ref = f.String(required=True, validate=[v.Length(min=1, max=64), v.Regexp(CLIENT_REF)],
                          metadata={"description": "Pseudonymous client reference of the referring agency; never a name."})
    age_group = f.String(load_default="unknown", validate=v.OneOf(AGE_GROUPS))
    gender = f.String(load_default="undisclosed", validate=v.OneOf(GENDERS))


class PersonalSchema(Strict):
    name = f.String(load_default=None, allow_none=True, validate=v.Length(max=200))
    phone = f.String(load_default=None, allow_none=True, validate=[v.Length(max=32), v.Regexp(PHONE)])
    address = f.String(load_default=None, allow_none=True, validate=v.Length(max=500))
    safe_contact_time = f.String(load_default=None, allow_none=True, validate=v.Length(max=200))
    safe_contact_method = f.String(load_default=None, allow_none=True, validate=v.Length(max=500))
    language = f.String(load_default=None, allow_none=True, validate=[v.Length(max=16), v.Regexp(LANGUAGE)])
    needs = f.List(f.String(validate=v.Length(max=200)), load_default=list, validate=v.Length(max=20))
    safety_notes = f.String(load_default=None, allow_none=True, validate=v.Length(max=4000))


class ConsentSchema(Strict):
    given = f.Boolean(required=True, **STRICT_BOOLEAN)
    obtained_by = f.String(required=True, validate=v.Length(min=1, max=200))
    obtained_at = When(required=True)
    scope = f.List(f.String(validate=v.OneOf(CONSENT_SCOPES)), load_default=list)
    expires_at = When(load_default=None, allow_none=True)


class OverrideSchema(Strict):
    reason = f.String(required=True, validate=v.Length(min=1, max=2000),
                      metadata={"description": "Why the survivor's life is in immediate danger (audited)."})


KIND_CODE = v.Regexp(r"^[a-z][a-z0-9_]{0,63}$", error="Not a service kind code (GET /v1/kinds on the directory).")


class CreateReferralSchema(Strict):
    receiving_service_id = f.UUID(required=True)
    urgency = f.String(required=True, validate=v.OneOf(URGENCIES))
    risk_level = f.String(required=True, validate=v.OneOf(RISK_LEVELS))
    services_requested = f.List(f.String(validate=KIND_CODE), load_default=list, validate=v.Length(max=10),
                                metadata={"description": "Kind codes of the directory (default: the receiving "
                                                         "service's kind)."})
    profile = f.Nested(ProfileSchema, required=True)
    personal = f.Nested(PersonalSchema, load_default=None, allow_none=True)
    consent = f.Nested(ConsentSchema, load_default=None, allow_none=True)
    override = f.Nested(OverrideSchema, load_default=None, allow_none=True)


class ReReferSchema(Strict):
    receiving_service_id = f.UUID(required=True)
    services_requested = f.List(f.String(validate=KIND_CODE), load_default=None, allow_none=True,
                                validate=v.Length(max=10))
    urgency = f.String(load_default=None, allow_none=True, validate=v.OneOf(URGENCIES))
    risk_level = f.String(load_default=None, allow_none=True, validate=v.OneOf(RISK_LEVELS))
    consent = f.Nested(ConsentSchema, load_default=None, allow_none=True)
    override = f.Nested(OverrideSchema, load_default=None, allow_none=True)


class NoteSchema(Strict):
    note = f.String(load_default=None, allow_none=True, validate=v.Length(max=4000))


class DeclineSchema(Strict):
    reason = f.String(required=True, validate=v.OneOf(DECLINE_REASONS))
    note = f.String(load_default=None, allow_none=True, validate=v.Length(max=4000))


class CancelSchema(Strict):
    reason = f.String(load_default=None, allow_none=True, validate=v.OneOf(CANCEL_REASONS))
    note = f.String(load_default=None, allow_none=True, validate=v.Length(max=4000))


class TransitionSchema(ma.Schema):
    action = f.String(metadata={"enum": [CREATE, *ACTIONS, ESCALATE, RE_REFER, incidents.MARK, incidents.REPORT]})
    from_status = f.String(allow_none=True, metadata={"enum": list(STATUSES)})
    to_status = f.String(metadata={"enum": list(STATUSES)})
    actor_user_id = f.String(allow_none=True)
    actor_organization_id = f.String(allow_none=True)
    at = f.AwareDateTime()
    reason_code = f.String(allow_none=True)
    note = f.String(allow_none=True, metadata={"description": "Free text (personal): shown with the personal fields, "
                                               "and always to the organization that wrote it; `[withheld]` otherwise."})


class NotificationSchema(ma.Schema):
    event_kind = f.String()
    channel = f.String()
    recipient_kind = f.String()
    outcome = f.String(metadata={"enum": ["delivered", "dead", "undeliverable"]})
    attempts = f.Integer()
    at = f.AwareDateTime()


class DeadlineSchema(ma.Schema):
    kind = f.String(metadata={"enum": list(DEADLINE_KINDS),
                              "description": "`acknowledge`: the agency's first answer; `decide`: accept or decline."})
    due_at = f.AwareDateTime(metadata={"description": "When the step is due, under the SLA policy in force."})
    done_at = f.AwareDateTime(allow_none=True, metadata={"description": "When the step was done; null while undone."})
    state = f.String(metadata={"enum": list(DEADLINE_STATES), "description":
                               "`pending` (undone, not yet due), `overdue` (undone and past due), `met`, `missed` "
                               "(done late), `not_needed` (the referral was cancelled before the step)."})
    escalated = f.Boolean(metadata={"description": "The alarm was raised when the deadline passed undone."})


class OverrideViewSchema(ma.Schema):
    by = f.String(metadata={"description": "The supervisor who overrode consent."})
    at = f.AwareDateTime()
    reason = f.String(metadata={"description": "Why (personal): only the referring organization's caseworkers and "
                                               "supervisors read it; `[withheld]` for everyone else."})


class MarkIncidentSchema(Strict):
    discovered_at = When(required=True, metadata={"description": "When the serious incident was discovered."})
    phoned_at = When(required=True, metadata={"description": "When it was reported by phone (not before the "
                                                             "discovery, not in the future)."})
    phoned_to = f.String(required=True, validate=v.Length(min=1, max=incidents.AUTHORITY_LIMIT), metadata={
        "description": "The authority told by phone: an office's name, never a person's name or number."})
    note = f.String(load_default=None, allow_none=True, validate=v.Length(max=incidents.NOTE_LIMIT), metadata={
        "description": "Optional; kept in the referral service only, shown to the referring organization."})


class WrittenReportSchema(Strict):
    sent_at = When(required=True, metadata={"description": "When the written report was sent (not in the future)."})
    sent_to = f.String(required=True, validate=v.Length(min=1, max=incidents.AUTHORITY_LIMIT),
                       metadata={"description": "The higher authority it was sent to."})


class IncidentSchema(ma.Schema):
    referral_id = f.String()
    referring_organization_id = f.String()
    receiving_organization_id = f.String()
    discovered_at = f.AwareDateTime()
    phoned_at = f.AwareDateTime()
    phoned_to = f.String()
    note = f.String(allow_none=True, metadata={"description": "For the referring organization; `[withheld]` for "
                                                              "others; null in a list."})
    marked_by = f.String()
    marked_at = f.AwareDateTime()
    due_at = f.AwareDateTime(metadata={"description": "The written report's deadline: 24:00 Vietnam time of the "
                                                      "fifth calendar day after the day of discovery."})
    written_report_sent_at = f.AwareDateTime(allow_none=True)
    written_report_sent_to = f.String(allow_none=True)
    recorded_by = f.String(allow_none=True)
    recorded_at = f.AwareDateTime(allow_none=True)
    state = f.String(metadata={"enum": list(incidents.STATES), "description":
                               "`due` (not sent, deadline ahead), `missing` (not sent, deadline passed), "
                               "`on_time`, `late` (sent at or after the deadline)."})
    allowed_actions = f.List(f.String(metadata={"enum": [incidents.RECORD_WRITTEN_REPORT]}))


class IncidentPageSchema(PageSchema):
    items = f.List(f.Nested(IncidentSchema))


class IncidentQuerySchema(Strict):
    state = f.String(validate=v.OneOf(incidents.STATES))
    discovered_from = When(data_key="from", metadata={"description": "Discovered at or after."})
    discovered_to = When(data_key="to", metadata={"description": "Discovered before."})
    page = f.Integer(load_default=1, validate=v.Range(min=1, max=100_000))
    per_page = f.Integer(load_default=20, validate=v.Range(min=1, max=100))


class ReferralSummarySchema(ma.Schema):
    """What a list shows of each referral: never personal fields."""

    id = f.String()
    status = f.String(metadata={"enum": list(STATUSES)})
    urgency = f.String(metadata={"enum": list(URGENCIES)})
    risk_level = f.String(metadata={"enum": list(RISK_LEVELS)})
    service_kind = f.String(metadata={"pattern": KIND_CODE.regex.pattern,
                                      "description": "A kind code of the directory (GET /v1/kinds there)."})
    receiving_service_id = f.String()
    receiving_organization_id = f.String()
    referring_organization_id = f.String()
    created_at = f.AwareDateTime()
    acknowledged_at = f.AwareDateTime(allow_none=True)
    decided_at = f.AwareDateTime(allow_none=True)
    completed_at = f.AwareDateTime(allow_none=True)
    cancelled_at = f.AwareDateTime(allow_none=True)
    deadlines = f.List(f.Nested(DeadlineSchema), metadata={
        "description": "When the receiving agency must acknowledge and decide, and whether it did in time."})
    notifications = f.List(f.Nested(NotificationSchema), metadata={
        "description": "Who was told about each step, by which channel, and whether it arrived (from notify)."})


class ReferralSchema(ReferralSummarySchema):
    referring_user_id = f.String()
    services_requested = f.List(f.String())
    profile = f.Nested(ProfileSchema)
    personal = f.Nested(PersonalSchema, allow_none=True,
                        metadata={"description": "Only for the referring agency, and the receiving one once it "
                                                 "has accepted; null otherwise (see personal_withheld)."})
    personal_withheld = f.Boolean()
    consent = f.Nested(ConsentSchema, allow_none=True)
    consent_overridden = f.Boolean()
    override = f.Nested(OverrideViewSchema, allow_none=True,
                        metadata={"description": "The supervisor's override of consent, if any."})
    previous_referral_id = f.String(allow_none=True)
    next_referral_id = f.String(allow_none=True)
    version = f.Integer()
    allowed_actions = f.List(f.String(metadata={"enum": [*ACTIONS, RE_REFER]}),
                             metadata={"description": "What you may do next."})
    serious_incident = f.Nested(IncidentSchema, allow_none=True,
                                metadata={"description": "Set once marked as a serious incident."})


class ReferralPageSchema(PageSchema):
    items = f.List(f.Nested(ReferralSummarySchema))


class ReferralQuerySchema(Strict):
    status = f.String(validate=v.OneOf(STATUSES))
    urgency = f.String(validate=v.OneOf(URGENCIES))
    service_kind = f.String(validate=v.Length(min=1, max=64))
    created_from = When()
    created_to = When()
    page = f.Integer(load_default=1, validate=v.Range(min=1, max=100_000))
    per_page = f.Integer(load_default=20, validate=v.Range(min=1, max=100))


class HistorySchema(ma.Schema):
    referral_id = f.String()
    items = f.List(f.Nested(TransitionSchema))


class AuditEntrySchema(ma.Schema):
    id = f.Integer()
    at = f.AwareDateTime()
    actor_user_id = f.String()
    actor_organization_id = f.String(allow_none=True)
    actor_roles = f.String()
    action = f.String()
    referral_id = f.String(allow_none=True)
    detail = f.String(allow_none=True)
    source_ip = f.String(allow_none=True)
    request_id = f.String(allow_none=True)


class AuditPageSchema(PageSchema):
    items = f.List(f.Nested(AuditEntrySchema))


class AuditQuerySchema(Strict):
    referral_id = f.String(validate=v.Length(max=64))
    actor = f.String(validate=v.Length(max=200))
    since = When()
    until = When()
    page = f.Integer(load_default=1, validate=v.Range(min=1, max=100_000))
    per_page = f.Integer(load_default=50, validate=v.Range(min=1, max=100))
