"""The agency pages' rules: what the inbox puts first, how time left and overdue read in
both languages, which API call each step on a referral makes, and free-place counts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale

from services.portal.catalogs import TRANSLATIONS
from services.portal.domain.errors import FieldError, NotFound, Rejected, ServiceDown
from services.portal.domain.inbox import Deadline, Entry, by_priority, deadline_owed, fingerprint
from services.portal.entrypoints import i18n
from services.portal.service_layer import acting as a
from services.portal.service_layer import capacity as c
from services.portal.service_layer.inbox import InboxReading, Kinds
from services.portal.service_layer.ports import Reply

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)
TEMPLATES = TRANSLATIONS.parent / "templates"


def entry(name: str, urgency: str, due_in_minutes: float | None, created_minutes_ago: int = 0) -> Entry:
    deadline = None if due_in_minutes is None else Deadline("acknowledge", NOW + timedelta(minutes=due_in_minutes))
    return Entry({"id": name, "urgency": urgency, "status": "sent",
                  "created_at": (NOW - timedelta(minutes=created_minutes_ago)).isoformat()}, deadline)


# --- what the inbox puts first ------------------------------------------------------------

def test_emergency_comes_first_then_the_nearest_deadline_with_the_most_overdue_on_top():
    entries = [entry("normal-overdue", "normal", -600), entry("high-later", "high", 120),
               entry("emergency-later", "emergency", 10), entry("high-overdue", "high", -5),
               entry("emergency-overdue", "emergency", -1), entry("high-soon", "high", 30)]
    assert [e.id for e in by_priority(entries)] == [
        "emergency-overdue", "emergency-later", "high-overdue", "high-soon", "high-later", "normal-overdue"]


def test_a_referral_without_a_deadline_owed_comes_after_those_with_one_oldest_first():
    entries = [entry("no-deadline-new", "high", None, 1), entry("due", "high", 600),
               entry("no-deadline-old", "high", None, 90)]
    assert [e.id for e in by_priority(entries)] == ["due", "no-deadline-old", "no-deadline-new"]


def test_the_deadline_owed_is_the_earliest_step_still_undone():
    deadlines = [{"kind": "acknowledge", "due_at": "2026-12-02T03:15:00+00:00", "done_at": "2026-12-02T03:01:00+00:00",
                  "state": "met"},
                 {"kind": "decide", "due_at": "2026-12-02T04:00:00+00:00", "done_at": None, "state": "pending"}]
    owed = deadline_owed(deadlines)
    assert owed.kind == "decide" and owed.due_at == datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)
    assert owed.seconds_left(NOW) == 3600 and not owed.overdue(NOW)
    assert deadline_owed([{**deadlines[1], "state": "not_needed"}]) is None  # cancelled: nobody owes it
    assert deadline_owed([]) is None


def test_the_fingerprint_changes_when_a_referral_arrives_or_moves_but_not_with_the_order():
    one = [{"id": "a", "status": "sent"}, {"id": "b", "status": "accepted"}]
    assert fingerprint(one) == fingerprint(list(reversed(one)))
    assert fingerprint(one) != fingerprint(one + [{"id": "c", "status": "sent"}])
    assert fingerprint(one) != fingerprint([{"id": "a", "status": "acknowledged"}, one[1]])


# --- time left and overdue, in words ------------------------------------------------------

@pytest.fixture
def app():
    app = Flask(__name__, template_folder=str(TEMPLATES))
    i18n.install(app, TRANSLATIONS, "vi")
    with app.test_request_context("/"):
        yield app


def deadline_words(due: datetime) -> str:
    return render_template_string('{% from "_referral_parts.html" import time_left_of %}{{ time_left_of(due) }}',
                                  due=due).strip()


def test_time_left_and_overdue_read_in_both_languages_and_overdue_is_marked_by_more_than_colour(app):
    now = datetime.now(timezone.utc)
    with force_locale("en"):
        assert "2 hours left" in deadline_words(now + timedelta(hours=2, minutes=5))
        late = deadline_words(now - timedelta(minutes=10, seconds=5))
        assert "overdue by 10 minutes" in late and 'class="overdue"' in late and "⚠" in late
    with force_locale("vi"):
        assert "còn 2 tiếng" in deadline_words(now + timedelta(hours=2, minutes=5))
        assert "quá hạn 10 phút" in deadline_words(now - timedelta(minutes=10, seconds=5))
        assert "⚠" not in deadline_words(now + timedelta(hours=2))


def test_urgency_and_status_tags_are_words_never_codes(app):
    with force_locale("vi"):
        html = render_template_string('{% from "_referral_parts.html" import urgency_tag, status_tag %}'
                                      '{{ urgency_tag("emergency") }} {{ status_tag("acknowledged") }}')
    assert "Khẩn cấp" in html and "Cơ sở đã xem" in html
    assert "emergency<" not in html and "acknowledged<" not in html


# --- a step on a referral -> the API call ---------------------------------------------------

def test_each_step_posts_to_its_path_with_the_page_etag_as_if_match():
    rid = "46502f5e-5ee5-45e9-93cf-0401d2c4263e"
    assert a.request_for(a.Step(rid, "acknowledge", '"3"')) == (f"/v1/referrals/{rid}/acknowledge", {},
                                                                {"If-Match": '"3"'})
    assert a.request_for(a.Step(rid, "accept", '"4"', note="ignored")) == (f"/v1/referrals/{rid}/accept", {},
                                                                           {"If-Match": '"4"'})
    assert a.request_for(a.Step(rid, "decline", '"4"', reason="no_capacity", note="  full tonight ")) == (
        f"/v1/referrals/{rid}/decline", {"reason": "no_capacity", "note": "full tonight"}, {"If-Match": '"4"'})
    assert a.request_for(a.Step(rid, "complete", None, note="")) == (f"/v1/referrals/{rid}/complete",
                                                                     {"note": None}, {})
    with pytest.raises(NotFound):
        a.request_for(a.Step(rid, "cancel", None))  # the referrer's, on its own page


class FakeApi:
    def __init__(self, service="referral", answers=None, fail=None):
        self.service, self.answers, self.fail = service, answers or {}, fail
        self.calls: list[tuple] = []

    def get(self, path, token, params=None):
        self.calls.append(("GET", path, dict(params or {})))
        if self.fail:
            raise self.fail
        answer = self.answers.get((path, tuple(sorted((params or {}).items()))), self.answers.get(path))
        if answer is None:
            raise NotFound(path)
        return Reply(answer, '"1"')

    def send(self, method, path, token, body=None, headers=None):
        self.calls.append((method, path, body, dict(headers or {})))
        if self.fail:
            raise self.fail
        return Reply(self.answers.get(path, {}))


def test_a_decline_without_a_reason_or_an_other_without_a_note_is_refused_before_anything_is_sent():
    api = FakeApi()
    acting = a.ReferralActing(api, FakeApi("directory"), Kinds(FakeApi("directory")))
    with pytest.raises(Rejected) as refused:
        acting.act("t", a.Step("r1", "decline", '"1"', reason=""))
    assert refused.value.errors == [FieldError("reason", a.REASON_MISSING)]
    with pytest.raises(Rejected) as refused:
        acting.act("t", a.Step("r1", "decline", '"1"', reason="other", note="   "))
    assert refused.value.errors == [FieldError("note", a.NOTE_NEEDED)]
    with pytest.raises(Rejected):
        acting.act("t", a.Step("r1", "complete", None, note="x" * 4001))
    assert api.calls == []
    acting.act("t", a.Step("r1", "decline", '"1"', reason="other", note="Chỉ nhận trẻ em"))
    assert api.calls == [("POST", "/v1/referrals/r1/decline", {"reason": "other", "note": "Chỉ nhận trẻ em"},
                          {"If-Match": '"1"'})]


def test_the_live_status_is_read_from_the_list_not_from_the_referral_which_would_audit_a_read():
    created = datetime(2026, 12, 2, 2, 54, 30, 703655, tzinfo=timezone.utc)
    api = FakeApi(answers={"/v1/referrals": {"items": [{"id": "other", "status": "sent"},
                                                       {"id": "r1", "status": "accepted"}]}})
    acting = a.ReferralActing(api, FakeApi("directory"), Kinds(FakeApi("directory")))
    assert acting.status("t", "r1", created)["status"] == "accepted"
    (method, path, params), = api.calls
    assert path == "/v1/referrals" and params["created_from"] == created.isoformat()
    assert params["created_to"] == (created + timedelta(microseconds=1)).isoformat()


# --- the inbox use case -------------------------------------------------------------------

def summary(rid, status, urgency="high", deadlines=()):
    return {"id": rid, "status": status, "urgency": urgency, "created_at": "2026-12-02T02:00:00+00:00",
            "receiving_service_id": "s1", "service_kind": "shelter", "referring_organization_id": "org-ref",
            "deadlines": list(deadlines), "notifications": []}


def page(*items):
    return {"items": list(items)}


def deadlines(acknowledge_due: str, acknowledged_at: str | None = None) -> list[dict]:
    return [{"kind": "acknowledge", "due_at": acknowledge_due, "done_at": acknowledged_at,
             "state": "met" if acknowledged_at else "pending", "escalated": False},
            {"kind": "decide", "due_at": "2026-12-03T02:00:00+00:00", "done_at": None, "state": "pending",
             "escalated": False}]


def inbox_api(sent=(), acknowledged=(), accepted=(), recent=()) -> FakeApi:
    return FakeApi(answers={
        ("/v1/referrals", (("per_page", 100), ("status", "sent"))): page(*sent),
        ("/v1/referrals", (("per_page", 100), ("status", "acknowledged"))): page(*acknowledged),
        ("/v1/referrals", (("per_page", 100), ("status", "accepted"))): page(*accepted),
        ("/v1/referrals", (("per_page", 30),)): page(*recent)})


def test_the_inbox_takes_each_deadline_from_the_list_and_reads_no_referral_one_by_one():
    referral = inbox_api(
        sent=[summary("new", "sent", "normal", deadlines("2026-12-02T06:00:00+00:00")),
              summary("urgent", "sent", "emergency", deadlines("2026-12-02T02:15:00+00:00")),
              summary("later", "sent", "normal", deadlines("2026-12-02T09:00:00+00:00"))],
        acknowledged=[summary("seen", "acknowledged", "normal",
                              deadlines("2026-12-02T03:00:00+00:00", "2026-12-02T02:30:00+00:00"))],
        accepted=[summary("taken", "accepted")],
        recent=[summary("done", "completed"), summary("taken", "accepted")])
    directory = FakeApi("directory", answers={"/v1/services": {"items": [{"id": "s1", "name": "Nhà tạm lánh"}]},
                                              "/v1/organizations/org-ref": {"name": "Hội LHPN xã"}})
    reading = InboxReading(referral, directory, FakeApi("notify"))
    inbox = reading.load("t", "org-1")
    # emergency first; then, among the normal ones, the nearest deadline owed
    assert [e.id for e in inbox.waiting] == ["urgent", "new", "later", "seen"]
    assert [e.id for e in inbox.in_hand] == ["taken"] and [e.id for e in inbox.closed] == ["done"]
    urgent, seen = inbox.waiting[0], inbox.waiting[3]
    assert urgent.service_name == "Nhà tạm lánh" and urgent.sender_name == "Hội LHPN xã"
    assert (urgent.deadline.kind, urgent.deadline.due_at) == ("acknowledge",
                                                              datetime(2026, 12, 2, 2, 15, tzinfo=timezone.utc))
    assert seen.deadline.kind == "decide"  # it was seen: what it owes now is the decision
    assert {call[1] for call in referral.calls} == {"/v1/referrals"}  # lists only: nothing read one by one
    assert len(referral.calls) == 4  # one page per open status, and the recent ones
    reading.load("t", "org-1")
    assert [call[1] for call in directory.calls].count("/v1/organizations/org-ref") == 1  # kept, not asked each poll


def test_a_poll_reads_only_the_open_lists_and_renders_again_only_when_they_changed():
    referral = inbox_api(sent=[summary("new", "sent", "high", deadlines("2026-12-02T06:00:00+00:00"))])
    reading = InboxReading(referral, FakeApi("directory", answers={"/v1/services": {"items": []}}),
                           FakeApi("notify"))
    first, inbox = reading.poll("t", "org-1", since="")
    assert inbox is not None and [e.id for e in inbox.waiting] == ["new"]
    assert len(referral.calls) == 4  # the three open lists once (reused for the inbox), and the recent ones
    referral.calls.clear()
    again, unchanged = reading.poll("t", "org-1", since=first)
    assert (again, unchanged) == (first, None)
    assert [call[2].get("status") for call in referral.calls] == ["sent", "acknowledged", "accepted"]
    referral.calls.clear()
    _, refreshed = reading.poll("t", "org-1", since=first, full=True)  # once a minute: the time left moves on
    assert refreshed is not None and len(referral.calls) == 4


def test_the_unread_count_is_none_when_notify_is_down_and_a_number_when_it_answers():
    down = InboxReading(FakeApi(), FakeApi("directory"), FakeApi("notify", fail=ServiceDown("notify")))
    assert down.unread("t") is None
    notify = FakeApi("notify", answers={"/v1/inbox": {"unread": 3, "items": []}})
    assert InboxReading(FakeApi(), FakeApi("directory"), notify).unread("t") == 3
    assert notify.calls == [("GET", "/v1/inbox", {"unread": "true", "per_page": 1})]


# --- free places ----------------------------------------------------------------------------

def codes(count: c.Count, capacity) -> list[tuple[str, str]]:
    with pytest.raises(Rejected) as refused:
        c.new_count(count, capacity)
    return [(e.field, e.message) for e in refused.value.errors]


def test_free_places_change_by_one_within_zero_and_the_total():
    four = {"available": 3, "maximum": 4}
    assert c.new_count(c.Count("s", change=-1), four) == (2, 4)
    assert c.new_count(c.Count("s", change=1), four) == (4, 4)
    assert codes(c.Count("s", change=-1), {"available": 0, "maximum": 4}) == [("available", c.NEGATIVE)]
    assert codes(c.Count("s", change=1), {"available": 4, "maximum": 4}) == [("available", c.ABOVE_TOTAL)]


def test_a_count_set_by_hand_is_a_whole_number_not_negative_nor_above_the_total():
    four = {"available": 3, "maximum": 4}
    assert c.new_count(c.Count("s", available=" 0 "), four) == (0, 4)
    assert codes(c.Count("s", available="-2"), four) == [("available", c.NEGATIVE)]
    assert codes(c.Count("s", available="5"), four) == [("available", c.ABOVE_TOTAL)]
    assert codes(c.Count("s", available="ba"), four) == [("available", c.NOT_A_NUMBER)]
    assert codes(c.Count("s", available="2"), None) == [("maximum", c.TOTAL_NEEDED)]  # never counted
    assert c.new_count(c.Count("s", available="2", maximum="6"), None) == (2, 6)


def test_free_places_are_reported_only_for_the_organizations_own_services():
    directory = FakeApi("directory", answers={"/v1/services/s1": {"organization_id": "org-1",
                                                                   "capacity": {"available": 1, "maximum": 4}}})
    capacity = c.Capacity(directory)
    with pytest.raises(NotFound):
        capacity.report("t", "org-2", c.Count("s1", change=1))
    capacity.report("t", "org-1", c.Count("s1", change=1))
    assert directory.calls[-1] == ("PUT", "/v1/services/s1/capacity", {"available": 2, "maximum": 4}, {})


# --- the unread count in the header -----------------------------------------------------------

@pytest.fixture
def portal(tmp_path):
    from services.portal.bootstrap import create_app

    nowhere = "http://127.0.0.1:9"  # nothing answers there
    return create_app({"HAVEN_DATA_DIR": str(tmp_path), "PORTAL_NOTIFY_URL": nowhere,
                       "PORTAL_DIRECTORY_URL": nowhere, "PORTAL_REFERRAL_URL": nowhere})


def header_count(portal, roles: tuple[str, ...], permissions: set[str], notify=None) -> str:
    import time as clock

    from flask import g, render_template

    from services.portal.domain.session import Identity, Session, Tokens
    from services.portal.entrypoints.inbox import INBOX

    if notify is not None:
        portal.extensions["haven.portal"].use_cases[INBOX] = InboxReading(FakeApi(), FakeApi("directory"), notify)
    with portal.test_request_context("/"):
        g.portal_session = Session(Identity("u", "U", roles, "org-1", frozenset(permissions)),
                                   Tokens("t", clock.time() + 600), clock.time())
        return render_template("_unread.html").strip()


def test_the_header_shows_the_unread_count_and_nothing_at_all_when_notify_is_down(portal):
    assert header_count(portal, ("agency_staff",), {"notify:inbox"}) == ""  # notify does not answer: no break
    notify = FakeApi("notify", answers={"/v1/inbox": {"unread": 4, "items": []}})
    shown = header_count(portal, ("agency_staff",), {"notify:inbox"}, notify)
    assert 'href="/inbox"' in shown and ">4</span>" in shown


def test_the_header_asks_notify_nothing_for_someone_without_an_inbox(portal):
    notify = FakeApi("notify", answers={"/v1/inbox": {"unread": 4, "items": []}})
    assert header_count(portal, ("agency_staff",), {"referral:read"}, notify) == ""
    assert header_count(portal, ("ops",), {"notify:inbox"}, notify) == ""
    assert notify.calls == []


def test_the_header_count_is_asked_of_notify_at_most_every_few_seconds_per_person():
    now = [1000.0]
    notify = FakeApi("notify", answers={"/v1/inbox": {"unread": 2, "items": []}})
    reading = InboxReading(FakeApi(), FakeApi("directory"), notify, clock=lambda: now[0])
    assert reading.unread("t") == 2
    now[0] += 5
    assert reading.unread("t") == 2
    assert len(notify.calls) == 1  # the second page reused the count
    assert reading.unread("someone-else") == 2
    assert len(notify.calls) == 2  # never another person's count
    now[0] += 6
    reading.unread("t")
    assert len(notify.calls) == 3  # stale after 10 s: asked again
    reading.mark_seen("t", "r-1")
    reading.unread("t")
    assert [c for c in notify.calls if c[1] == "/v1/inbox"][-1][2] == {"unread": "true", "per_page": 1}
    assert len([c for c in notify.calls if c[2] == {"unread": "true", "per_page": 1}]) == 4  # opened → asked again
