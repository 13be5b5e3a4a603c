"""Writes the `.env` of `make run`: fresh random secrets on first use, and the missing
ones added to an `.env` that lacks them (one holding only `HUDUR_PORT`, say), every
setting already there kept as it is."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from pathlib import Path

HEADER = "# Written by `make run` on first use; every `hudur` command reads it.\n"
# What `make run` and `hudur simulate` need, and how to make each one afresh.
NEEDED: dict[str, Callable[[], str]] = {
    "HUDUR_SERVICE_TOKEN": lambda: secrets.token_urlsafe(32),
    "HUDUR_JWT_SECRET": lambda: secrets.token_urlsafe(48),
    "HUDUR_LIVEKIT_API_KEY": lambda: "API" + secrets.token_hex(6),
    "HUDUR_LIVEKIT_API_SECRET": lambda: secrets.token_urlsafe(36),
    "HUDUR_ALLOW_AS_OF": lambda: "true",
}


def keys_in(text: str) -> set[str]:
    """The names a dotenv file sets (`KEY=value`, `export KEY=value`; comments skipped)."""
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name = line.split("=", 1)[0].strip()
        names.add(name.removeprefix("export ").strip())
    return names


def write_env(path: Path) -> list[str]:
    """Create `path`, or add to it the needed settings it lacks; the names written."""
    existing = path.read_text() if path.exists() else ""
    missing = [name for name in NEEDED if name not in keys_in(existing)]
    if not missing:
        return []
    lines = [f"{name}={NEEDED[name]()}\n" for name in missing]
    if existing:
        head = "" if existing.endswith("\n") else "\n"
        text = existing + head + "# Added by `make run`: settings this file lacked.\n"
    else:
        text = HEADER
    path.write_text(text + "".join(lines))
    path.chmod(0o600)
    return missing


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else ".env").resolve()
    fresh = not path.exists()
    written = write_env(path)
    if fresh:
        print(f"hudur: wrote fresh secrets to {path}")
    elif written:
        print(f"hudur: added {', '.join(written)} to {path}")
    else:
        print(f"hudur: using the settings in {path}")


if __name__ == "__main__":
    main()
