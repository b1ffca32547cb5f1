"""Bearer tokens for tests, minted by the same code as `haven token`."""
from haven.platform.auth import LocalKeys, mint_token


def bearer(data_dir, *roles: str, organization_id: str | None = None, subject: str = "tester",
           issuer: str = "haven-local", ttl_seconds: int = 3600) -> dict[str, str]:
    token = mint_token(LocalKeys(str(data_dir)), issuer=issuer, audience="haven", subject=subject,
                       roles=roles, organization_id=organization_id, ttl_seconds=ttl_seconds)
    return {"Authorization": f"Bearer {token}"}
