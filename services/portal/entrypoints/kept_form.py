"""A form sent just after the person's session ended, kept through signing in again.

The sign-in page carries it sealed (`sealed.py`), so the next person at a shared computer
reads nothing of it in the page, and it comes back only to the person whose session it was.
Anyone else who signs in there starts afresh: a survivor's details must never be sent, or
even shown, under another caseworker's name. A form sent with no session at all (cookies
cleared, an older portal's cookie) has no owner to check against and is not kept."""
from __future__ import annotations

from flask import redirect, render_template

from .sealed import seal, unseal

PURPOSE = b"haven portal: a form kept through signing in again"
KEPT_SECONDS = 30 * 60  # time to come back and sign in; after that it is typed again


def keep(owner: str, path: str, fields: list[tuple[str, str]]) -> str:
    """The form sent to `path`, sealed for `owner` (the subject of the session that ended)."""
    return seal({"owner": owner, "path": path, "fields": fields}, PURPOSE)


def owned(sealed: str | None, subject: str) -> tuple[str, list[tuple[str, str]]] | None:
    """(path, fields) to send again, when `sealed` is a kept form of this person's."""
    kept = unseal(sealed, PURPOSE, KEPT_SECONDS)
    if not kept or kept.get("owner") != subject or not kept.get("fields"):
        return None
    return kept["path"], [(str(name), str(value)) for name, value in kept["fields"]]  # sealed: ours


def after_sign_in(sealed: str | None, subject: str, next_path: str):
    """Back to where the person was; with a form of theirs that was waiting, a page to send it.
    Someone else's form is dropped, and its page too: they start from their own home page."""
    if not sealed:
        return redirect(next_path)
    kept = owned(sealed, subject)
    if kept is None:
        return redirect("/")
    path, fields = kept
    return render_template("resume.html", resend_path=path, resend_fields=fields)
