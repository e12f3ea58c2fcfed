"""Custom Rasa actions, executed in-process by the app's POST /webhook (rasa-sdk's ActionExecutor)."""

from actions.registry import build_actions
from actions.search import ActionAnswerPending, ActionSearchKb, KbAnswerer

__all__ = ["ActionAnswerPending", "ActionSearchKb", "KbAnswerer", "build_actions"]
