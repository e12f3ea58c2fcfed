"""`taxbot kb ...` end to end through Typer's CliRunner on a temporary workspace."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from taxbot.cli_kb import app

runner = CliRunner()


def kb(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_every_command_has_help():
    for command in ("init", "ingest", "build", "search", "show", "withdraw", "stats", "eval", "train-model"):
        result = kb(command, "--help")
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


def test_init_then_skip_when_unchanged(env: Path):
    first = kb("init", "--data-dir", env)
    assert first.exit_code == 0, first.output
    assert "Loaded 2 documents and 1 FAQ entries" in first.output
    again = kb("init", "--data-dir", env)
    assert again.exit_code == 0 and "up to date" in again.output
    assert (env / "taxbot.sqlite3").is_file() and (env / "index" / "CURRENT").is_file()


def test_search_json_shape_faq_first(env: Path):
    assert kb("init", "--data-dir", env).exit_code == 0
    result = kb("search", "小规模纳税人征收率多少", "--json", "--as-of", "2026-06-01", "--data-dir", env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"query", "region", "as_of", "hits"}
    assert data["as_of"] == "2026-06-01" and data["region"] is None
    first = data["hits"][0]
    assert first["kind"] == "faq" and first["faq_id"] == "faq-test-rate"
    keys = {"doc_id", "title", "doc_number", "region", "status", "effective", "article", "text", "score",
            "applicability"}  # fmt: skip
    assert all(keys <= set(hit) for hit in data["hits"])
    assert first["doc_id"] == "test-vat-law" and first["article"] == "第十一条"


def test_search_region_filter_and_history(env: Path):
    kb("init", "--data-dir", env)
    bj = json.loads(
        kb("search", "个人出租住房房产税", "--region", "北京", "--json", "--data-dir", env).stdout
    )
    assert bj["region"] == "北京市" and any(h["doc_id"] == "test-bj-rule" for h in bj["hits"])
    sh = json.loads(
        kb("search", "个人出租住房房产税", "--region", "上海市", "--json", "--data-dir", env).stdout
    )
    assert all(h["doc_id"] != "test-bj-rule" for h in sh["hits"])
    early = kb("search", "增值税税率", "--as-of", "2025-01-01", "--json", "--data-dir", env)
    assert json.loads(early.stdout)["hits"] == []
    hist = kb("search", "增值税税率", "--as-of", "2025-01-01", "--history", "--json", "--data-dir", env)
    assert {h["applicability"] for h in json.loads(hist.stdout)["hits"]} == {"historical"}


def test_search_errors_are_readable(env: Path):
    missing = kb("search", "增值税", "--data-dir", env)
    assert missing.exit_code == 1 and "run `taxbot kb init`" in missing.output
    assert "Traceback" not in missing.output
    kb("init", "--data-dir", env)
    for args, message in (
        (("--region", "火星"), "unknown region '火星'"),
        (("--as-of", "2026-13-01"), "bad date '2026-13-01'"),
        (("-k", "0"), "k must be between 1 and 50"),
    ):
        result = kb("search", "增值税", *args, "--data-dir", env)
        assert result.exit_code == 1, args
        assert message in result.output and "Traceback" not in result.output


def test_ingest_updates_index_and_withdraw(env: Path, tmp_path: Path):
    kb("init", "--data-dir", env)
    source = tmp_path / "国家税务总局关于测试印花税的公告.txt"
    source.write_text(
        "国家税务总局关于测试印花税的公告\n国家税务总局公告2026年第99号\n"
        "一、电子合同按合同所载金额计征印花税。\n二、本公告自2026年1月1日起施行。\n",
        encoding="utf-8",
    )
    result = kb("ingest", source, "--data-dir", env)
    assert result.exit_code == 0, result.output
    assert "Index updated incrementally" in result.output
    found = json.loads(kb("search", "电子合同印花税", "--json", "--data-dir", env).stdout)["hits"]
    doc_id = found[0]["doc_id"]
    assert found[0]["doc_number"] == "国家税务总局公告2026年第99号"
    shown = kb("show", doc_id, "--data-dir", env)
    assert shown.exit_code == 0 and "电子合同按合同所载金额计征印花税" in shown.output
    assert kb("withdraw", doc_id, "--data-dir", env).exit_code == 0
    after = json.loads(kb("search", "电子合同印花税", "--json", "--data-dir", env).stdout)["hits"]
    assert all(h["doc_id"] != doc_id for h in after)


def test_ingest_missing_path_and_unknown_ids(env: Path):
    kb("init", "--data-dir", env)
    result = kb("ingest", "/no/such/file.pdf", "--data-dir", env)
    assert result.exit_code == 1 and "no such file or folder: /no/such/file.pdf" in result.output
    for command in ("show", "withdraw"):
        result = kb(command, "no-such-doc", "--data-dir", env)
        assert result.exit_code == 1 and "no document with id 'no-such-doc'" in result.output


def test_build_and_stats(env: Path):
    kb("init", "--data-dir", env)
    assert kb("build", "--data-dir", env).exit_code == 0
    stats = kb("stats", "--data-dir", env)
    assert stats.exit_code == 0, stats.output
    assert "2 documents" in stats.output and "1 FAQ" in stats.output and "hashing-256" in stats.output


def test_eval_json_shape(env: Path, shared_dir: Path, tmp_path: Path):
    questions = tmp_path / "q.jsonl"
    rows = [json.loads(line) for line in (shared_dir / "eval" / "dev.jsonl").read_text("utf-8").splitlines()]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:12]), encoding="utf-8")
    result = kb(
        "eval", "--corpus", shared_dir / "corpus", "--questions", questions, "--json", "--data-dir", env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"n", "bm25", "dense", "hybrid"}
    assert data["n"] == sum(1 for r in rows[:12] if r["in_corpus"])
    for mode in ("bm25", "dense", "hybrid"):
        assert set(data[mode]) == {"hit@1", "hit@5", "mrr", "p50_ms", "p95_ms"}
        assert 0 <= data[mode]["hit@1"] <= data[mode]["hit@5"] <= 1


def test_eval_bad_input(env: Path, tmp_path: Path):
    result = kb("eval", "--corpus", tmp_path / "nope", "--questions", tmp_path / "q.jsonl", "--data-dir", env)
    assert result.exit_code == 1 and "corpus folder not found" in result.output


def test_ingest_over_a_damaged_index_recovers_it(env: Path, tmp_path: Path):
    kb("init", "--data-dir", env)
    index = env / "index"
    damaged = (index / "CURRENT").read_text(encoding="utf-8").strip()
    chunks = index / damaged / "chunks.json"
    chunks.write_bytes(chunks.read_bytes()[:40])  # truncated
    source = tmp_path / "国家税务总局关于测试车船税的公告.txt"
    source.write_text(
        "国家税务总局关于测试车船税的公告\n国家税务总局公告2026年第98号\n"
        "一、车船税按年申报缴纳。\n二、本公告自2026年1月1日起施行。\n",
        encoding="utf-8",
    )
    result = kb("ingest", source, "--data-dir", env)
    assert result.exit_code == 0, result.output
    assert (index / "CURRENT").read_text(encoding="utf-8").strip() != damaged
    assert (index / f"{damaged}.damaged").is_dir()  # kept for inspection
    found = json.loads(kb("search", "车船税按年申报", "--json", "--data-dir", env).stdout)["hits"]
    assert found[0]["doc_number"] == "国家税务总局公告2026年第98号"
