"""What a person reads: e-mail (plain text and HTML) and SMS, in Vietnamese or English.

Rendered from a `Notice` only, so a message can say nothing a notice does not hold: the
referral id, urgency, service kind, a deadline, a reason code, a link. Every value put into
HTML is escaped. Times are shown in Vietnam time (UTC+7 all year).
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .model import INCIDENT_REPORT, Notice, RECEIVING_AGENCY, SUPERVISOR

VIETNAM = timezone(timedelta(hours=7))

_URGENCY = {
    "vi": {"emergency": "KHẨN CẤP", "high": "cao", "normal": "bình thường"},
    "en": {"emergency": "EMERGENCY", "high": "high", "normal": "normal"},
}
_KIND = {
    "vi": {"shelter": "nhà tạm lánh", "trusted_address": "địa chỉ tin cậy", "social_work": "công tác xã hội",
           "health": "y tế", "legal_aid": "trợ giúp pháp lý", "police": "công an", "counselling": "tư vấn",
           "hotline": "đường dây nóng"},
    "en": {"shelter": "shelter", "trusted_address": "trusted address", "social_work": "social work",
           "health": "health", "legal_aid": "legal aid", "police": "police", "counselling": "counselling",
           "hotline": "hotline"},
}
_DEADLINE = {"vi": {"acknowledge": "Hạn xác nhận", "decide": "Hạn quyết định",
                    INCIDENT_REPORT: "Hạn gửi báo cáo bằng văn bản"},
             "en": {"acknowledge": "Acknowledge by", "decide": "Decide by",
                    INCIDENT_REPORT: "Written report due by"}}
_HEADLINE = {
    "vi": {
        ("created", RECEIVING_AGENCY): "Tổ chức của bạn nhận một giới thiệu mới",
        ("cancelled", RECEIVING_AGENCY): "Một giới thiệu gửi đến tổ chức của bạn đã bị hủy",
        ("escalated", RECEIVING_AGENCY): "Một giới thiệu gửi đến tổ chức của bạn đã quá hạn",
        ("acknowledged", None): "Giới thiệu của bạn đã được cơ quan tiếp nhận xác nhận",
        ("accepted", None): "Giới thiệu của bạn đã được chấp nhận",
        ("declined", None): "Giới thiệu của bạn đã bị từ chối",
        ("completed", None): "Giới thiệu của bạn đã hoàn thành",
        ("escalated", None): "Giới thiệu của bạn đã quá hạn mà chưa được xử lý",
        ("escalated", SUPERVISOR): "Một giới thiệu khẩn cấp của đơn vị bạn đã quá hạn",
        ("incident_due", SUPERVISOR): "Vụ việc nghiêm trọng: còn 1 ngày để gửi báo cáo bằng văn bản lên cấp trên",
        ("incident_missed", SUPERVISOR): "Vụ việc nghiêm trọng: đã quá hạn gửi báo cáo bằng văn bản lên cấp trên",
        ("ping", None): "Thông báo thử từ Haven: đăng ký của bạn hoạt động",
    },
    "en": {
        ("created", RECEIVING_AGENCY): "A new referral for your organization",
        ("cancelled", RECEIVING_AGENCY): "A referral to your organization was cancelled",
        ("escalated", RECEIVING_AGENCY): "A referral to your organization is overdue",
        ("acknowledged", None): "Your referral was acknowledged by the receiving agency",
        ("accepted", None): "Your referral was accepted",
        ("declined", None): "Your referral was declined",
        ("completed", None): "Your referral was completed",
        ("escalated", None): "Your referral is overdue",
        ("escalated", SUPERVISOR): "An emergency referral from your agency is overdue",
        ("incident_due", SUPERVISOR): "Serious incident: one day left to send the written report to the higher "
                                      "authority",
        ("incident_missed", SUPERVISOR): "Serious incident: the written report to the higher authority is overdue",
        ("ping", None): "Test notification from Haven: your subscription works",
    },
}
_LABELS = {
    "vi": {"referral": "Mã giới thiệu", "urgency": "Mức độ khẩn cấp", "kind": "Loại dịch vụ",
           "reason": "Lý do", "open": "Xem giới thiệu", "footer":
           "Thông báo này không chứa thông tin cá nhân của người được giới thiệu. Đăng nhập Haven để xem chi tiết."},
    "en": {"referral": "Referral", "urgency": "Urgency", "kind": "Service kind", "reason": "Reason",
           "open": "Open the referral", "footer":
           "This notification holds no personal details of the person referred. Sign in to Haven for details."},
}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    sms: str


def _when(value: str | None) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y (UTC+7)")


def headline(notice: Notice, language: str) -> str:
    table = _HEADLINE[language]
    return table.get((notice.kind, notice.audience)) or table.get((notice.kind, None)) or notice.kind


def render(notice: Notice, language: str) -> Message:
    language = language if language in _HEADLINE else "vi"
    labels = _LABELS[language]
    title = headline(notice, language)
    rows: list[tuple[str, str]] = []
    if notice.referral_id:
        rows.append((labels["referral"], notice.referral_id))
    if notice.urgency:
        rows.append((labels["urgency"], _URGENCY[language].get(notice.urgency, notice.urgency)))
    if notice.service_kind:
        rows.append((labels["kind"], _KIND[language].get(notice.service_kind, notice.service_kind)))
    if notice.deadline and notice.deadline_kind:
        rows.append((_DEADLINE[language].get(notice.deadline_kind, notice.deadline_kind), _when(notice.deadline)))
    if notice.reason_code:
        rows.append((labels["reason"], notice.reason_code))
    urgent = " [" + _URGENCY[language]["emergency"] + "]" if notice.urgency == "emergency" else ""
    subject = f"Haven{urgent}: {title}"
    text_lines = [title, ""] + [f"{label}: {value}" for label, value in rows]
    if notice.link:
        text_lines += ["", f"{labels['open']}: {notice.link}"]
    text_lines += ["", labels["footer"]]
    e = html.escape
    body_rows = "".join(f"<tr><th align=\"left\">{e(label)}</th><td>{e(value)}</td></tr>" for label, value in rows)
    link = f'<p><a href="{e(notice.link)}">{e(labels["open"])}</a></p>' if notice.link else ""
    page = (f'<!doctype html><html lang="{language}"><body><h2>{e(title)}</h2><table>{body_rows}</table>{link}'
            f'<p><small>{e(labels["footer"])}</small></p></body></html>')
    sms_parts = [f"Haven{urgent}: {title}."]
    if notice.deadline and notice.deadline_kind:
        sms_parts.append(f"{_DEADLINE[language].get(notice.deadline_kind)}: {_when(notice.deadline)}.")
    if notice.link:
        sms_parts.append(notice.link)
    return Message(subject=subject, text="\n".join(text_lines) + "\n", html=page, sms=" ".join(sms_parts))
