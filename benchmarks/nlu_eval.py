"""Held-out NLU evaluation of the bot's training data (intent macro-F1, entity F1 per entity).

    .venv-rasa/bin/python benchmarks/nlu_eval.py [--seed 12366 [7 ...]] [--train-frac 0.8] [--config X]

The NLU data in ``bot/data/nlu`` is split 80/20 per intent (Rasa's own stratified
``TrainingData.train_test_split`` with a fixed seed; lookup tables, regexes and synonyms stay in the training
part), an NLU-only model is trained with ``config.yml`` into a temporary directory and the held-out messages
are parsed by that model — the whole pipeline, as the bot sees it (DIET + RegexEntityExtractor +
EntitySynonymMapper + FallbackClassifier; an ``nlu_fallback`` prediction counts as a wrong intent).

Several seeds (``--seed 12366 7 42``) repeat the split and the training and end with mean ± sd, so that a
change is not judged on one lucky split. For the FallbackClassifier threshold the held-out macro-F1 is also
recomputed from the intent ranking as if the threshold (and the ambiguity threshold) were different — the
ranking below ``nlu_fallback`` is DIET's, so no retraining is needed for that table.

Entities are scored as exact (entity type, start, end) spans; several extractors predicting the same span
count once. Printed, never asserted (targets: intent macro-F1 ≥ 0.90, entity F1 ≥ 0.85). Nothing in the
repository is written; the eval questions of ../shared/eval are not used.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import statistics
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


def _macro_f1(gold: list[str], pred: list[str]) -> float:
    labels = sorted(set(gold))
    f1s = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        f1s.append(_f1(tp, fp, fn)[2])
    return sum(f1s) / len(f1s)


def _with_threshold(result: dict, threshold: float, ambiguity: float) -> str:
    """The intent the FallbackClassifier would give with other thresholds (from DIET's ranking)."""
    ranking = [r for r in result.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
    if not ranking:
        return result["intent"]["name"]
    top = ranking[0]["confidence"]
    second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
    if top < threshold or top - second < ambiguity:
        return "nlu_fallback"
    return ranking[0]["name"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seed", type=int, nargs="+", default=[12366], help="one split and training per seed"
    )
    parser.add_argument("--train-frac", type=float, default=0.8)
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--nlu", default=str(ROOT / "bot" / "data" / "nlu"))
    parser.add_argument("--keep-model", metavar="DIR", help="copy the trained NLU model(s) into DIR")
    parser.add_argument("--show-errors", type=int, default=40, help="list at most N misclassified messages")
    args = parser.parse_args()

    os.chdir(ROOT)  # config.yml names the jieba dictionary relative to the repository root
    logging.disable(logging.WARNING)
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(args.nlu, language="zh")
    scores = [evaluate(data, seed, args) for seed in args.seed]
    if any(score is None for score in scores):
        return 1
    if len(scores) > 1:
        print(f"\n=== {len(scores)} seeds {args.seed} ===")
        for i, name in enumerate(("intent macro-F1", "intent accuracy", "entity micro-F1")):
            values = [score[i] for score in scores]
            print(
                f"{name:<16} {statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}  "
                f"({', '.join(f'{v:.3f}' for v in values)})"
            )
    return 0


def evaluate(data, seed: int, args: argparse.Namespace) -> tuple[float, float, float] | None:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    train, test = data.train_test_split(train_frac=args.train_frac, random_seed=seed)
    print(
        f"\nexamples: {len(data.intent_examples)} → train {len(train.intent_examples)}, "
        f"held out {len(test.intent_examples)} (seed {seed})"
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
            return None
        agent = Agent.load(model)
        if args.keep_model:
            Path(args.keep_model).mkdir(parents=True, exist_ok=True)
            shutil.copy(model, Path(args.keep_model) / f"nlu-eval-{seed}.tar.gz")

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
    macro_f1 = sum(f1s) / len(f1s)
    print(f"intent macro-F1 {macro_f1:.3f}  (accuracy {accuracy:.3f})")
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
    entity_f1 = f

    print(
        "\nmacro-F1 with other FallbackClassifier thresholds (rows: threshold, columns: ambiguity threshold)"
    )
    print("          " + "  ".join(f"amb {a:.2f}" for a in (0.0, 0.05, 0.1)))
    for threshold in (0.0, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5):
        row = [
            _macro_f1(gold_intents, [_with_threshold(r, threshold, a) for r in parsed])
            for a in (0.0, 0.05, 0.1)
        ]
        print(f"  {threshold:.2f}    " + "  ".join(f"   {v:.3f}" for v in row))

    if args.show_errors:
        wrong = [
            (
                m.get("text"),
                g,
                p,
                [r for r in res.get("intent_ranking") or [] if r["name"] != "nlu_fallback"][:1],
            )
            for m, g, p, res in zip(test.intent_examples, gold_intents, pred_intents, parsed, strict=True)
            if g != p
        ]
        print(f"\nmisclassified ({len(wrong)}):")
        for text, g, p, top in wrong[: args.show_errors]:
            best = f" (DIET: {top[0]['name']} {top[0]['confidence']:.2f})" if top else ""
            print(f"  {g} → {p}{best}: {text}")
        print(f"entity mismatches ({len(entity_errors)}; missed / spurious):")
        for text, missed, spurious in entity_errors[: args.show_errors]:
            print(f"  {text}  missed={missed} spurious={spurious}")
    return macro_f1, accuracy, entity_f1


if __name__ == "__main__":
    sys.exit(main())
