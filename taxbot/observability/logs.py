"""The app's log output: one handler on the root logger, text or JSON, every line masked.

Masking happens twice. Every log record created in the process — ours, a library's, uvicorn's access
log — is masked as it is made (a log record factory): ``channels.masking.mask`` (ID cards, phones,
纳税人识别号, bank cards) plus blanked values of secret-looking parameters (``token=``, ``signature=``,
``secret_key=``, ``password=``, ``Bearer …``), so the SMS callback's ``?token=`` reaches no handler; the
traceback text is masked the same way. The formatters mask again what they add. Each line carries the
request id and, once the dialogue knows it, the conversation id (context variables set per request).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from channels.masking import mask

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s  %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
_TRACEBACKS = logging.Formatter()

REQUEST_ID: ContextVar[str] = ContextVar("taxbot_request_id", default="")
CONVERSATION_ID: ContextVar[str] = ContextVar("taxbot_conversation_id", default="")

# names ending in token/secret/key/password/signature (access_token, msg_signature, secret_key, …)
_SECRET_PARAM = re.compile(r"(?i)(?P<name>\b\w*(?:token|secret|key|password|passwd|signature)=)[^&\s\"'<>]+")
_BEARER = re.compile(r"(?i)(?P<name>\bbearer\s+)[A-Za-z0-9._~+/=-]+")


def scrub(text: str) -> str:
    """``text`` with secret parameter values blanked and identifiers masked."""
    text = _SECRET_PARAM.sub(r"\g<name>***", text)
    text = _BEARER.sub(r"\g<name>***", text)
    return mask(text)


def install_masking() -> None:
    """Mask every log record as it is created, before any handler or filter sees it (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "taxbot_masking", False):
        return

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        mask_record(record)
        return record

    masked_record.taxbot_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_record)


def mask_record(record: logging.LogRecord) -> None:
    """Mask ``record`` in place. A record with nothing to hide is left as it is; otherwise its string
    arguments are masked one by one when that gives the masked message (formatters that read ``args``,
    like uvicorn's access log, keep working), else message and arguments become the masked text."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError, KeyError):  # a broken format string: the handler reports it
        return
    masked = scrub(message)
    if masked != message:
        kept = False
        if isinstance(record.msg, str) and isinstance(record.args, tuple) and record.args:
            msg = scrub(record.msg)
            arguments = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
            try:
                kept = msg % arguments == masked
            except (TypeError, ValueError):
                kept = False
        if kept:
            record.msg, record.args = msg, arguments
        else:
            record.msg, record.args = masked, ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = scrub(_TRACEBACKS.formatException(record.exc_info))


def bind_conversation(conversation_id: str | None) -> None:
    """Name the conversation in the log lines of the current request (or task)."""
    CONVERSATION_ID.set(str(conversation_id or "")[:128])


class ContextFilter(logging.Filter):
    """Adds ``request_id``, ``conversation_id`` and the text format's ``context`` to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        record.conversation_id = getattr(record, "conversation_id", None) or CONVERSATION_ID.get()
        parts = [f"request={record.request_id}" if record.request_id else ""]
        parts.append(f"conversation={record.conversation_id}" if record.conversation_id else "")
        context = " ".join(part for part in parts if part)
        record.context = f" [{context}]" if context else ""
        return True


class MaskedTextFormatter(logging.Formatter):
    """The classic one-line format, masked (traceback included)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "context"):
            record.context = ""
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request/conversation id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key in ("request_id", "conversation_id"):
            value = getattr(record, key, "")
            if value:
                entry[key] = scrub(str(value))
        if record.exc_text:
            entry["exception"] = scrub(record.exc_text)
        elif record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


class StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (looked up per record, so a replaced stream is followed)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; the lookup above wins
        pass


def resolve_format(log_format: str, environment: str) -> str:
    """``text`` or ``json``: the configured one, else text in development and JSON elsewhere."""
    if log_format not in ("", "text", "json"):
        raise ValueError(f"TAXBOT_LOG_FORMAT must be text or json, not {log_format!r}")
    return log_format or ("text" if environment == "development" else "json")


def configure_logging(level: str, log_format: str, environment: str = "development") -> logging.Handler:
    """Install the app's masked handler on the root logger (replacing the one installed before) and
    route uvicorn's loggers, its access log included, through it. Other handlers are left alone."""
    install_masking()
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "taxbot_owned", False)]:
        root.removeHandler(old)
    handler = StderrHandler()
    handler.taxbot_owned = True  # type: ignore[attr-defined]
    json_lines = resolve_format(log_format, environment) == "json"
    handler.setFormatter(JsonFormatter() if json_lines else MaskedTextFormatter())
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    return handler
