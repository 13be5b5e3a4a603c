"""The service's configuration (CONTRACT 2): environment first, then `.env`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_API_KEY = "devkey"
DEV_API_SECRET = "secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUDUR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./hudur.db"
    host: str = "127.0.0.1"
    # 0: any free port, named in the `serving` log line (tests).
    port: int = Field(default=8080, ge=0, le=65535)
    livekit_api_key: str = DEV_API_KEY
    livekit_api_secret: str = DEV_API_SECRET
    livekit_url: str | None = None
    service_token: str | None = None
    jwt_secret: str | None = None
    sweep_interval_seconds: float = Field(default=30, gt=0)
    # false: this replica serves HTTP only and leaves sweeping to others.
    sweeper_enabled: bool = True
    allow_as_of: bool = False
    # Where `hudur serve` runs its live projector: true (the default), a child
    # process, whose CPU is not the intake's; false, the serving process's loop.
    projector_process: bool = True
    # How much nicer (lower CPU priority) than `serve` that child runs. When both want
    # a core, the intake's acknowledgements (LiveKit drops a delivery after 30 s)
    # go first; the projection waits, and reads bring it up to date themselves.
    projector_nice: int = Field(default=19, ge=0, le=19)
    # false: this replica leaves delivering notifications to the others.
    notify_enabled: bool = True
    # Shrinks the retry schedule of notifications (5 s, 30 s, ... 3 days): for tests
    # and demonstrations only; 1 in production.
    notify_retry_scale: float = Field(default=1.0, gt=0, le=1)
    # How long a replica holds a message it sends; after a crash, how long until
    # another sends it again. Longer than the 10 s timeout of a POST.
    notify_lease_seconds: float = Field(default=60, gt=10, le=3600)
    log_format: str = "auto"  # auto | json | console
    # Where join tokens send people; defaults to HUDUR_LIVEKIT_URL.
    public_url: str | None = None

    @property
    def uses_dev_livekit_credentials(self) -> bool:
        return (self.livekit_api_key, self.livekit_api_secret) == (DEV_API_KEY, DEV_API_SECRET)
