"""The contract every channel shares, after Rasa's InputChannel/OutputChannel pair.

An input channel turns a platform callback into an ``InboundMessage``; ``channels.conversation`` asks
the dialogue engine (Rasa's REST webhook, with the channel's name in ``metadata``) and turns the reply
list into an ``OutboundMessage``; the output side renders that as the platform allows (``render``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class InboundMessage:
    """One message from a taxpayer, normalised. ``message_id`` is unique per channel (dedup key)."""

    channel: str
    sender_id: str
    text: str
    message_id: str
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """A short, non-identifying reference for log lines (message ids are long digit runs)."""
        return hashlib.sha1(f"{self.channel}:{self.message_id}".encode()).hexdigest()[:10]


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Citation:
    """The fields of a ``custom.citations`` item the channels print (see actions.formatting.citation)."""

    title: str
    doc_number: str = ""
    article: str = ""
    region: str = ""
    status: str = ""

    @classmethod
    def from_payload(cls, item: dict[str, Any]) -> Citation:
        def text(key: str) -> str:
            value = item.get(key)
            return str(value) if value else ""

        return cls(text("title"), text("doc_number"), text("article"), text("region"), text("status"))

    def basis(self) -> str:
        """``《标题》（文号）第X条``."""
        number = f"（{self.doc_number}）" if self.doc_number else ""
        return f"《{self.title}》{number}{self.article}"


@dataclass(frozen=True)
class OutboundMessage:
    """What the bot said in one turn, independent of the channel."""

    texts: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()
    citations: tuple[Citation, ...] = ()
    attachments: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.texts or self.buttons or self.attachments)

    @classmethod
    def from_rasa(cls, replies: list[dict[str, Any]]) -> OutboundMessage:
        """Rasa REST replies (``text``, ``buttons``, ``image``, ``attachment``, ``custom``) in order."""
        texts: list[str] = []
        buttons: list[Button] = []
        citations: list[Citation] = []
        attachments: list[str] = []
        for reply in replies:
            if not isinstance(reply, dict):
                continue
            if isinstance(reply.get("text"), str) and reply["text"].strip():
                texts.append(reply["text"].strip())
            for button in reply.get("buttons") or []:
                if isinstance(button, dict) and button.get("title"):
                    buttons.append(
                        Button(str(button["title"]), str(button.get("payload") or button["title"]))
                    )
            for key in ("image", "attachment"):
                if isinstance(reply.get(key), str) and reply[key]:
                    attachments.append(reply[key])
            custom = reply.get("custom")
            if isinstance(custom, dict):
                for item in custom.get("citations") or []:
                    if isinstance(item, dict) and item.get("title"):
                        citations.append(Citation.from_payload(item))
        return cls(tuple(texts), tuple(buttons), tuple(citations), tuple(attachments))


class DialogueEngine(Protocol):
    """What the channels need from the dialogue engine; tests pass a small fake."""

    async def send_message(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...
