"""Scaled mode under load, and a Rasa replica killed in the middle of it (the session's `scaled` stack:
2 apps + 2 Rasa replicas behind nginx, PostgreSQL, Redis, the SMS gateway and WeChat API faked).

* a short run of the load benchmark's own taxpayers (benchmarks/bench_load.py: web, SMS, WeChat, each
  message waiting for its answer): no errors, every message answered once, web conversations in Rasa's
  trackers in the order sent. The figures are printed, never asserted;
* a turn slower than the app's Rasa timeout (a conversation lock held in Redis, as by a stuck replica):
  queued, replayed, answered once — and in Rasa's tracker once: the abandoned request is cancelled
  (nginx hangs up on Rasa when the app does, and Rasa cancels the turn before saving the tracker);
* SIGKILL of one Rasa replica's process group while web taxpayers talk: every message gets exactly one
  answer in order — directly, or the friendly queued notice and then the answer by the widget's poll —
  no 5xx, serve-scaled restarts the replica, nginx gives it turns again, and every message is in Rasa's
  tracker once. Runs last: the other tests do not share the stack with a replica that is still loading.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
import redis
import yaml

from benchmarks.bench_load import Inbox, Results, check_order, report, taxpayer
from channels.base import OutboundMessage
from channels.render import render_text
from taxbot.conversations.replay import ANSWER, QUEUED, quote
from taxbot.supervisor import log_tail
from tests.e2e.scaled_stack import QUESTIONS, READY_TIMEOUT, REDIS_URL, Scaled, diagnostics

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

LOAD_USERS, LOAD_SECONDS = 20, 20.0
LOAD_CHANNELS = ["sms"] * 2 + ["wechat"] * 2 + ["web"] * (LOAD_USERS - 4)  # the benchmark's 10 % / 10 %
FAULT_USERS, FAULT_TURNS = 12, 4
KILLED = "Rasa 2"
# a queued message waits for the replay worker's backoff and for the conversation lock the killed replica
# held (Rasa's ticket lifetime, 60 s): an upper bound only
ANSWER_DEADLINE = 600.0
RASA_TIMEOUT = 30.0  # TAXBOT_RASA_TIMEOUT's default: how long the app waits for a turn


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [reply["text"] for reply in replies if reply.get("text")]


def answer_kind(replies: list[dict[str, Any]]) -> str:
    kinds = [reply["custom"].get("answer_kind") for reply in replies if isinstance(reply.get("custom"), dict)]
    return next((kind for kind in kinds if kind), "utterance")


# --- a short load run ------------------------------------------------------------------------------------
async def _load(scaled: Scaled) -> tuple[Results, float, dict[str, int], int, list[str]]:
    inbox = Inbox(scaled.sms, scaled.wechat)
    poller = asyncio.create_task(inbox.poll())
    results = Results()
    started = time.monotonic()
    stop_at = started + LOAD_SECONDS
    await asyncio.gather(
        *(taxpayer(i, c, scaled.base_url, inbox, results, stop_at) for i, c in enumerate(LOAD_CHANNELS))
    )
    seconds = time.monotonic() - started
    await asyncio.sleep(3.0)  # a late second answer to an SMS or WeChat message would arrive now
    poller.cancel()
    leftovers = {recipient: queue.qsize() for recipient, queue in inbox.queues.items() if queue.qsize()}
    talked = [conversation for conversation in results.web_conversations if conversation[1]]
    checked, problems = await check_order(scaled.rasa_url, talked)
    return results, seconds, leftovers, checked, problems


def test_a_short_load_run_answers_every_message_once_and_in_order(scaled, capsys):
    results, seconds, leftovers, checked, problems = asyncio.run(_load(scaled))
    with capsys.disabled():
        print(f"\n{LOAD_USERS} taxpayers for {LOAD_SECONDS:.0f} s on the scaled stack (2 apps, 2 Rasa):")
        report("  full path", results, ["web", "sms", "wechat"], seconds)
        print(
            f"  order check: {checked} web conversations from Rasa's trackers, {len(problems)} out of order"
        )
    assert not {channel: errors for channel, errors in results.errors.items() if errors}
    assert not leftovers, f"more answers than messages: {leftovers}"
    assert all(results.latencies[channel] for channel in ("web", "sms", "wechat"))  # each channel talked
    assert checked > 0 and not problems, problems[:5]
    # secrets stay out of the logs: the SMS callback's ?token= (nginx logs the path without the query
    # string) and the action webhook's token (Rasa sends it in a header, never in a URL)
    logs = scaled.data_dir / "logs"
    access_logs = [logs / f"nginx-{name}.log" for name in ("access", "rasa", "actions")]
    assert all("token=" not in log.read_text() for log in access_logs)
    endpoints = yaml.safe_load((scaled.data_dir / "run" / "endpoints.yml").read_text())
    webhook_token = endpoints["action_endpoint"]["headers"]["Authorization"].removeprefix("Bearer ")
    assert len(webhook_token) >= 32
    assert all(webhook_token not in log.read_text(errors="replace") for log in logs.glob("*.log"))


# --- a Rasa replica killed mid-load ----------------------------------------------------------------------
@dataclass
class Turn:
    question: str
    status: int
    replies: list[dict[str, Any]]
    pushed: list[dict[str, Any]] = field(default_factory=list)  # polled after a queued notice

    @property
    def kind(self) -> str:
        return answer_kind(self.replies)


@dataclass
class FaultRun:
    turns: dict[str, list[Turn]] = field(default_factory=lambda: defaultdict(list))
    poll_failures: list[str] = field(default_factory=list)
    done: int = 0
    done_at_kill: int = -1


async def _poll_answer(
    client: httpx.AsyncClient, base: str, sender: str, after: int, run: FaultRun
) -> tuple[list[dict[str, Any]], int]:
    """What the widget gets by polling after a queued notice: the pushed messages, and the last id."""
    deadline = time.monotonic() + ANSWER_DEADLINE
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        try:
            response = await client.get(f"{base}/api/chat/{sender}/messages", params={"after": after})
        except httpx.HTTPError as exc:
            run.poll_failures.append(f"{sender}: {type(exc).__name__}: {exc}")
            continue
        if response.status_code != 200:
            run.poll_failures.append(f"{sender}: poll answered {response.status_code} {response.text[:100]}")
            continue
        messages = response.json()["messages"]
        if messages:
            return messages, messages[-1]["id"]
    return [], after


async def _converse(client: httpx.AsyncClient, base: str, sender: str, questions: list[str], run: FaultRun):
    """A taxpayer on the web widget: each question waits for its answer, directly or by polling."""
    after = 0
    for question in questions:
        response = await client.post(f"{base}/api/chat", json={"sender": sender, "message": question})
        turn = Turn(question, response.status_code, response.json() if response.status_code == 200 else [])
        run.turns[sender].append(turn)
        if response.status_code != 200:
            return
        if turn.kind == "queued":
            turn.pushed, after = await _poll_answer(client, base, sender, after, run)
        run.done += 1


async def _kill_mid_load(pid: int, run: FaultRun, threshold: int, talking: asyncio.Future) -> None:
    while run.done < threshold:
        if talking.done():  # the taxpayers stopped early: the test fails on their turns
            return
        await asyncio.sleep(0.05)
    os.killpg(pid, signal.SIGKILL)  # the replica's whole process group, mid-turn for some conversations
    run.done_at_kill = run.done


async def _fault_run(scaled: Scaled, senders: dict[str, list[str]], pid: int) -> FaultRun:
    run = FaultRun()
    async with httpx.AsyncClient(timeout=120) as client:
        talking = asyncio.gather(
            *(_converse(client, scaled.base_url, s, questions, run) for s, questions in senders.items())
        )
        await asyncio.gather(_kill_mid_load(pid, run, FAULT_USERS, talking), talking)
    return run


def _replayed(question: str, reference: list[dict[str, Any]]) -> str:
    """The pushed answer to a queued question, as the replay worker writes it."""
    return ANSWER.format(question=quote(question), answer=render_text(OutboundMessage.from_rasa(reference)))


def _wait_until(condition, timeout: float, what: str, scaled: Scaled) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}\n{diagnostics(scaled.data_dir)}")
        time.sleep(1.0)


def _rasa_status_ok(port: int) -> bool:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/status", timeout=5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and bool(response.json().get("model_file"))


def _answered_by(scaled: Scaled, offset: int) -> set[str]:
    """Rasa replicas (ports) that answered a REST turn through nginx since ``offset`` of its log."""
    with (scaled.data_dir / "logs" / "nginx-rasa.log").open("rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", "replace")
    pattern = r'"POST /webhooks/rest/webhook[^"]*" 200 .*upstream=127\.0\.0\.1:(\d+) upstream_status=200'
    return set(re.findall(pattern, text))


def _pending_statuses(scaled: Scaled, prefix: str) -> list[tuple[str, str]]:
    """The queued messages of the conversations starting with ``prefix`` and how they ended, once the
    replay worker has finished them (it pushes the answer first, then marks the message answered)."""

    def rows() -> list[tuple[str, str]]:
        with psycopg.connect(scaled.database_dsn) as conn:
            query = "SELECT conversation_id, status FROM pending_messages WHERE conversation_id LIKE %s"
            return [
                (row[0], row[1]) for row in conn.execute(f"{query} ORDER BY id", (f"{prefix}%",)).fetchall()
            ]

    _wait_until(
        lambda: all(status != "pending" for _, status in rows()), 60, "queued messages finished", scaled
    )
    return rows()


@pytest.fixture(scope="module")
def reference(scaled) -> dict[str, list[dict[str, Any]]]:
    """Each question's answer, asked in a conversation of its own."""
    answers = {}
    with httpx.Client(timeout=120) as client:
        for question in QUESTIONS:
            body = {"sender": f"ref-{uuid.uuid4().hex}", "message": question}
            answers[question] = client.post(f"{scaled.base_url}/api/chat", json=body).json()
            assert answer_kind(answers[question]) != "queued" and texts(answers[question]), question
    return answers


def _hold_conversation_lock(sender: str, seconds: float) -> None:
    """A ticket in Rasa's Redis lock store (its keys and JSON) that serves ``sender``'s conversation for
    ``seconds``: like a replica stuck in a turn; Rasa drops the ticket once it has expired."""
    ticket = json.dumps({"number": 1, "expires": time.time() + seconds})
    lock = json.dumps({"conversation_id": sender, "tickets": [ticket]})
    with redis.Redis.from_url(REDIS_URL) as client:
        client.set(f"taxbot:lock:{sender}", lock)


async def _poll_answer_once(base: str, sender: str, run: FaultRun) -> tuple[list[dict[str, Any]], int]:
    async with httpx.AsyncClient(timeout=60) as client:
        return await _poll_answer(client, base, sender, 0, run)


def test_a_turn_slower_than_the_apps_timeout_is_queued_and_answered_once(scaled, reference):
    """The app gives up on Rasa after TAXBOT_RASA_TIMEOUT (30 s) and queues the message; the replay worker
    sends it again. Rasa must not also finish the abandoned request (nginx closes it when the app hangs up,
    and Rasa cancels the turn), else the message would be in the tracker twice."""
    sender, question = f"slow-{uuid.uuid4().hex[:8]}", QUESTIONS[0]
    _hold_conversation_lock(sender, RASA_TIMEOUT + 15)
    response = httpx.post(
        f"{scaled.base_url}/api/chat", json={"sender": sender, "message": question}, timeout=120
    )
    assert response.status_code == 200 and answer_kind(response.json()) == "queued", response.text
    run = FaultRun()
    pushed, _ = asyncio.run(_poll_answer_once(scaled.base_url, sender, run))
    assert not run.poll_failures, run.poll_failures[:5]
    assert [m["text"] for m in pushed] == [_replayed(question, reference[question])]
    assert _pending_statuses(scaled, sender) == [(sender, "answered")]
    time.sleep(3.0)  # the abandoned request, had it survived, was served before the replayed one
    pushed = httpx.get(f"{scaled.base_url}/api/chat/{sender}/messages", timeout=30).json()["messages"]
    assert len(pushed) == 1
    checked, problems = asyncio.run(check_order(scaled.rasa_url, [(sender, [question])]))
    assert checked == 1 and not problems, problems


def test_a_rasa_replica_killed_mid_load_loses_nothing_and_comes_back(scaled, reference, capsys):
    chat = f"{scaled.base_url}/api/chat"
    prefix = f"kill-{uuid.uuid4().hex[:6]}-"
    rng = random.Random(8)
    senders = {f"{prefix}{n:02d}": rng.sample(QUESTIONS, FAULT_TURNS) for n in range(FAULT_USERS)}
    layout = scaled.layout
    killed_port = layout["rasa_ports"][int(KILLED.split()[-1]) - 1]
    old_pid = layout["pids"][KILLED]

    run = asyncio.run(_fault_run(scaled, senders, old_pid))

    queued = [turn for turns in run.turns.values() for turn in turns if turn.kind == "queued"]
    turns = sum(len(t) for t in run.turns.values())
    with capsys.disabled():
        print(f"\n{KILLED} killed after {run.done_at_kill} of {FAULT_USERS * FAULT_TURNS} turns; "
              f"{len(queued)} turns queued and answered by the replay worker")  # fmt: skip
    # no 5xx (nor any other error) to the taxpayer, and every message sent got a reply
    assert 0 <= run.done_at_kill < FAULT_USERS * FAULT_TURNS
    assert {turn.status for turns in run.turns.values() for turn in turns} == {200}
    assert turns == FAULT_USERS * FAULT_TURNS and not run.poll_failures, run.poll_failures[:5]
    for sender, questions in senders.items():
        for turn in run.turns[sender]:
            if turn.kind == "queued":  # the friendly notice, then the answer itself by the widget's poll
                assert texts(turn.replies) == [QUEUED], (sender, turn)
                assert [m["role"] for m in turn.pushed] == ["bot"], (sender, turn)
                assert turn.pushed[0]["text"] == _replayed(turn.question, reference[turn.question])
            else:  # answered directly: the answer to this question, nothing pushed for it
                assert texts(turn.replies) == texts(reference[turn.question]), (sender, turn)
        assert [turn.question for turn in run.turns[sender]] == questions

    # nothing accepted is lost or answered twice: every queued message answered once, in order
    statuses = _pending_statuses(scaled, prefix)
    assert [status for _, status in statuses] == ["answered"] * len(queued), statuses
    time.sleep(3.0)  # a second push for a message would be in the transcript by now
    with httpx.Client(timeout=30) as client:
        for sender in senders:
            pushed = client.get(f"{scaled.base_url}/api/chat/{sender}/messages").json()["messages"]
            expected = [
                _replayed(t.question, reference[t.question]) for t in run.turns[sender] if t.kind == "queued"
            ]
            assert [m["text"] for m in pushed] == expected, sender

    # serve-scaled restarted the replica (a new process group), which loads the model again ...
    _wait_until(lambda: scaled.layout["pids"][KILLED] != old_pid, 120, f"{KILLED} restarted", scaled)
    _wait_until(lambda: _rasa_status_ok(killed_port), READY_TIMEOUT, f"restarted {KILLED} ready", scaled)
    assert f"{KILLED} exited (-9); restarting it" in log_tail(scaled.data_dir / "serve.log", 200)
    # ... and nginx gives it turns again
    offset = (scaled.data_dir / "logs" / "nginx-rasa.log").stat().st_size
    after_restart: dict[str, list[str]] = {}
    with httpx.Client(timeout=120) as client:
        for n in range(20):
            sender = f"{prefix}after-{n:02d}"
            question = QUESTIONS[n % len(QUESTIONS)]
            response = client.post(chat, json={"sender": sender, "message": question})
            assert response.status_code == 200 and answer_kind(response.json()) != "queued", response.text
            assert texts(response.json()) == texts(reference[question])
            after_restart[sender] = [question]
            if str(killed_port) in _answered_by(scaled, offset):
                break
    assert str(killed_port) in _answered_by(scaled, offset), f"nginx sent no turn to the restarted {KILLED}"

    # Rasa's trackers: every message once, in the order sent, each followed by the bot's answer
    checked, problems = asyncio.run(check_order(scaled.rasa_url, [*senders.items(), *after_restart.items()]))
    assert checked == FAULT_USERS + len(after_restart) and not problems, problems[:5]
