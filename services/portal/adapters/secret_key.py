"""The key that signs session cookies: from PORTAL_SECRET_KEY, or (one machine) a random
one kept in HAVEN_DATA_DIR, created once and shared by every portal process there."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def secret_key(configured: str | None, data_dir: str) -> str:
    if configured:
        return configured
    path = Path(data_dir) / "portal" / "secret-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two workers starting at once, one writes and both read the same key
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        import time

        time.sleep(0.02)  # the other worker is between creating and writing the file
    raise RuntimeError(f"{path} is empty: delete it and start again")
