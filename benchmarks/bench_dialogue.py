"""Dialogue benchmark through the full path: POST /api/chat → Rasa (NLU, policies) → POST /webhook
(actions, hybrid search over the shipped knowledge base) → conversation log, next to a bare Rasa REST
rule turn (utter_thanks: NLU + policies, no custom action, no app) measured in the same run.

    .venv/bin/python benchmarks/bench_dialogue.py [--base-url http://127.0.0.1:8000 --rasa-url http://127.0.0.1:5005]

Without --base-url a product is started for the run (`taxbot kb init` into a temp workspace, then
`taxbot serve` on free ports) and stopped afterwards. Figures: p50/p95/p99 latency and turns/s for
200 sequential policy turns, 200 sequential bare Rasa turns and 50 concurrent conversations (4 policy
turns each). Printed, never asserted (target: full-path p95 ≤ 150 ms and ≤ 4× the bare Rasa turn).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

# policy questions with their region named (no region follow-up turn), national and local, FAQ and article
QUESTIONS = (
    "小规模纳税人增值税征收率是多少",
    "个税起征点是多少",
    "北京契税税率是多少",
    "子女教育专项附加扣除每月扣多少",
    "数电发票怎么开具",
    "河南省环境保护税大气污染物适用税额",
    "研发费用加计扣除比例是多少",
    "个税年度汇算什么时候办理",
    "小型微利企业所得税优惠政策",
    "上海个人出租住房房产税",
    "增值税税率有哪几档",
    "印花税购销合同税率",
    "灵活就业人员社保怎么交",
    "专票开错了怎么红冲",
    "车辆购置税新能源车免吗",
    "2025年小规模纳税人征收率",
    "赡养老人扣除标准",
    "企业所得税汇算清缴截止时间",
    "出口退税怎么办理",
    "残保金怎么计算",
)


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"p50 {q[49]:7.1f} ms   p95 {q[94]:7.1f} ms   p99 {q[98]:7.1f} ms   max {ms[-1]:7.1f} ms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def product() -> Iterator[tuple[str, str]]:
    """A fresh product for this run: (app URL, Rasa URL)."""
    work = Path(tempfile.mkdtemp(prefix="taxbot-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAXBOT_")}
    env |= {
        "TAXBOT_DATA_DIR": str(work),
        "TAXBOT_PORT": str(free_port()),
        "TAXBOT_RASA_PORT": str(free_port()),
        "TAXBOT_MODELS_DIR": str(ROOT / "var" / "models"),
        "TAXBOT_LOG_LEVEL": "WARNING",
        # one client on 127.0.0.1, faster than any taxpayer: the rate limits stay out of the measurement
        "TAXBOT_IP_RATE_LIMIT_PER_MINUTE": "0",
        "TAXBOT_CHAT_RATE_LIMIT_PER_MINUTE": "0",
    }
    cli = [sys.executable, "-m", "taxbot.cli"]
    subprocess.run(
        [*cli, "kb", "init", "--data-dir", str(work)], cwd=ROOT, env=env, check=True, capture_output=True
    )
    log = (work / "serve.log").open("wb")
    proc = subprocess.Popen(
        [*cli, "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base, rasa = f"http://127.0.0.1:{env['TAXBOT_PORT']}", f"http://127.0.0.1:{env['TAXBOT_RASA_PORT']}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"taxbot serve exited; see {work / 'serve.log'}")
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the product was not ready after 300 s")
            time.sleep(1)
        yield base, rasa
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def sequential(client: httpx.Client, url: str, messages: list[tuple[str, str]]) -> tuple[list[float], float]:
    samples = []
    started = time.perf_counter()
    for sender, message in messages:
        t = time.perf_counter()
        response = client.post(url, json={"sender": sender, "message": message})
        samples.append(time.perf_counter() - t)
        response.raise_for_status()
    return samples, time.perf_counter() - started


async def concurrent(
    url: str, conversations: int, turns: int, bare: bool = False
) -> tuple[list[float], float]:
    samples: list[float] = []

    async def talk(client: httpx.AsyncClient, index: int) -> None:
        sender = f"bench-c-{uuid.uuid4().hex[:8]}"
        for turn in range(turns):
            message = "谢谢" if bare else QUESTIONS[(index + turn) % len(QUESTIONS)]
            t = time.perf_counter()
            response = await client.post(url, json={"sender": sender, "message": message})
            samples.append(time.perf_counter() - t)
            response.raise_for_status()

    limits = httpx.Limits(max_connections=conversations)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(talk(client, i) for i in range(conversations)))
        return samples, time.perf_counter() - started


def run(base: str, rasa: str, turns: int, conversations: int) -> None:
    run_id = uuid.uuid4().hex[:6]  # fresh conversations of 10 turns each
    policy = [(f"bench-{run_id}-s{i // 10}", QUESTIONS[i % len(QUESTIONS)]) for i in range(turns)]
    bare = [(f"bench-{run_id}-r{i // 10}", "谢谢") for i in range(turns)]
    with httpx.Client(timeout=120) as client:
        sequential(client, f"{base}/api/chat", policy[:20])  # warm-up (TensorFlow graphs, caches)
        sequential(client, f"{rasa}/webhooks/rest/webhook", bare[:20])
        bare_s, bare_total = sequential(client, f"{rasa}/webhooks/rest/webhook", bare)
        full_s, full_total = sequential(client, f"{base}/api/chat", policy)
    conc_s, conc_total = asyncio.run(concurrent(f"{base}/api/chat", conversations, 4))
    bare_c, bare_c_total = asyncio.run(
        concurrent(f"{rasa}/webhooks/rest/webhook", conversations, 4, bare=True)
    )
    bare_p95 = statistics.quantiles(bare_s, n=100, method="inclusive")[94]
    full_p95 = statistics.quantiles(full_s, n=100, method="inclusive")[94]
    print(f"{turns} sequential turns, bare Rasa REST rule turn (utter_thanks):")
    print(f"  {percentiles(bare_s)}   {turns / bare_total:6.1f} turns/s")
    print(f"{turns} sequential policy turns, full path (/api/chat → Rasa → /webhook search → log):")
    print(f"  {percentiles(full_s)}   {turns / full_total:6.1f} turns/s")
    print(f"{conversations} concurrent conversations × 4 policy turns, full path:")
    print(f"  {percentiles(conc_s)}   {len(conc_s) / conc_total:6.1f} turns/s")
    print(f"{conversations} concurrent conversations × 4 bare Rasa rule turns:")
    print(f"  {percentiles(bare_c)}   {len(bare_c) / bare_c_total:6.1f} turns/s")
    print(
        f"full-path p95 / bare-Rasa p95 = {full_p95 / bare_p95:.2f}× (target ≤ 4×); "
        f"full-path p95 {full_p95 * 1000:.0f} ms (target ≤ 150 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", help="a running app (default: start one for this run)")
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005", help="its Rasa server")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=50)
    args = parser.parse_args()
    if args.base_url:
        run(args.base_url.rstrip("/"), args.rasa_url.rstrip("/"), args.turns, args.conversations)
        return
    with product() as (base, rasa):
        run(base, rasa, args.turns, args.conversations)


if __name__ == "__main__":
    main()
