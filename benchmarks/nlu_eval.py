"""Held-out NLU evaluation of the bot's training data (intent macro-F1, entity F1 per entity).

    .venv-rasa/bin/python benchmarks/nlu_eval.py [--seed 12366] [--train-frac 0.8] [--config config.yml]

The NLU data in ``bot/data/nlu`` is split 80/20 per intent (Rasa's own stratified
``TrainingData.train_test_split`` with a fixed seed; lookup tables, regexes and synonyms stay in the training
part), an NLU-only model is trained with ``config.yml`` into a temporary directory and the held-out messages
are parsed by that model — the whole pipeline, as the bot sees it (DIET + RegexEntityExtractor +
EntitySynonymMapper + FallbackClassifier; an ``nlu_fallback`` prediction counts as a wrong intent).

Entities are scored as exact (entity type, start, end) spans; several extractors predicting the same span
count once. Printed, never asserted (targets: intent macro-F1 ≥ 0.90, entity F1 ≥ 0.85). Nothing in the
repository is written; the eval questions of ../shared/eval are not used.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _spans(entities: list[dict]) -> set[tuple[str, int, int]]:
    return {(e["entity"], int(e["start"]), int(e["end"])) for e in entities or []}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=12366)
    parser.add_argument("--train-frac", type=float, default=0.8)
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--nlu", default=str(ROOT / "bot" / "data" / "nlu"))
    parser.add_argument("--show-errors", type=int, default=40, help="list at most N misclassified messages")
    args = parser.parse_args()

    os.chdir(ROOT)  # config.yml names the jieba dictionary relative to the repository root
    logging.disable(logging.WARNING)
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(args.nlu, language="zh")
    train, test = data.train_test_split(train_frac=args.train_frac, random_seed=args.seed)
    print(
        f"examples: {len(data.intent_examples)} → train {len(train.intent_examples)}, "
        f"held out {len(test.intent_examples)} (seed {args.seed})"
    )

    with tempfile.TemporaryDirectory(prefix="nlu-eval-") as tmp:
        train_path = Path(tmp) / "train.yml"
        train_path.write_text(train.nlu_as_yaml(), encoding="utf-8")
        started = time.perf_counter()
        model = train_nlu(
            config=args.config,
            nlu_data=str(train_path),
            output=tmp,
            domain=str(ROOT / "bot" / "domain.yml"),
            fixed_model_name="nlu-eval",
        )
        train_seconds = time.perf_counter() - started
        if not model:
            print("training failed", file=sys.stderr)
            return 1
        agent = Agent.load(model)

        async def parse_all() -> list[dict]:
            return [await agent.parse_message(m.get("text")) for m in test.intent_examples]

        parsed = asyncio.run(parse_all())

    gold_intents = [m.get("intent") for m in test.intent_examples]
    pred_intents = [p["intent"]["name"] for p in parsed]
    labels = sorted(set(gold_intents))
    print(f"\ntraining time: {train_seconds:.0f} s\n\nintent             P     R     F1   n")
    f1s, confusions = [], Counter()
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold_intents, pred_intents, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold_intents, pred_intents, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold_intents, pred_intents, strict=True))
        p, r, f = _f1(tp, fp, fn)
        f1s.append(f)
        print(f"{label:<17} {p:5.2f} {r:5.2f} {f:5.2f} {tp + fn:3d}")
    for g, p in zip(gold_intents, pred_intents, strict=True):
        if g != p:
            confusions[(g, p)] += 1
    accuracy = sum(g == p for g, p in zip(gold_intents, pred_intents, strict=True)) / len(gold_intents)
    print(f"intent macro-F1 {sum(f1s) / len(f1s):.3f}  (accuracy {accuracy:.3f})")
    if confusions:
        print(
            "confusions (gold → predicted): "
            + ", ".join(f"{g}→{p} ×{n}" for (g, p), n in confusions.most_common(10))
        )

    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    entity_errors = []
    for message, result in zip(test.intent_examples, parsed, strict=True):
        gold, pred = _spans(message.get("entities")), _spans(result.get("entities"))
        for entity, *_ in gold & pred:
            counts[entity][0] += 1
        for entity, *_ in pred - gold:
            counts[entity][1] += 1
        for entity, *_ in gold - pred:
            counts[entity][2] += 1
        if gold != pred:
            entity_errors.append((message.get("text"), sorted(gold - pred), sorted(pred - gold)))
    print("\nentity             P     R     F1   gold")
    total = [0, 0, 0]
    for entity in sorted(counts):
        tp, fp, fn = counts[entity]
        total = [a + b for a, b in zip(total, counts[entity], strict=True)]
        p, r, f = _f1(tp, fp, fn)
        print(f"{entity:<17} {p:5.2f} {r:5.2f} {f:5.2f} {tp + fn:4d}")
    p, r, f = _f1(*total)
    print(f"entity micro-F1 {f:.3f}  (P {p:.3f}, R {r:.3f})")

    if args.show_errors:
        wrong = [
            (m.get("text"), g, p)
            for m, g, p in zip(test.intent_examples, gold_intents, pred_intents, strict=True)
            if g != p
        ]
        print(f"\nmisclassified ({len(wrong)}):")
        for text, g, p in wrong[: args.show_errors]:
            print(f"  {g} → {p}: {text}")
        print(f"entity mismatches ({len(entity_errors)}; missed / spurious):")
        for text, missed, spurious in entity_errors[: args.show_errors]:
            print(f"  {text}  missed={missed} spurious={spurious}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
