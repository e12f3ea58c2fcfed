"""One settings class, read at the entry points (CLI, app factory); library code gets values passed in."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAXBOT_", env_file=".env", extra="ignore")

    # where everything the product builds lives (database, index versions, trained models, logs)
    data_dir: Path = Field(
        default=PROJECT_ROOT / "var", description="Workspace for the store, index and models"
    )
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite file in data_dir")
    content_dir: Path = Field(
        default=PROJECT_ROOT / "knowledge_base" / "content", description="Shipped default knowledge base"
    )
    embedding_model: str = Field(
        default="",
        description="sentence-transformers model name or local path; empty = models_dir/tax-embedding",
    )
    models_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "models",
        description="Trained models (embedding, Rasa); shared by workspaces",
    )
    index_kind: str = Field(default="flat", description="FAISS index kind: flat, hnsw or ivf")

    host: str = "127.0.0.1"
    port: int = 8000
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    rasa_url: str = Field(
        default="", description="Base URL of the Rasa server; empty = http://rasa_host:rasa_port"
    )
    rasa_timeout: float = 30.0
    # Rasa sends it as ?token=… on every action call (its action_endpoint token); `taxbot serve` makes a
    # random one per run when empty, so only its own Rasa can run actions
    webhook_token: str = ""
    rasa_venv: Path = Field(default=PROJECT_ROOT / ".venv-rasa", description="Rasa's own virtual environment")
    bot_dir: Path = PROJECT_ROOT / "bot"
    max_message_chars: int = 2000
    log_level: str = "INFO"
    log_format: Literal["", "text", "json"] = Field(
        default="", description="text or json (one object a line); empty = text in development, else json"
    )
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token required by /metrics; empty = open (development only)",
    )
    hsts_seconds: int = Field(
        default=0, ge=0, description="Strict-Transport-Security max-age; 0 = no header (set it behind TLS)"
    )
    tracker_store_url: str = Field(
        default="",
        description="Rasa's trackers: postgresql://user:password@host:port/db; empty = SQLite in data_dir",
    )
    lock_store_url: str = Field(
        default="", description="Rasa's lock store: redis://[:password@]host:port/db; empty = in-memory"
    )
    redis_url: str = Field(
        default="",
        description="State shared by app replicas (SMS rate limits): redis://host:port/db; empty = in memory",
    )
    # rate limits of the public taxpayer endpoints (a minute's sliding window; 0 = off), in Redis when
    # redis_url is set so every replica counts together; the 429 says in Chinese when to try again
    chat_rate_limit_per_minute: int = Field(
        default=30,
        ge=0,
        description="Messages one conversation (web sender, WeChat openid) may send a minute",
    )
    ip_rate_limit_per_minute: int = Field(
        default=120, ge=0, description="Requests one client address may make to the public API a minute"
    )
    poll_rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description="Widget polls (GET /api/chat/{sender}/messages) one client address may make a minute",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Proxies (IPs or CIDRs) whose X-Forwarded-For / X-Real-IP name the client",
    )
    nginx_path: str = Field(
        default="", description="nginx executable of scaled mode (serve-scaled); empty = nginx on PATH"
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"TAXBOT_TRUSTED_PROXIES: {item!r} is not an IP address or CIDR") from None
        return [item.strip() for item in value]

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'taxbot.sqlite3'}"

    @property
    def resolved_rasa_url(self) -> str:
        return (self.rasa_url or f"http://{self.rasa_host}:{self.rasa_port}").rstrip("/")

    @property
    def resolved_embedding_model(self) -> str:
        return self.embedding_model or str(self.models_dir / "tax-embedding")


@lru_cache
def get_settings() -> Settings:
    return Settings()
