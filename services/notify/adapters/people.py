"""Who the referrer is and who supervises them: two adapters of `service_layer.ports.People`.

With Haven's own accounts (the embedded issuer) the local user store knows each person's
e-mail, phone and language, and who the supervisors of an organization are. With an outside
identity provider Haven knows nobody: people are reached through user subscriptions only.
"""
from __future__ import annotations

from haven.platform.local_users import LocalUsers

from ..service_layer.ports import Contact


class LocalPeople:
    def __init__(self, data_dir: str):
        self.users = LocalUsers(data_dir)

    def contact(self, user_id: str) -> Contact | None:
        user = self.users.get(user_id)
        if user is None or user.disabled:
            return None
        return Contact(user.email, user.phone, user.language)

    def supervisors(self, organization_id: str) -> list[str]:
        return [user.username for user in self.users.list()
                if "supervisor" in user.roles and user.organization_id == organization_id and not user.disabled]


class NobodyKnown:
    def contact(self, user_id: str) -> Contact | None:
        return None

    def supervisors(self, organization_id: str) -> list[str]:
        return []
