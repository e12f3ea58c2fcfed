"""All messaging-channel routes in one router: ``app.include_router(channels.routes.router)``.

Including it also merges ``channels_lifespan`` into the app's lifespan (channel store, WeChat and SMS
API clients, background deliveries drained on shutdown).
"""

from __future__ import annotations

from fastapi import APIRouter

from channels import sms, wechat
from channels.runtime import channels_lifespan

router = APIRouter(lifespan=channels_lifespan)
router.include_router(wechat.router)
router.include_router(sms.router)

__all__ = ["router"]
