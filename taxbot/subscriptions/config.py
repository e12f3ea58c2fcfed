"""Settings of policy subscriptions (env prefix ``TAXBOT_SUBSCRIPTION_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SubscriptionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAXBOT_SUBSCRIPTION_", env_file=".env", extra="ignore")

    enabled: bool = Field(default=True, description="Run the push dispatcher in the app")
    daily_limit: int = Field(
        default=3, ge=1, le=50, description="Most pushes a subscriber gets a day (Beijing time); more skipped"
    )
    interval_seconds: float = Field(
        default=5.0, gt=0, description="How often the dispatcher reads the knowledge store's change log"
    )
