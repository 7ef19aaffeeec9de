"""Settings read once from the environment (prefix TIERLEDGER_) and passed to what needs them."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("tierledger-data")


class Settings(BaseSettings):
    """Deployment settings; every one has a default that works on a fresh machine."""

    model_config = SettingsConfigDict(env_prefix="TIERLEDGER_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""  # empty → SQLite file in data_dir
    secret_key: str = ""  # empty → a random key kept in data_dir/secret.key
    host: str = "127.0.0.1"
    port: int = 8000
    production: bool = False  # Secure/__Host- cookies and HSTS
    sqlite_busy_timeout_ms: int = 15_000
    page_size_max: int = 500
    upload_max_bytes: int = Field(default=50 * 1024 * 1024)
    import_max_rows: int = 200_000
    import_requires_approval: bool = False
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    admin_password: str = ""  # first admin's password; empty → random, printed once
    log_level: str = "INFO"
    read_cache_entries: int = 1000  # hot GET responses kept per process; 0 turns the cache off
    # How long an API token's or a page cookie's owner is remembered (service/access/tokencache.py);
    # 0: ask each time
    auth_cache_seconds: float = 2.0

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tierledger.sqlite3').resolve()}"
