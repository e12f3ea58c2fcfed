"""Settings of the staff console (env prefix ``TAXBOT_STAFF_``); the default secret only in development."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-development-only"  # refused outside development
FORM_BODY_LIMIT = 1024 * 1024  # JSON and form requests of the console
UPLOAD_BODY_LIMIT = 50 * 1024 * 1024  # hard ceiling of an upload request, checked while it is read


class StaffSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAXBOT_STAFF_", env_file=".env", extra="ignore")

    environment: str = Field(default="development", description="development, staging or production")
    secret_key: SecretStr = Field(default=SecretStr(DEFAULT_SECRET), description="Signs session cookies")
    session_hours: float = Field(default=8.0, gt=0, description="Idle-independent session lifetime")
    token_days: float = Field(default=30.0, gt=0, description="Lifetime of API bearer tokens")
    max_upload_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, lt=UPLOAD_BODY_LIMIT, description="Largest regulation file"
    )
    cookie_secure: bool = Field(default=False, description="Send the session cookie over HTTPS only")

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> StaffSettings:
        secret = self.secret_key.get_secret_value()
        if self.environment != "development" and (secret == DEFAULT_SECRET or len(secret) < 32):
            raise ValueError(
                f"TAXBOT_STAFF_SECRET_KEY must be set to a random value of at least 32 characters "
                f"when TAXBOT_STAFF_ENVIRONMENT is {self.environment!r}"
            )
        return self
