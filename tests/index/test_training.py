"""The default embedding model's training, on a tiny content folder written by the test (small settings)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from index.tokenize import cut
from index.training import TrainSettings, ensure_default_model, train_model
from index.training.finetune import make_batches
from index.training.vocabulary import build_tokenizer, build_vocabulary
from knowledge_base.dictionary import DICTIONARY_FILE

SMALL = TrainSettings(vocab_size=3000, dim=64, finetune_epochs=2, finetune_batch=8)

DOCUMENTS = """
- id: law-pit-2018
  title: 中华人民共和国个人所得税法
  doc_number: 主席令第九号
  issuer: 全国人民代表大会
  doc_type: 法律
  region: 全国
  published: 2018-08-31
  effective: 2019-01-01
  status: 有效
  tax_types: [个人所得税]
  articles:
    - label: 第十条
      text: 取得综合所得需要办理汇算清缴的，纳税人应当依法办理纳税申报。
    - label: 第十一条
      text: 居民个人取得综合所得，按年计算个人所得税，在取得所得的次年三月一日至六月三十日内办理汇算清缴。
- id: law-vat-2024
  title: 中华人民共和国增值税法
  doc_number: 主席令第四十一号
  issuer: 全国人民代表大会常务委员会
  doc_type: 法律
  region: 全国
  published: 2024-12-25
  effective: 2026-01-01
  status: 有效
  tax_types: [增值税]
  articles:
    - label: 第十条
      text: 增值税税率一般为13%，交通运输、建筑、不动产租赁等为9%，现代服务为6%。
"""

FAQ = """
- id: faq-pit-001
  question: 个人所得税综合所得汇算清缴什么时候办理？
  similar: [个税年度汇算在什么时间办, 工资薪金年度汇算的办理期限是哪天]
  answer: 居民个人应在取得所得的次年3月1日至6月30日内办理综合所得汇算清缴。
  citations:
    - {doc: law-pit-2018, article: 第十一条}
  region: 全国
  tax_types: [个人所得税]
- id: faq-vat-001
  question: 增值税的基本税率是多少？
  similar: [增值税一般适用什么税率, 销售货物交增值税按百分之几]
  answer: 增值税基本税率为13%，部分行业适用9%或6%。
  citations:
    - {doc: law-vat-2024, article: 第十条}
  region: 全国
  tax_types: [增值税]
- id: faq-vat-002
  question: 建筑服务适用多少增值税税率？
  similar: [建筑业增值税税率是多少, 提供建筑服务交多少增值税]
  answer: 建筑服务适用9%的增值税税率。
  citations:
    - {doc: law-vat-2024, article: 第十条}
  region: 全国
  tax_types: [增值税]
"""


def write_content(root: Path, faq: str = FAQ) -> Path:
    (root / "documents").mkdir(parents=True)
    (root / "faq").mkdir()
    (root / "documents" / "laws.yml").write_text(DOCUMENTS, encoding="utf-8")
    (root / "faq" / "basics.yml").write_text(faq, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_content(tmp_path_factory.mktemp("content"))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory, content: Path) -> Path:
    models = tmp_path_factory.mktemp("models")
    ensure_default_model(models, content, settings=SMALL)
    return models


def test_model_loads_by_path_and_encodes_normalised_vectors(models_dir: Path) -> None:
    model = SentenceTransformer(str(models_dir / "tax-embedding"), device="cpu")
    vectors = model.encode(["个人所得税汇算清缴", "增值税税率是多少", "小规模纳税人"])
    assert vectors.shape == (3, SMALL.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_paraphrases_score_closer_than_unrelated_questions(models_dir: Path) -> None:
    model = SentenceTransformer(str(models_dir / "tax-embedding"), device="cpu")
    query, paraphrase, unrelated = model.encode(
        ["个人所得税汇算清缴什么时候办理", "个税年度汇算在什么时间办", "建筑服务的增值税税率"]
    )
    assert float(query @ paraphrase) > float(query @ unrelated)


def test_model_dir_holds_card_and_training_record(models_dir: Path, content: Path) -> None:
    model_dir = models_dir / "tax-embedding"
    record = json.loads((model_dir / "training.json").read_text(encoding="utf-8"))
    assert record["stats"]["faqs"] == 3
    assert record["stats"]["documents"] == 2
    assert record["settings"]["dim"] == SMALL.dim
    card = (model_dir / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert record["version"] in card
    assert not list(models_dir.glob(".tax-embedding.tmp-*"))


def test_second_call_skips_and_force_retrains(models_dir: Path, content: Path) -> None:
    model_file = models_dir / "tax-embedding" / "model.safetensors"
    stamp = model_file.stat().st_mtime_ns
    stages: list[str] = []
    ensure_default_model(models_dir, content, settings=SMALL, progress=lambda s, d, t: stages.append(s))
    assert stages == []  # hash matched: nothing ran
    assert model_file.stat().st_mtime_ns == stamp
    ensure_default_model(
        models_dir, content, settings=SMALL, force=True, progress=lambda s, d, t: stages.append(s)
    )
    assert "done" in stages
    assert model_file.stat().st_mtime_ns != stamp


def test_changed_content_retrains(tmp_path: Path) -> None:
    content = write_content(tmp_path / "content")
    models = tmp_path / "models"
    ensure_default_model(models, content, settings=SMALL)
    first = json.loads((models / "tax-embedding" / "training.json").read_text(encoding="utf-8"))
    (content / "faq" / "basics.yml").write_text(FAQ.replace("13%", "百分之十三"), encoding="utf-8")
    ensure_default_model(models, content, settings=SMALL)
    second = json.loads((models / "tax-embedding" / "training.json").read_text(encoding="utf-8"))
    assert first["input_hash"] != second["input_hash"]


def test_same_seed_gives_same_version_and_weights(content: Path, tmp_path: Path) -> None:
    one = train_model(content, tmp_path / "one", seed=3, settings=SMALL)
    two = train_model(content, tmp_path / "two", seed=3, settings=SMALL)
    other = train_model(content, tmp_path / "other", seed=4, settings=SMALL)
    assert one.version == two.version
    assert one.stats["weights_sha256"] == two.stats["weights_sha256"]
    assert other.version != one.version


def test_empty_content_gives_a_distilled_model(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    result = train_model(tmp_path / "content", tmp_path / "model", settings=SMALL)
    assert result.stats["finetune_steps"] == 0 and result.stats["faqs"] == 0
    vector = SentenceTransformer(str(result.path), device="cpu").encode("小规模纳税人免征增值税")
    assert vector.shape == (SMALL.dim,)


def test_tokenizer_cuts_chinese_into_words() -> None:
    text = "居民个人的工资薪金所得，请问怎么办理汇算清缴？"
    vocab = build_vocabulary([text], size=3000, dictionary=DICTIONARY_FILE)  # content words join
    tokenizer = build_tokenizer(vocab.words, vocab.freqs, vocab.total)
    encoding = tokenizer.encode(text)
    words = [tok for tok, id_ in zip(encoding.tokens, encoding.ids, strict=True) if id_ != 0]
    assert words == cut(text)  # the same segmentation as jieba with the tax dictionary
    punctuation = [tok for tok, id_ in zip(encoding.tokens, encoding.ids, strict=True) if id_ == 0]
    assert punctuation == [",", "?"]  # punctuation is no word: [UNK], a zero vector


def test_batches_never_repeat_a_text() -> None:
    pairs = [("问一", "答"), ("问二", "答"), ("问三", "答"), ("问四", "另一个答")]
    for batch in make_batches(pairs, size=8, seed=0):
        texts = [t for pair in batch for t in pair]
        assert len(texts) == len(set(texts))
