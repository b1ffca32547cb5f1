"""HTTP to an address chosen beforehand. `requests` resolves a URL's host itself when it
connects; a webhook's host has already been resolved and its addresses checked
(targets.py), and a second lookup could answer differently (DNS rebinding). So the request
goes to `http(s)://<checked ip>:<port>/...` with the original `Host` header, and for https
the TLS handshake still names the host (SNI) and the certificate is verified against the
host name, not the IP (urllib3's `server_hostname` / `assert_hostname` on the pool, which
are also part of the pool's key, so two names on one IP never share a connection)."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from .targets import Address

PINNED_HOST = "X-Haven-Pinned-Host"  # internal: read and removed by the adapter, never sent


class PinnedHostAdapter(HTTPAdapter):
    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        name = request.headers.pop(PINNED_HOST, None)
        if name and host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = name
            pool_kwargs["assert_hostname"] = name
        return host_params, pool_kwargs


def pinned_session() -> requests.Session:
    session = requests.Session()
    adapter = PinnedHostAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def prepared_url(url: str) -> str:
    """The URL as requests would send it (IDNA host, quoted path): the host we resolve."""
    return requests.Request("POST", url).prepare().url


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def post(session: requests.Session, url: str, address: Address, headers: dict, **kwargs) -> requests.Response:
    """POST `url` (a prepared URL), connecting to `address` only."""
    parts = urlsplit(url)
    port = parts.port or default_port(parts.scheme)
    ip = f"[{address.ip}]" if ":" in address.ip else address.ip
    pinned = urlunsplit((parts.scheme, f"{ip}:{port}", parts.path, parts.query, ""))
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if ":" in (parts.hostname or ""):
        host = f"[{parts.hostname}]" + ("" if parts.port is None else f":{parts.port}")
    headers = {**headers, "Host": host, PINNED_HOST: parts.hostname}
    return session.post(pinned, headers=headers, **kwargs)


def never_connected(exc: requests.RequestException) -> bool:
    """True when no byte reached the server (so another address may be tried safely)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)
