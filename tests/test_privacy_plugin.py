"""The privacy scan (tests/privacy_plugin.py): pytest runs in a subprocess with only that plugin loaded."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT
from tests.privacy_plugin import find_identifiers, starred

pytest_plugins = ["pytester"]

# plugins this run does not need (faster start)
QUIET = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:benchmark")
PHONE, ID_CARD, USCC = "13812345678", "110101199003071234", "91110108MA01KXYW3Q"


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """``run(test_source)``: the outcome of a pytest session over that one test file, plugin loaded."""
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))

    def run_session(source: str) -> pytest.RunResult:
        pytester.makepyfile(test_sample=source)
        return pytester.runpytest_subprocess("-p", "tests.privacy_plugin", *QUIET)

    yield run_session
    for log in pytester.path.rglob("*.log"):  # planted leaks must not fail the outer session's scan
        log.unlink()


def test_a_raw_phone_number_or_id_card_in_a_log_record_fails_the_run(run):
    result = run(
        f"""
import logging

def test_logs_a_phone():
    logging.getLogger("sample.leaky").warning("taxpayer called from %s", "{PHONE}")

def test_logs_an_exception():
    try:
        raise ValueError("no such taxpayer {ID_CARD}")
    except ValueError:
        logging.getLogger("sample.errors").exception("lookup failed")
"""
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*privacy scan of the logs*",
        "*mobile number 138******78 in logger 'sample.leaky'*test_logs_a_phone*",
        "*ID card number 110*34 in logger 'sample.errors'*test_logs_an_exception*",
    ])  # fmt: skip
    assert PHONE not in result.stdout.str() and ID_CARD not in result.stdout.str()
    result.assert_outcomes(passed=2)  # the tests themselves passed: the scan failed the session


def test_masked_identifiers_pass(run):
    result = run(
        f"""
import logging
from channels.masking import get_logger, mask

def test_logs_masked():
    get_logger("sample.masked").warning("taxpayer %s, ID %s", "{PHONE}", "{ID_CARD}")
    logging.getLogger("sample.plain").warning("called from %s", mask("{PHONE}"))
"""
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert "privacy scan" not in result.stdout.str()


def test_log_files_under_the_temp_dir_and_handed_over_dirs_are_scanned(run):
    result = run(
        f"""
import shutil
import tempfile
from pathlib import Path
from tests.privacy_plugin import scan_tree

def test_writes_a_log_file(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("ok\\nsms from {PHONE}\\n", encoding="utf-8")

def test_hands_over_a_dir(request):
    directory = Path(tempfile.mkdtemp())
    (directory / "rasa.log").write_text("company {USCC}\\n", encoding="utf-8")
    scan_tree(request.config, directory)
    shutil.rmtree(directory)
"""
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*unified social credit code 911*3Q in *rasa.log:1*test_hands_over_a_dir*",  # scanned at once
        "*mobile number 138******78 in *app.log:2*",  # scanned at the end of the session
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        (f"电话{PHONE}，请回电", ["mobile number"]),
        ("call +86 138-1234-5678 now", ["mobile number"]),
        (f"身份证号：{ID_CARD}", ["ID card number"]),
        ("11010119900307123X", ["ID card number"]),
        (f"{ID_CARD}01", ["20-digit taxpayer number"]),
        (f"统一社会信用代码 {USCC}", ["unified social credit code"]),
        ("税号 110101MA0123456", ["15-character taxpayer number"]),
        ("masked 138****5678 11**************34 91**************3Q", []),
        ("epoch 1764748800 ms 1764748800123 port 55123 pid 12345", []),
        ("index v20261203T133606123456-ab12cd hash de82493df486 sha 4f6e13812345678a", []),
        ("latency 0.13812345678 s, score 13812345678901", []),
        ("request 9f1c2e3d4b5a69788776655443322110", []),
        ("date 2026-12-03T13:36:06.123456+00:00", []),
    ],
)
def test_patterns(text, kinds):
    assert [kind for kind, _ in find_identifiers(text)] == kinds


def test_findings_are_shown_starred():
    assert starred(PHONE) == "138******78"
    assert ID_CARD not in starred(ID_CARD)
