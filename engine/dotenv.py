"""Writes a `.env` with fresh random secrets on the first `make run`."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

TEMPLATE = """\
# Written by `make run` on first use; every `hudur` command reads it.
HUDUR_SERVICE_TOKEN={service_token}
HUDUR_JWT_SECRET={jwt_secret}
HUDUR_LIVEKIT_API_KEY={api_key}
HUDUR_LIVEKIT_API_SECRET={api_secret}
HUDUR_ALLOW_AS_OF=true
"""


def write_env(path: Path) -> bool:
    """Create `path` unless it exists; True when it was written."""
    if path.exists():
        return False
    path.write_text(
        TEMPLATE.format(
            service_token=secrets.token_urlsafe(32),
            jwt_secret=secrets.token_urlsafe(48),
            api_key="API" + secrets.token_hex(6),
            api_secret=secrets.token_urlsafe(36),
        )
    )
    path.chmod(0o600)
    return True


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env").resolve()
    if write_env(path):
        print(f"hudur: wrote fresh secrets to {path}")
    else:
        print(f"hudur: using the settings in {path}")


if __name__ == "__main__":
    main()
