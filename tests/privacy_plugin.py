"""A pytest plugin that fails the session when a log line of the test run holds an unmasked identifier.

What is scanned: every log record any logger emits while the session runs (a handler on the root logger,
installed at session start, so records of loggers that do not propagate are not seen), the text of its
traceback included; and at the end every ``*.log`` file under the session's temp directory plus the
directories handed to ``scan_tree`` (the e2e stack calls it on its data dir before deleting it).

What counts as an identifier (``find_identifiers``), each a standalone token — not glued to a letter or
digit, so hashes, version names and longer numbers do not match:

* 居民身份证号: 18 characters, a region code (first digit 1–9), a birth date 18xx–20xx with a real month
  and day, 3 digits and a digit or X; and the 20-digit 纳税人识别号 made of one plus 2 digits;
* mobile number: 1[3-9] and 9 more digits (optionally 3-4-4 with spaces or hyphens, +86/0086 before),
  not the fraction of a decimal number;
* 统一社会信用代码 (18): registration office [1-9A-GY], kind [1-9], 6-digit region code starting 1–9,
  9-character organisation code and a check character, in the code's alphabet (no I, O, S, V, Z);
* the old 15-character 纳税人识别号: a 6-digit region code starting 1–9 and 9 uppercase letters or digits.

Timestamps (10 or 13 digits), ports, ``v20260101T000000000001-abcdef`` version names and lowercase hex
hashes do not match. The report names the logger (or file and line), the test and the match with its
middle starred out: the scan never prints what it found.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels.masking import mask

_L = r"(?<![0-9A-Za-z])"
_R = r"(?![0-9A-Za-z])"
_ID_BODY = r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
_USCC_CHAR = "[0-9A-HJ-NP-RTUW-Y]"
PATTERNS = (
    ("20-digit taxpayer number", re.compile(_L + _ID_BODY + r"\d{2}" + _R)),
    ("ID card number", re.compile(_L + _ID_BODY + _R)),
    ("unified social credit code", re.compile(_L + r"[1-9A-GY][1-9][1-9]\d{5}" + _USCC_CHAR + "{10}" + _R)),
    ("15-character taxpayer number", re.compile(_L + r"[1-9]\d{5}[0-9A-Z]{9}" + _R)),
    ("mobile number", re.compile(_L + r"(?<!\d\.)(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}" + _R)),
)
MAX_REPORTED = 30
_TRACEBACKS = logging.Formatter()


def find_identifiers(text: str) -> list[tuple[str, str]]:
    """``(kind, match)`` for each unmasked identifier in ``text`` (a span is reported once)."""
    found: list[tuple[str, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            if any(start < match.end() and match.start() < end for start, end in taken):
                continue
            taken.append(match.span())
            found.append((kind, match.group(0)))
    return found


def starred(value: str) -> str:
    """``value`` with all but its first 3 and last 2 characters starred (safe to print)."""
    return value[:3] + "*" * max(len(value) - 5, 0) + value[-2:]


@dataclass(frozen=True)
class Finding:
    where: str  # "logger NAME" or "FILE:LINE"
    test: str
    kind: str
    shown: str

    def __str__(self) -> str:
        during = mask(self.test) or "session setup/teardown"
        return f"{self.kind} {self.shown} in {self.where} (during {during})"


class _State:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.test = ""
        self.scanned_dirs: list[Path] = []

    def add(self, where: str, text: str) -> None:
        for kind, value in find_identifiers(text):
            self.findings.append(Finding(where, self.test, kind, starred(value)))


_STATE = pytest.StashKey[_State]()
_HANDLER = pytest.StashKey[logging.Handler]()


class ScanningHandler(logging.Handler):
    """Scans each record's message and traceback as it is emitted (nothing is kept but findings)."""

    def __init__(self, state: _State) -> None:
        super().__init__(level=logging.NOTSET)
        self.state = state

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except (TypeError, ValueError, KeyError):
            text = str(record.msg)
        if record.exc_text:
            text += "\n" + record.exc_text
        elif record.exc_info and record.exc_info[0] is not None:
            text += "\n" + _TRACEBACKS.formatException(record.exc_info)
        self.state.add(f"logger {record.name!r}", text)


def scan_tree(config: pytest.Config, directory: Path) -> None:
    """Scan the ``*.log`` files under ``directory`` now (before a fixture deletes it)."""
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    for path in sorted(Path(directory).rglob("*.log")):
        _scan_file(state, path)
    state.scanned_dirs.append(Path(directory))


def _scan_file(state: _State, path: Path) -> None:
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                state.add(f"{path}:{number}", line)
    except OSError:
        return


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STATE] = _State()


def pytest_sessionstart(session: pytest.Session) -> None:
    handler = ScanningHandler(session.config.stash[_STATE])
    session.config.stash[_HANDLER] = handler
    logging.getLogger().addHandler(handler)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    state = item.config.stash[_STATE]
    state.test = item.nodeid
    try:
        return (yield)
    finally:
        state.test = ""


@pytest.hookimpl(trylast=True)  # after the session fixtures' teardown (the e2e stack's scan_tree)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    handler = config.stash.get(_HANDLER, None)
    if handler is not None:
        logging.getLogger().removeHandler(handler)
    state = config.stash[_STATE]
    basetemp = getattr(getattr(config, "_tmp_path_factory", None), "_basetemp", None)
    if basetemp is not None and Path(basetemp).is_dir():
        for path in sorted(Path(basetemp).rglob("*.log")):
            _scan_file(state, path)
    if state.findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or not state.findings:
        return
    terminalreporter.section("privacy scan of the logs", sep="=", red=True, bold=True)
    terminalreporter.write_line(
        f"FAILED: {len(state.findings)} unmasked identifier(s) in log output; mask them "
        "(channels.masking.get_logger / mask) — see tests/privacy_plugin.py for the patterns"
    )
    for finding in state.findings[:MAX_REPORTED]:
        terminalreporter.write_line(f"  {finding}")
    if len(state.findings) > MAX_REPORTED:
        terminalreporter.write_line(f"  … and {len(state.findings) - MAX_REPORTED} more")
