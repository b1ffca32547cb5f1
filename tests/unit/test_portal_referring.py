"""The refer form's pure rules: who may override consent, where the API's field errors land,
and what the form sends (everything typed, nothing invented)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.portal.domain import referral_form as rules
from services.portal.domain.errors import FieldError, Rejected, ServiceDown
from services.portal.service_layer.my_referrals import Filters
from services.portal.service_layer.ports import Reply
from services.portal.service_layer.referring import Referring, Refused, Sent
from tests.support.portal_client import text_of

SERVICE = "3374bd36-ada4-4267-9b20-5caef365a49b"


def filled(**changes) -> dict:
    values = {name: "" for name in rules.FORM_FIELDS}
    values.update({
        "profile.client_ref": "CASE-42", "profile.age_group": "25_59", "profile.gender": "female",
        "personal.name": "Lan", "personal.phone": "+84 912 345 678", "personal.address": "Xóm 3",
        "personal.safe_contact_time": "mornings", "personal.safe_contact_method": "SMS only",
        "personal.language": "hmn", "personal.needs": "pregnant\n\n a child in her care ",
        "personal.safety_notes": "He has a knife", "urgency": "high", "risk_level": "high",
        "services_requested": ["shelter", "health"], "consent.given": "yes", "consent.obtained_by": "demo-caseworker",
        "consent.obtained_date": "2026-12-02", "consent.obtained_time": "09:30",
        "consent.scope": ["contact", "needs", "safety_notes"], "consent.expires_date": "2026-12-31",
    })
    values.update(changes)
    return values


# --- who may override consent -----------------------------------------------------------

def test_only_a_supervisor_at_severe_risk_may_override():
    assert rules.override_allowed(True, "severe")
    assert not rules.override_allowed(True, "high")
    assert not rules.override_allowed(False, "severe")
    assert not rules.override_allowed(True, None)


def test_an_override_below_severe_risk_or_without_a_reason_is_refused_beside_its_fields():
    problems = rules.check(filled(**{"override.use": "yes", "risk_level": "high"}), may_override=True)
    assert {(p.field, p.code) for p in problems} == {("override.use", "override_needs_severe"),
                                                     ("override.reason", "override_needs_reason")}


def test_a_caseworker_sending_an_override_is_refused_whatever_the_risk():
    problems = rules.check(filled(**{"override.use": "yes", "risk_level": "severe", "override.reason": "knife"}),
                           may_override=False)
    assert [(p.field, p.code) for p in problems] == [("override.use", "override_not_permitted")]


def test_a_supervisor_at_severe_risk_with_a_reason_passes():
    assert rules.check(filled(**{"override.use": "yes", "risk_level": "severe", "override.reason": "knife"}),
                       may_override=True) == []


def test_a_date_that_is_not_a_date_is_named():
    problems = rules.check(filled(**{"consent.obtained_date": "02/12/2026"}), may_override=False)
    assert [(p.field, p.code) for p in problems] == [("consent.obtained_date", "not_a_date")]


# --- where the API's errors land --------------------------------------------------------

def test_api_field_errors_land_beside_the_form_field_they_are_about():
    assert rules.form_field("consent") == "consent.given"  # no consent at all: the "did she agree" question
    assert rules.form_field("consent.obtained_at") == "consent.obtained_date"
    assert rules.form_field("consent.expires_at") == "consent.expires_date"
    assert rules.form_field("override") == "override.use"
    assert rules.form_field("override.reason") == "override.reason"
    assert rules.form_field("profile.client_ref") == "profile.client_ref"
    assert rules.form_field("personal.needs.3") == "personal.needs"
    assert rules.form_field("consent.scope.0") == "consent.scope"
    assert rules.form_field("services_requested.1") == "services_requested"
    assert rules.form_field("receiving_service_id") == ""  # not a field the person can change: at the top
    assert rules.form_field("") == ""


def test_every_form_field_that_is_an_api_field_keeps_its_name():
    for name in rules.PROFILE_FIELDS + rules.PERSONAL_FIELDS + ("urgency", "risk_level", "consent.given",
                                                                 "consent.obtained_by", "consent.scope"):
        assert rules.form_field(name) == name


def test_errors_are_grouped_by_form_field_once_each():
    grouped = rules.errors_by_field([FieldError("consent", "needs consent"), FieldError("personal.needs.0", "long"),
                                     FieldError("personal.needs.1", "long")])
    assert grouped == {"consent.given": ["needs consent"], "personal.needs": ["long"]}


# --- what the form sends ----------------------------------------------------------------

def test_the_body_carries_every_api_field_as_typed_and_nothing_else():
    body = rules.api_body(rules.create_body(filled(), SERVICE))
    assert body == {
        "receiving_service_id": SERVICE, "urgency": "high", "risk_level": "high",
        "services_requested": ["shelter", "health"],
        "profile": {"client_ref": "CASE-42", "age_group": "25_59", "gender": "female"},
        "personal": {"name": "Lan", "phone": "+84 912 345 678", "address": "Xóm 3", "safe_contact_time": "mornings",
                     "safe_contact_method": "SMS only", "language": "hmn",
                     "needs": ["pregnant", "a child in her care"], "safety_notes": "He has a knife"},
        "consent": {"given": True, "obtained_by": "demo-caseworker", "obtained_at": "2026-12-02T09:30:00+07:00",
                    "scope": ["contact", "needs", "safety_notes"], "expires_at": "2026-12-31T23:59:59+07:00"},
    }


def test_times_typed_in_vietnam_are_the_right_instant():
    sent = rules.create_body(filled(), SERVICE)["consent"]["obtained_at"]
    assert datetime.fromisoformat(sent).astimezone(timezone.utc) == datetime(2026, 12, 2, 2, 30, tzinfo=timezone.utc)


def test_blank_answers_are_left_out_not_invented():
    blank = {name: "" for name in rules.FORM_FIELDS} | {"services_requested": [], "consent.scope": []}
    body = rules.api_body(rules.create_body(blank, SERVICE))
    # no consent answer, no personal details, no override: the API says what is missing
    assert body == {"receiving_service_id": SERVICE, "services_requested": [],
                    "profile": {"client_ref": "", "age_group": "unknown", "gender": "undisclosed"}}


def test_an_override_is_sent_only_when_asked_for_and_with_its_reason():
    asked = rules.create_body(filled(**{"override.use": "yes", "override.reason": " knife "}), SERVICE)
    assert asked["override"] == {"reason": "knife"}
    assert rules.create_body(filled(**{"override.reason": "knife"}), SERVICE)["override"] is None


def test_a_re_referral_sends_only_what_the_re_refer_endpoint_takes():
    body = rules.api_body(rules.re_refer_body(filled(**{"consent.given": ""}), SERVICE))
    assert body == {"receiving_service_id": SERVICE, "services_requested": ["shelter", "health"],
                    "urgency": "high", "risk_level": "high"}


# --- the use case: one form, one referral ----------------------------------------------

class FakeApi:
    def __init__(self, answers):
        self.answers, self.sent = list(answers), []

    def get(self, path, token, params=None):
        raise AssertionError("not expected")

    def send(self, method, path, token, body=None, headers=None):
        self.sent.append((method, path, body, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_form_key_goes_with_every_send_and_a_replay_is_the_same_referral():
    api = FakeApi([Reply({"id": "r1"}, '"1"', {}), Reply({"id": "r1"}, '"1"', {"Idempotent-Replayed": "true"})])
    use = Referring(directory=None, referral=api)
    first = use.send("t", SERVICE, filled(), "key-of-this-form-123", may_override=False)
    second = use.send("t", SERVICE, filled(), "key-of-this-form-123", may_override=False)
    assert first == Sent("r1") and second == Sent("r1", replayed=True)
    assert [h["Idempotency-Key"] for _, _, _, h in api.sent] == ["key-of-this-form-123"] * 2


def test_an_api_refusal_comes_back_by_form_field():
    api = FakeApi([Rejected("consent.given: no", [FieldError("consent.given", "the survivor did not consent")],
                            "consent-required")])
    refused = Referring(directory=None, referral=api).send("t", SERVICE, filled(**{"consent.given": "no"}), "k" * 20,
                                                           may_override=False)
    assert refused == Refused(messages={"consent.given": ["the survivor did not consent"]}, problem="consent-required")


def test_what_a_new_referral_cannot_go_without_is_named_all_at_once():
    blank = filled(**{"profile.client_ref": " ", "urgency": "", "risk_level": "", "consent.given": ""})
    assert {p.field for p in rules.check(blank, may_override=False)} == {
        "profile.client_ref", "urgency", "risk_level", "consent.given"}
    # an override stands in for consent; a re-referral keeps the declined one's answers
    assert {p.field for p in rules.check(blank | {"override.use": "yes", "override.reason": "knife",
                                                  "risk_level": "severe"}, may_override=True)} == {
        "profile.client_ref", "urgency"}
    assert rules.check(blank, may_override=False, creating=False) == []


def test_the_portal_refuses_an_override_it_knows_is_wrong_without_asking_the_api():
    api = FakeApi([])
    refused = Referring(directory=None, referral=api).send("t", SERVICE, filled(**{"override.use": "yes"}), "k" * 20,
                                                           may_override=False)
    assert isinstance(refused, Refused) and "override.use" in refused.codes and api.sent == []


# --- my referrals' filters --------------------------------------------------------------

def test_list_filters_become_the_api_query_with_whole_vietnamese_days():
    filters, ignored = Filters.from_query({"status": "declined", "urgency": "bogus", "service_kind": "shelter",
                                           "created_from": "2026-12-01", "created_to": "2026-12-02", "page": "2"})
    assert ignored == ["urgency"]
    assert filters.query() == {"page": 2, "per_page": 20, "status": "declined", "service_kind": "shelter",
                               "created_from": "2026-12-01T00:00:00+07:00",
                               "created_to": "2026-12-02T23:59:59+07:00"}
    assert filters.link(page=3) == {"status": "declined", "service_kind": "shelter", "created_from": "2026-12-01",
                                    "created_to": "2026-12-02", "page": 3}
    assert "page" not in filters.link(page=1)


# --- a service down: the form comes back, everything typed kept ---------------------------

class Down:
    def __init__(self, service, answers=None):
        self.service, self.answers = service, answers or {}

    def get(self, path, token, params=None):
        if path in self.answers:
            return Reply(self.answers[path])
        raise ServiceDown(self.service)

    def send(self, method, path, token, body=None, headers=None):
        raise ServiceDown(self.service)


def portal(tmp_path, directory, referral, roles=("caseworker",), language="en"):
    import re
    import time

    from services.portal.bootstrap import create_app, use_cases
    from services.portal.domain.session import Identity, Session, Tokens
    from services.portal.entrypoints.sessions import AUTH_KEY, to_cookie

    app = create_app({"HAVEN_DATA_DIR": str(tmp_path), "PORTAL_SECRET_KEY": "k" * 40,
                      "PORTAL_DEFAULT_LANGUAGE": language})
    wiring = app.extensions["haven.portal"]
    wiring.directory, wiring.referral = directory, referral
    wiring.use_cases = use_cases(directory, referral, wiring.notify)  # the pages' use cases over the fakes
    client = app.test_client()
    me = Identity("demo-caseworker", "Lan", tuple(roles), "org-1",
                  frozenset({"referral:create", "referral:read", "referral:cancel"}))
    with client.session_transaction() as stored:
        stored[AUTH_KEY] = to_cookie(Session(me, Tokens("token", time.time() + 3600), time.time()))
    return client, lambda page: re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


DIRECTORY_ANSWERS = {f"/v1/services/{SERVICE}": {"id": SERVICE, "name": "Nhà tạm lánh An Bình", "kind": "shelter",
                                                 "organization_id": None, "status": "active"},
                     "/v1/kinds": [{"code": "shelter", "name_vi": "Nhà tạm lánh", "name_en": "Shelter"}]}


def test_with_the_referral_service_down_the_form_comes_back_with_everything_typed(tmp_path):
    client, csrf = portal(tmp_path, Down("directory", DIRECTORY_ANSWERS), Down("referral"))
    form = client.get(f"/services/{SERVICE}/refer")
    assert form.status_code == 200 and "Nhà tạm lánh An Bình" in form.get_data(as_text=True)
    fields = {"csrf_token": csrf(form), "idempotency_key": "form-key-0123456789abcdef", "urgency": "high",
              "risk_level": "high", "consent.given": "yes", "consent.obtained_by": "demo-caseworker",
              "consent.obtained_date": "2026-12-01", "consent.obtained_time": "08:00",
              "profile.client_ref": "CASE-42", "personal.safety_notes": "He watches her phone"}
    answer = client.post(f"/services/{SERVICE}/refer", data=fields)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503
    assert "The referral service is not answering, so nothing was sent." in page
    assert 'value="form-key-0123456789abcdef"' in page  # a resend is still the same referral
    assert 'value="CASE-42"' in page and "He watches her phone" in page


def test_with_the_directory_down_the_form_still_opens_and_says_so(tmp_path):
    client, _ = portal(tmp_path, Down("directory"), Down("referral"))
    form = client.get(f"/services/{SERVICE}/refer")
    assert form.status_code == 200
    assert "The service directory is not answering" in form.get_data(as_text=True)
    assert 'name="profile.client_ref"' in form.get_data(as_text=True)


def test_the_form_says_before_sending_that_a_service_is_closed_full_or_not_checked(tmp_path):
    today = datetime.now(rules.VIETNAM).date()
    every_day = [{"byday": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "opens_at": "08:00", "closes_at": "17:00"}]
    closed_today = {**DIRECTORY_ANSWERS[f"/v1/services/{SERVICE}"], "hours": every_day,
                    "closed_on": [today.isoformat()], "capacity": {"available": 0, "maximum": 10}, "stale": True}
    client, _ = portal(tmp_path, Down("directory", {**DIRECTORY_ANSWERS, f"/v1/services/{SERVICE}": closed_today}),
                       Down("referral"))
    page = text_of(client.get(f"/services/{SERVICE}/refer"))
    assert "Closed now (Opens tomorrow at 08:00). The agency may not see this referral until it opens." in page
    assert "No free places at the last count. Phone to check before you refer." in page
    assert "This record was not checked for over 6 months." in page

    open_with_places = {**DIRECTORY_ANSWERS[f"/v1/services/{SERVICE}"], "always_open": True,
                        "capacity": {"available": 3, "maximum": 10}, "stale": False}
    client, _ = portal(tmp_path, Down("directory", {**DIRECTORY_ANSWERS, f"/v1/services/{SERVICE}": open_with_places}),
                       Down("referral"))
    page = text_of(client.get(f"/services/{SERVICE}/refer"))
    assert "Closed now" not in page and "No free places" not in page and "not checked" not in page


def test_one_free_place_reads_in_the_singular(tmp_path):
    one_left = {**DIRECTORY_ANSWERS[f"/v1/services/{SERVICE}"], "always_open": True,
                "capacity": {"available": 1, "maximum": 10}}
    for language, said in (("en", "1 free place of 10"), ("vi", "Còn 1 chỗ trống")):
        client, _ = portal(tmp_path, Down("directory", {**DIRECTORY_ANSWERS, "/v1/areas": [],
                                                        f"/v1/services/{SERVICE}": one_left}),
                           Down("referral"), language=language)
        page = text_of(client.get(f"/services/{SERVICE}"))
        assert said in page and "1 free places" not in page and "1 chỗ trống trống" not in page


# --- my referrals: each row's deadline, late marks and who was told ------------------------

def at(minutes: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


def deadline(kind, due_minutes, state, done_minutes=None, escalated=False) -> dict:
    return {"kind": kind, "due_at": at(due_minutes), "done_at": None if done_minutes is None else at(done_minutes),
            "state": state, "escalated": escalated}


def notice(event, channel, recipient, outcome, minutes=-50, attempts=1) -> dict:
    return {"event_kind": event, "channel": channel, "recipient_kind": recipient, "outcome": outcome,
            "attempts": attempts, "at": at(minutes)}


def listed(rid, status="sent", urgency="high", deadlines=(), notifications=(), created=-120) -> dict:
    return {"id": rid, "status": status, "urgency": urgency, "risk_level": "high", "service_kind": "shelter",
            "receiving_service_id": SERVICE, "receiving_organization_id": "org-2", "referring_organization_id": "org-1",
            "created_at": at(created), "acknowledged_at": None, "decided_at": None, "completed_at": None,
            "cancelled_at": None, "deadlines": list(deadlines), "notifications": list(notifications)}


LATE = listed("11111111-1111-4111-8111-111111111111", created=-240, deadlines=[
    deadline("acknowledge", -180, "overdue", escalated=True), deadline("decide", 60 * 20, "pending")], notifications=[
    notice("created", "email", "organization", "delivered"),
    notice("created", "sms", "organization", "dead", attempts=5),
    notice("escalated", "email", "user", "delivered", minutes=-55)])
IN_TIME = listed("22222222-2222-4222-8222-222222222222", urgency="normal", created=-10, deadlines=[
    deadline("acknowledge", 60 * 23, "pending"), deadline("decide", 60 * 71, "pending")])
ANSWERED_LATE = listed("33333333-3333-4333-8333-333333333333", status="accepted", created=-60 * 30, deadlines=[
    deadline("acknowledge", -60 * 26, "missed", done_minutes=-60 * 25, escalated=True),
    deadline("decide", -60 * 6, "met", done_minutes=-60 * 20)],
    notifications=[notice("created", "webhook", "organization", "undeliverable"),
                   notice("created", "webhook", "organization", "delivered", minutes=-40)])


class ReferralList:
    """The referral API's list: every query answers from these rows (by status when asked)."""

    def __init__(self, *items, incidents=()):
        self.items, self.calls, self.incidents = list(items), [], list(incidents)

    def get(self, path, token, params=None):
        self.calls.append((path, dict(params or {})))
        if path == "/v1/serious-incidents":
            found = [i for i in self.incidents if (params or {}).get("state") in (None, i["state"])]
            return Reply({"total": len(found), "page": 1, "per_page": 1, "items": found[:1]})
        assert path == "/v1/referrals", "a list never reads a referral one by one"
        status = (params or {}).get("status")
        found = [i for i in self.items if status in (None, i["status"])]
        return Reply({"total": len(found), "page": 1, "per_page": 20, "items": found})

    def send(self, method, path, token, body=None, headers=None):
        raise AssertionError("not expected")


def test_a_row_says_what_the_agency_owes_next_and_a_late_one_is_marked_in_words_and_with_a_sign():
    from services.portal.domain.referral_rows import deadline_marks, is_late, next_owed, notices, told

    marks = deadline_marks(LATE["deadlines"])
    assert next_owed(marks).kind == "acknowledge" and is_late(marks, datetime.now(timezone.utc))
    assert not is_late(deadline_marks(IN_TIME["deadlines"]), datetime.now(timezone.utc))
    # a deadline that passed since the API answered is late too (the page reads the clock)
    assert is_late(deadline_marks([deadline("acknowledge", -1, "pending")]), datetime.now(timezone.utc))
    assert next_owed(deadline_marks(ANSWERED_LATE["deadlines"])) is None  # it answered: nothing owed
    summary = told(notices(LATE["notifications"]))
    assert [(t.recipient_kind, t.delivered, t.failed, t.partial) for t in summary] == [
        ("organization", ("email",), ("sms",), ()), ("user", ("email",), (), ())]
    # failed, then a later message of the same step arrived (a retry): reached, nothing pending
    assert [(t.delivered, t.failed, t.partial) for t in told(notices(ANSWERED_LATE["notifications"]))] == [
        (("webhook",), (), ())]
    # two webhooks of the agency, one reached and one dead: reached, but not every message arrived
    two = told(notices([notice("created", "webhook", "organization", "delivered", minutes=-5),
                        notice("created", "webhook", "organization", "dead", minutes=-4, attempts=2)]))
    assert [(t.delivered, t.failed, t.partial) for t in two] == [(("webhook",), (), ("webhook",))]
    # the supervisors' reminders about a serious incident's written report are not the referrer being told
    reminded = told(notices([notice("created", "email", "user", "delivered", minutes=-9),
                             notice("incident_due", "email", "user", "delivered", minutes=-2),
                             notice("incident_missed", "sms", "user", "dead", minutes=-1)]))
    assert [(t.recipient_kind, t.delivered, t.failed) for t in reminded] == [("user", ("email",), ())]


def test_a_serious_incident_reminder_in_the_timeline_names_the_supervisors(app):
    from services.portal.domain.referral_rows import Notice
    from services.portal.entrypoints.referring import notice_event, notice_who

    reminder = Notice("incident_missed", "email", "user", "delivered", 1, datetime.now(timezone.utc))
    with app.test_request_context(headers={"Cookie": "haven_lang=en"}):
        assert notice_who(reminder) == "The organization's supervisors"
        assert notice_event(reminder) == "The written report on the serious incident is overdue"


def test_my_referrals_rows_show_deadlines_late_marks_and_each_delivery_in_words(tmp_path):
    referral = ReferralList(LATE, IN_TIME, ANSWERED_LATE)
    client, _ = portal(tmp_path, Down("directory", DIRECTORY_ANSWERS), referral)
    page = client.get("/referrals")
    assert page.status_code == 200
    words = text_of(page.get_data(as_text=True))
    late, in_time, answered = (words.split("Nhà tạm lánh An Bình")[i] for i in (1, 2, 3))
    assert "Agency to confirm it has seen it: ⚠ overdue by 3 hours" in late
    assert "Escalated: a deadline was missed" in late
    assert "Agency told by email ✓" in late and "Not delivered to the agency by SMS ✗" in late
    assert "Referrer told by email ✓" in late
    assert "Referral sent: The agency, SMS — Could not be delivered (attempts: 5," in late
    assert "Escalated: a deadline was missed: The referrer or a supervisor, Email — Delivered" in late
    assert "Agency to confirm it has seen it: 23 hours left" in in_time and "overdue" not in in_time
    assert "Who was told" not in in_time and "told by" not in in_time  # notify reported nothing: nothing claimed
    assert "✗ Agency to confirm it has seen it: Missed" in answered and "✓ Agency to decide: Met" in answered
    assert "Agency told by the organization's own system ✓" in answered
    assert "Referral sent: The agency, Agency system — Could not be delivered" in answered
    html = page.get_data(as_text=True)
    assert html.count('class="card referral-row is-late"') == 1  # the colour repeats what the words say
    assert '<details class="row-notices">' in html and 'class="overdue"' in html


def test_my_referrals_in_vietnamese_say_who_was_told_in_vietnamese(tmp_path):
    two_webhooks = listed("44444444-4444-4444-8444-444444444444", notifications=[
        notice("created", "webhook", "organization", "delivered", minutes=-5),
        notice("created", "webhook", "organization", "dead", minutes=-4, attempts=2)])
    client, _ = portal(tmp_path, Down("directory", DIRECTORY_ANSWERS), ReferralList(LATE, two_webhooks),
                       language="vi")
    words = text_of(client.get("/referrals").get_data(as_text=True))
    assert "Đã báo cho cơ sở qua email ✓" in words and "Chưa báo được cho cơ sở qua SMS ✗" in words
    # one of two addresses failed: said, not hidden by the one that arrived
    assert ("Đã báo cho cơ sở qua hệ thống riêng của tổ chức ✓ · "
            "Có tin báo cho cơ sở qua hệ thống riêng của tổ chức chưa đến nơi ✗") in words
    assert "quá hạn 3 tiếng" in words
    assert "delivered" not in words and "organization" not in words  # codes only as words


def test_the_supervisor_sees_late_and_escalated_first_from_the_list_alone(tmp_path):
    referral = ReferralList(IN_TIME, ANSWERED_LATE, LATE)
    client, _ = portal(tmp_path, Down("directory", DIRECTORY_ANSWERS), referral, roles=("supervisor",))
    page = client.get("/supervision")
    assert page.status_code == 200
    words = text_of(page.get_data(as_text=True))
    late, waiting = words.split("Late or escalated", 1)[1].split("Waiting for an agency's answer", 1)
    assert "(2)" in late[:5] and "(1)" in waiting[:5]
    # still waiting past its deadline first, then the one answered late
    assert late.index("overdue by 3 hours") < late.index("Agency to confirm it has seen it: Missed")
    assert "23 hours left" in waiting.split("Refer with a consent override")[0]
    assert {path for path, _ in referral.calls} == {"/v1/referrals", "/v1/serious-incidents"}  # no referral read
    assert "Every serious incident's written report has been sent." in words


def test_the_supervisor_sees_how_many_serious_incidents_still_owe_their_written_report(tmp_path):
    owed = [{"referral_id": f"r{n}", "state": state} for n, state in enumerate(["missing", "missing", "due", "late"])]
    referral = ReferralList(IN_TIME, incidents=owed)
    client, _ = portal(tmp_path, Down("directory", DIRECTORY_ANSWERS), referral, roles=("supervisor",))
    page = client.get("/supervision")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    words = text_of(html)
    assert "Written reports overdue: 2" in words and "Written reports still to send: 1" in words
    assert 'href="/ops/incidents?state=missing"' in html and 'href="/ops/incidents?state=due"' in html
    assert "has been sent" not in words
