"""Conversations: the masked log of every turn, the human handoff queue, feedback and ratings."""

from taxbot.conversations.recorder import TurnSummary, summarise
from taxbot.conversations.store import (
    ConversationStore,
    Feedback,
    Handoff,
    HandoffNotFound,
    Turn,
    open_conversation_store,
)

__all__ = [
    "ConversationStore", "Feedback", "Handoff", "HandoffNotFound", "Turn", "TurnSummary",
    "open_conversation_store", "summarise",
]  # fmt: skip
