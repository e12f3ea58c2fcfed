"""Load benchmark: 100 concurrent simulated taxpayers in multi-turn conversations over the real channels
(web /api/chat mostly, a share as Tencent Cloud SMS callbacks answered through SendSms, a share as WeChat
plain-mode XML answered passively or through 客服消息), for a fixed duration; then the same load as bare
Rasa REST rule turns (utter_thanks: NLU + policies, no action, no app) in the same run.

    .venv/bin/python benchmarks/bench_load.py [--duration 60] [--users 100] [--scaled [--apps 2 --rasas 2]]

A product is started for the run on loopback ports (`taxbot kb init` into a temp workspace, then
`taxbot serve`, or with --scaled `taxbot serve-scaled` on fresh PostgreSQL databases and Redis db 9
behind nginx) with the SMS gateway and the WeChat API faked in this process (tests/channels/fakes.py,
the real wire formats). Figures: turns/s, p50/p95/p99, errors; checked: every message got exactly one
answer, and (from Rasa's trackers, for a sample of web conversations) in the order sent. Printed, never
asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.bench_dialogue import QUESTIONS, free_port, percentiles  # noqa: E402
from tests.channels.fakes import FakeTencentSms, FakeWeChatAPI  # noqa: E402

SMS_TOKEN, WECHAT_TOKEN = "bench-sms-token", "benchwechattoken"
APP_ID, APP_SECRET = "wxbench12366", "bench-secret"
SMS_KEYS = ("AKIDbench12366", "bench-secret-key", "1400099999")
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
TURNS = 3  # per conversation: two questions and a thank-you
ANSWER_TIMEOUT = 60.0
BUSY = "系统繁忙"  # the app's "your question is queued" notice when Rasa timed out: not an answer


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    web_conversations: list[tuple[str, list[str]]] = field(default_factory=list)

    def error(self, channel: str, what: str) -> None:
        self.errors[channel].append(what)


class Inbox:
    """What the fakes received, per recipient, as asyncio queues (one poller moves it across threads)."""

    def __init__(self, sms: FakeTencentSms, wechat: FakeWeChatAPI) -> None:
        self.sms, self.wechat = sms, wechat
        self.queues: dict[str, asyncio.Queue[str]] = defaultdict(asyncio.Queue)
        self._sms_seen = self._wechat_seen = 0

    async def poll(self) -> None:
        while True:
            for request in self.sms.requests[self._sms_seen :]:
                self._sms_seen += 1
                self.queues[request["PhoneNumberSet"][0]].put_nowait(request["TemplateParamSet"][0])
            for message in self.wechat.sent[self._wechat_seen :]:
                self._wechat_seen += 1
                self.queues[message["touser"]].put_nowait(message["text"]["content"])
            await asyncio.sleep(0.005)

    async def next(self, recipient: str) -> str:
        return await asyncio.wait_for(self.queues[recipient].get(), ANSWER_TIMEOUT)

    def leftover(self, recipient: str) -> int:
        return self.queues[recipient].qsize()


def _sms_part(text: str) -> tuple[int, int] | None:
    """(i, n) of an "(i/n)" part, None for a single SMS."""
    if text.startswith("(") and "/" in text[:8] and ")" in text[:8]:
        i, n = text[1 : text.index(")")].split("/")
        return int(i), int(n)
    return None


async def web_turn(client: httpx.AsyncClient, base: str, sender: str, text: str) -> None:
    response = await client.post(f"{base}/api/chat", json={"sender": sender, "message": text})
    response.raise_for_status()
    replies = response.json()
    if any(reply.get("custom", {}).get("answer_kind") in ("queued", "unavailable") for reply in replies):
        raise ValueError("queued by the app (Rasa timed out), not answered")
    if not any(reply.get("text") and reply.get("recipient_id") == sender for reply in replies):
        raise ValueError("no text reply")


async def sms_turn(client: httpx.AsyncClient, base: str, inbox: Inbox, mobile: str, text: str, n: int):
    body = {"extend": "", "mobile": mobile, "nationcode": "86", "sign": "12366智能咨询", "text": text,
            "time": 1_700_000_000 + n}  # fmt: skip
    response = await client.post(f"{base}/sms/inbound", params={"token": SMS_TOKEN}, json=body)
    if response.json() != {"result": 0, "errmsg": "OK"}:
        raise ValueError(f"callback answered {response.status_code} {response.text[:80]}")
    first = await inbox.next(f"+86{mobile}")
    if BUSY in first:
        raise ValueError("queued by the app (Rasa timed out), not answered")
    part = _sms_part(first)
    for _ in range((part[1] - 1) if part else 0):  # the rest of a split answer
        await inbox.next(f"+86{mobile}")


async def wechat_turn(client: httpx.AsyncClient, base: str, inbox: Inbox, openid: str, text: str, n: int):
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    signature = hashlib.sha1("".join(sorted((WECHAT_TOKEN, timestamp, nonce))).encode()).hexdigest()
    xml = (f"<xml><ToUserName><![CDATA[gh_12366tax0001]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
           f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{text}]]></Content><MsgId>{random.getrandbits(62)}</MsgId></xml>")  # fmt: skip
    response = await client.post(
        f"{base}/wechat", params={"signature": signature, "timestamp": timestamp, "nonce": nonce},
        content=xml.encode(),
    )  # fmt: skip
    if response.status_code != 200:
        raise ValueError(f"/wechat answered {response.status_code}")
    if response.text == "success":  # the bot took longer than the passive window: 客服消息 follows
        answer = await inbox.next(openid)
    elif "<Content>" not in response.text:
        raise ValueError(f"unexpected passive reply {response.text[:80]}")
    else:
        answer = response.text
    if BUSY in answer:
        raise ValueError("queued by the app (Rasa timed out), not answered")


async def taxpayer(index: int, channel: str, base: str, inbox: Inbox, results: Results, stop_at: float):
    """Conversations one after another until ``stop_at``; each message waits for its answer."""
    rng = random.Random(index)
    async with httpx.AsyncClient(timeout=ANSWER_TIMEOUT) as client:
        conversation = 0
        while time.monotonic() < stop_at:
            conversation += 1
            sender = f"load{index:03d}c{conversation}-{uuid.uuid4().hex[:6]}"
            mobile, openid = f"13{index:03d}{conversation % 100000:06d}", f"oBench{index:03d}_{conversation}"
            sent = [rng.choice(QUESTIONS), rng.choice(QUESTIONS), "谢谢"]
            answered: list[str] = []
            for n, text in enumerate(sent):
                started = time.perf_counter()
                try:
                    if channel == "web":
                        await web_turn(client, base, sender, text)
                    elif channel == "sms":
                        await sms_turn(client, base, inbox, mobile, text, n)
                    else:
                        await wechat_turn(client, base, inbox, openid, text, n)
                except (httpx.HTTPError, ValueError, TimeoutError) as exc:
                    results.error(channel, f"{type(exc).__name__}: {exc}"[:120])
                    break
                results.latencies[channel].append(time.perf_counter() - started)
                answered.append(text)
                if time.monotonic() >= stop_at:
                    break
            if channel == "web":
                results.web_conversations.append((sender, answered))
            elif inbox.leftover(f"+86{mobile}" if channel == "sms" else openid):
                results.error(channel, "more answers than messages")


async def bare_user(index: int, rasa: str, results: Results, stop_at: float) -> None:
    async with httpx.AsyncClient(timeout=ANSWER_TIMEOUT) as client:
        while time.monotonic() < stop_at:
            sender = f"bare{index:03d}-{uuid.uuid4().hex[:8]}"
            for _ in range(TURNS):
                started = time.perf_counter()
                try:
                    response = await client.post(f"{rasa}/webhooks/rest/webhook",
                                                 json={"sender": sender, "message": "谢谢"})  # fmt: skip
                    response.raise_for_status()
                    if not response.json():
                        raise ValueError("no reply")
                except (httpx.HTTPError, ValueError) as exc:
                    results.error("bare", f"{type(exc).__name__}: {exc}"[:120])
                    break
                results.latencies["bare"].append(time.perf_counter() - started)


async def check_order(rasa: str, conversations: list[tuple[str, list[str]]]) -> tuple[int, list[str]]:
    """Rasa's tracker of each sampled web conversation: the messages in the order sent, each answered."""
    problems = []
    async with httpx.AsyncClient(timeout=30) as client:
        for sender, sent in conversations:
            events = (await client.get(f"{rasa}/conversations/{sender}/tracker")).json()["events"]
            seen = [e["event"] for e in events if e["event"] in ("user", "bot")]
            users = [e["text"] for e in events if e["event"] == "user"]
            answered = seen[-1:] == ["bot"] and all(b == "bot" for a, b in pairwise(seen) if a == "user")
            if users != sent or not answered:
                problems.append(f"{sender}: sent {sent}, tracker {users}, answered={answered}")
    return len(conversations), problems


def report(name: str, results: Results, channels: list[str], seconds: float) -> None:
    samples = [s for c in channels for s in results.latencies[c]]
    errors = sum(len(results.errors[c]) for c in channels)
    rate = len(samples) / seconds
    print(f"{name}: {len(samples)} turns in {seconds:.0f} s = {rate:6.1f} turns/s, {errors} errors")
    if samples:
        print(f"  all     {percentiles(samples)}")
    for channel in channels:
        samples = results.latencies[channel]
        if len(channels) > 1 and len(samples) > 1:
            print(f"  {channel:7} {percentiles(samples)}   ({len(samples)} turns)")
        for what in sorted(set(results.errors[channel]))[:5]:
            print(f"  {channel} error ×{results.errors[channel].count(what)}: {what}")


async def run(base: str, rasa: str, args: argparse.Namespace, sms: FakeTencentSms, wechat: FakeWeChatAPI):
    inbox = Inbox(sms, wechat)
    poller = asyncio.create_task(inbox.poll())
    shares = (args.sms_percent, args.wechat_percent)
    results = Results()
    print(f"{args.users} taxpayers for {args.duration:.0f} s ({100 - sum(shares)}% web, {shares[0]}% SMS, "
          f"{shares[1]}% WeChat), {TURNS}-turn conversations ...", flush=True)  # fmt: skip
    started = time.monotonic()
    ticker = asyncio.create_task(_progress(results, ("web", "sms", "wechat"), started))
    sms_users, wechat_users = round(args.users * shares[0] / 100), round(args.users * shares[1] / 100)
    channels = ["sms"] * sms_users + ["wechat"] * wechat_users
    channels += ["web"] * (args.users - len(channels))
    stop_at = started + args.duration
    await asyncio.gather(*(taxpayer(i, c, base, inbox, results, stop_at) for i, c in enumerate(channels)))
    full_seconds = time.monotonic() - started
    ticker.cancel()
    await asyncio.sleep(1.0)  # late duplicates would arrive now
    for recipient, queue in inbox.queues.items():
        if queue.qsize():
            channel = "sms" if recipient.startswith("+") else "wechat"
            results.error(channel, "answer after the conversation ended")
    poller.cancel()
    print(f"Same load as bare Rasa REST rule turns for {args.duration:.0f} s ...", flush=True)
    started = time.monotonic()
    ticker = asyncio.create_task(_progress(results, ("bare",), started))
    await asyncio.gather(*(bare_user(i, rasa, results, started + args.duration) for i in range(args.users)))
    bare_seconds = time.monotonic() - started
    ticker.cancel()
    talked = [conversation for conversation in results.web_conversations if conversation[1]]
    sample = random.Random(0).sample(talked, min(30, len(talked)))
    checked, problems = await check_order(rasa, sample)
    print()
    full = "full path (channels → app → Rasa → actions → search)"
    report(full, results, ["web", "sms", "wechat"], full_seconds)
    report("bare Rasa REST (utter_thanks)", results, ["bare"], bare_seconds)
    print(f"order check: {checked} web conversations from Rasa's trackers, {len(problems)} out of order")
    for problem in problems[:3]:
        print(f"  {problem}")


async def _progress(results: Results, channels: tuple[str, ...], started: float) -> None:
    while True:
        await asyncio.sleep(10)
        done = sum(len(results.latencies[c]) for c in channels)
        errors = sum(len(results.errors[c]) for c in channels)
        print(f"  {time.monotonic() - started:4.0f} s: {done} turns, {errors} errors", flush=True)


# --- the product under test ---------------------------------------------------------------------------
def _postgres_databases(names: list[str]) -> ExitStack:
    import psycopg

    stack = ExitStack()
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.callback(drop)
    return stack


@contextmanager
def product(args: argparse.Namespace, sms_url: str, wechat_url: str) -> Iterator[tuple[str, str]]:
    work = Path(tempfile.mkdtemp(prefix="taxbot-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAXBOT_")}
    env |= {
        "TAXBOT_DATA_DIR": str(work), "TAXBOT_PORT": str(free_port()), "TAXBOT_RASA_PORT": str(free_port()),
        "TAXBOT_MODELS_DIR": str(ROOT / "var" / "models"), "TAXBOT_LOG_LEVEL": "WARNING",
        "TAXBOT_SMS_SECRET_ID": SMS_KEYS[0], "TAXBOT_SMS_SECRET_KEY": SMS_KEYS[1],
        "TAXBOT_SMS_SDK_APP_ID": SMS_KEYS[2], "TAXBOT_SMS_SIGN_NAME": "12366智能咨询",
        "TAXBOT_SMS_TEMPLATE_ID": "1234567", "TAXBOT_SMS_CALLBACK_TOKEN": SMS_TOKEN,
        "TAXBOT_SMS_API_BASE": sms_url,
        "TAXBOT_SMS_RATE_LIMIT_PER_MINUTE": "1000",  # checked (in Redis when scaled), never reached
        # 100 users from 127.0.0.1: the per-address and per-sender limits checked, never reached
        "TAXBOT_IP_RATE_LIMIT_PER_MINUTE": "1000000", "TAXBOT_POLL_RATE_LIMIT_PER_MINUTE": "1000000",
        "TAXBOT_CHAT_RATE_LIMIT_PER_MINUTE": "10000",
        "TAXBOT_WECHAT_TOKEN": WECHAT_TOKEN, "TAXBOT_WECHAT_APP_ID": APP_ID,
        "TAXBOT_WECHAT_APP_SECRET": APP_SECRET,
        "TAXBOT_WECHAT_API_BASE": wechat_url,
    }  # fmt: skip
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, work, ignore_errors=True)
        command = ["serve"]
        if args.scaled:
            suffix = uuid.uuid4().hex[:8]
            names = [f"taxbot_load_{suffix}", f"taxbot_load_rasa_{suffix}"]
            cleanup.enter_context(_postgres_databases(names))
            env |= {
                "TAXBOT_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{names[0]}",
                "TAXBOT_TRACKER_STORE_URL": f"postgresql://postgres@127.0.0.1:5432/{names[1]}",
                "TAXBOT_LOCK_STORE_URL": args.redis_url,
            }
            command = ["serve-scaled", "--apps", str(args.apps), "--rasas", str(args.rasas)]
        cli = [sys.executable, "-m", "taxbot.cli"]
        mode = f"scaled: {' '.join(command[1:])}" if args.scaled else "single node"
        print(f"Preparing {work} ({mode}) ...", flush=True)
        subprocess.run([*cli, "kb", "init", "--data-dir", str(work)], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        log = cleanup.enter_context((work / "serve.log").open("wb"))
        proc = subprocess.Popen([*cli, *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        base, rasa = f"http://127.0.0.1:{env['TAXBOT_PORT']}", f"http://127.0.0.1:{env['TAXBOT_RASA_PORT']}"
        try:
            _wait_ready(proc, base, work, scaled=args.scaled)
            yield base, rasa
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=120)


def _wait_ready(proc: subprocess.Popen, base: str, work: Path, *, scaled: bool) -> None:
    started = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the product exited; see {work / 'serve.log'}")
        ready = not scaled or (work / "run" / "scaled.json").exists()
        try:
            if ready and httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                print(f"  ready after {time.monotonic() - started:.0f} s", flush=True)
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() - started > 900:
            raise SystemExit(f"the product was not ready after 900 s; see {work / 'serve.log'}")
        time.sleep(2)


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load, each phase")
    parser.add_argument("--users", type=int, default=100, help="concurrent simulated taxpayers")
    parser.add_argument("--sms-percent", type=int, default=10)
    parser.add_argument("--wechat-percent", type=int, default=10)
    parser.add_argument("--scaled", action="store_true", help="run `taxbot serve-scaled`, not `serve`")
    parser.add_argument("--apps", type=int, default=2)
    parser.add_argument("--rasas", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="scaled mode's Redis")
    args = parser.parse_args()
    if not 0 <= args.sms_percent + args.wechat_percent <= 100 or args.duration <= 0 or args.users <= 0:
        parser.error("percentages must add up to at most 100; duration and users must be positive")
    with ExitStack() as stack:
        sms = stack.enter_context(FakeTencentSms(*SMS_KEYS))
        wechat = stack.enter_context(FakeWeChatAPI(APP_ID, APP_SECRET))
        base, rasa = stack.enter_context(product(args, sms.url, wechat.url))
        asyncio.run(run(base, rasa, args, sms, wechat))


if __name__ == "__main__":
    main()
