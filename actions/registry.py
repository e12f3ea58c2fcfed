"""The bot's custom actions, built once with their dependencies (registered into rasa-sdk's executor)."""

from __future__ import annotations

from rasa_sdk import Action

from actions.search import ActionSearchKb
from index.base import Retriever


def build_actions(retriever: Retriever) -> list[Action]:
    return [ActionSearchKb(retriever)]
