"""Tables of the referral database.

Personal data lives in one column, `personal` (and the free-text columns `note`,
`override_reason`), encrypted by the field cipher before it reaches the database: a
database dump, a backup or a replica shows ciphertext. Everything else is what the
service must filter and count on (status, urgency, kind, organizations, times).
"""
import sqlalchemy as sa

from haven.platform.db import UtcDateTime
from haven.platform.outbox import outbox_table

metadata = sa.MetaData()
outbox = outbox_table(metadata)

TS = UtcDateTime()

referrals = sa.Table(
    "referrals", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("urgency", sa.String(20), nullable=False),
    sa.Column("risk_level", sa.String(20), nullable=False),
    sa.Column("service_kind", sa.String(64), nullable=False),
    sa.Column("receiving_service_id", sa.String(128), nullable=False),
    sa.Column("receiving_organization_id", sa.String(128), nullable=False),
    sa.Column("referring_organization_id", sa.String(128), nullable=False),
    sa.Column("referring_user_id", sa.String(200), nullable=False),
    sa.Column("services_requested", sa.JSON, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),  # pseudonymous ref, age group, gender
    sa.Column("consent", sa.JSON),  # who asked, when, scope, expiry: no personal data
    sa.Column("override_by", sa.String(200)),
    sa.Column("override_at", TS),
    sa.Column("override_reason", sa.Text),  # encrypted
    sa.Column("personal", sa.Text),  # encrypted JSON, NULL when nothing personal was shared
    sa.Column("created_at", TS, nullable=False),
    sa.Column("acknowledged_at", TS),
    sa.Column("decided_at", TS),
    sa.Column("completed_at", TS),
    sa.Column("cancelled_at", TS),
    sa.Column("previous_referral_id", sa.String(36)),
    sa.Column("next_referral_id", sa.String(36)),
    sa.Column("next_deadline_at", TS),  # for the SLA timer: the earliest open deadline
    # Where the receiving service was when the referral was made (area codes, never an
    # address): the indicators group on these, so a later directory edit rewrites no history.
    sa.Column("receiving_province_code", sa.String(20)),
    sa.Column("receiving_district_code", sa.String(20)),
    sa.Column("receiving_commune_code", sa.String(20)),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_referrals_receiving", "receiving_organization_id", "created_at"),
    sa.Index("ix_referrals_referring", "referring_organization_id", "created_at"),
    sa.Index("ix_referrals_deadline", "next_deadline_at"),
    sa.Index("ix_referrals_created_province", "created_at", "receiving_province_code"),
)

history = sa.Table(
    "referral_history", metadata,
    sa.Column("referral_id", sa.String(36), sa.ForeignKey("referrals.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("actor_user_id", sa.String(200)),
    sa.Column("actor_organization_id", sa.String(128)),
    sa.Column("at", TS, nullable=False),
    sa.Column("reason_code", sa.String(64)),
    sa.Column("note", sa.Text),  # encrypted
)

idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("user_id", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("referral_id", sa.String(36), sa.ForeignKey("referrals.id"), nullable=False),
    sa.Column("created_at", TS, nullable=False, index=True),  # expiry and pruning go by age
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor_user_id", sa.String(200), nullable=False),
    sa.Column("actor_organization_id", sa.String(128)),
    sa.Column("actor_roles", sa.String(200), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),  # read_personal, create, acknowledge, ...
    sa.Column("referral_id", sa.String(36)),
    sa.Column("detail", sa.String(500)),  # field names, reason codes: never values
    sa.Column("source_ip", sa.String(64)),
    sa.Column("request_id", sa.String(128)),
    sa.Index("ix_audit_referral", "referral_id", "at"),
    sa.Index("ix_audit_at", "at"),
)

# What the notify service reported about each delivery (delivery-events): so the referrer
# sees on the referral itself that the agency was told, and by which channel.
notifications = sa.Table(
    "referral_notifications", metadata,
    sa.Column("delivery_id", sa.String(64), primary_key=True),
    sa.Column("referral_id", sa.String(36), nullable=False, index=True),
    sa.Column("event_kind", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("recipient_kind", sa.String(20), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("at", TS, nullable=False),
)

# Serious incidents (domain/incidents.py): one per referral. The organizations are copied from
# the referral so a supervisor's list and the statistics select without a join; `note` is
# free text, encrypted; `next_reminder_at` is what the reminder timer selects on.
serious_incidents = sa.Table(
    "serious_incidents", metadata,
    sa.Column("referral_id", sa.String(36), sa.ForeignKey("referrals.id"), primary_key=True),
    sa.Column("referring_organization_id", sa.String(128), nullable=False),
    sa.Column("receiving_organization_id", sa.String(128), nullable=False),
    sa.Column("discovered_at", TS, nullable=False),
    sa.Column("phoned_at", TS, nullable=False),
    sa.Column("phoned_to", sa.String(200), nullable=False),  # an authority's name
    sa.Column("note", sa.Text),  # encrypted
    sa.Column("marked_by", sa.String(200), nullable=False),
    sa.Column("marked_at", TS, nullable=False),
    sa.Column("due_at", TS, nullable=False),  # the written report's deadline
    sa.Column("report_sent_at", TS),
    sa.Column("report_sent_to", sa.String(200)),
    sa.Column("recorded_by", sa.String(200)),
    sa.Column("recorded_at", TS),
    sa.Column("reminded_due_at", TS),
    sa.Column("reminded_missed_at", TS),
    sa.Column("next_reminder_at", TS),
    sa.Index("ix_serious_incidents_referring", "referring_organization_id", "due_at"),
    sa.Index("ix_serious_incidents_reminder", "next_reminder_at"),
    sa.Index("ix_serious_incidents_discovered", "discovered_at"),
)
