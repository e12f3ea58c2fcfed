"""The eval hit rule, and the retrieval targets on the dev questions over the real corpus."""

from __future__ import annotations

import pytest

from index.eval import eval_doc_number, evaluate, is_hit, load_questions
from knowledge_base.models import Document


def test_hit_rule_normalises_numbers_and_titles():
    doc = Document(
        id="x", title="中华人民共和国企业所得税法实施条例", doc_number="国务院令第七百一十四号",
        doc_number_aliases=("国务院令第512号",),
    )  # fmt: skip
    assert eval_doc_number("国令第 714号") == eval_doc_number("国务院令第七百一十四号")
    assert is_hit(doc, [{"title": "", "doc_number": "国令第512号"}])
    assert is_hit(doc, [{"title": "《企业所得税法实施条例》", "doc_number": ""}])
    assert not is_hit(doc, [{"title": "企业所得税法", "doc_number": "主席令第二十三号"}])


def test_questions_file_errors(tmp_path):
    from taxbot.errors import ConfigError

    with pytest.raises(ConfigError, match="questions file not found"):
        load_questions(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.jsonl:1: not JSON"):
        load_questions(bad)


@pytest.mark.slow
def test_hybrid_beats_both_baselines_on_dev(corpus_retriever, corpus_docs, dev_questions):
    """Targets of the retrieval work (measured here with the deterministic hashing encoder)."""
    questions = load_questions(dev_questions)
    assert len(questions) == 126
    scores = evaluate(corpus_retriever, questions, {d.id: d for d in corpus_docs}, k=5)
    bm25, dense, hybrid = scores["bm25"], scores["dense"], scores["hybrid"]
    assert hybrid["hit@5"] >= 0.85, scores
    assert hybrid["hit@5"] >= bm25["hit@5"] + 0.10, scores
    for metric in ("hit@1", "mrr"):
        assert hybrid[metric] > max(bm25[metric], dense[metric]), (metric, scores)
