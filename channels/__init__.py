"""Messaging channels (WeChat Official Account, SMS) sharing one contract: normalise inbound → ask the
dialogue engine → render outbound. Mount with ``app.include_router(channels.routes.router)``."""
