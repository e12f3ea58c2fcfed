"""Contrastive fine-tuning of the distilled static model on the content's (anchor, positive) pairs.

A plain, seeded torch loop around sentence-transformers' ``MultipleNegativesRankingLoss`` (the ST
trainer needs the ``datasets`` package, which the product does not install). Batches never hold the
same text twice, so an FAQ answer shared by several phrasings is never its own in-batch negative.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from index.training.config import Progress, TrainSettings, no_progress


def make_batches(pairs: Sequence[tuple[str, str]], size: int, seed: int) -> list[list[tuple[str, str]]]:
    """Shuffled batches of at most ``size`` pairs with no text repeated inside a batch."""
    pending = list(pairs)
    random.Random(seed).shuffle(pending)
    batches: list[list[tuple[str, str]]] = []
    while pending:
        batch: list[tuple[str, str]] = []
        seen: set[str] = set()
        deferred: list[tuple[str, str]] = []
        for pair in pending:
            if len(batch) < size and pair[0] not in seen and pair[1] not in seen:
                batch.append(pair)
                seen.update(pair)
            else:
                deferred.append(pair)
        batches.append(batch)
        pending = deferred
    return [b for b in batches if len(b) > 1]  # a lone pair has no negative to learn from


def finetune(
    model: SentenceTransformer,
    pairs: Sequence[tuple[str, str]],
    settings: TrainSettings,
    *,
    progress: Progress = no_progress,
) -> int:
    """Train ``model`` in place; returns the number of optimisation steps taken."""
    if settings.finetune_epochs <= 0 or len(pairs) < 2:
        return 0
    torch.manual_seed(settings.seed)
    loss_fn = MultipleNegativesRankingLoss(model, scale=settings.finetune_scale)
    # Sparse gradients + lazy Adam: a step touches only the rows of the words in the batch (fast with a
    # 100k-word table), and words absent from the content keep their distilled teacher vectors exactly.
    embedding = model[0].embedding
    embedding.sparse = True
    optimiser = torch.optim.SparseAdam(list(embedding.parameters()), lr=settings.finetune_lr)
    epochs = [
        make_batches(pairs, settings.finetune_batch, settings.seed + epoch)
        for epoch in range(settings.finetune_epochs)
    ]
    total = sum(len(b) for b in epochs)
    steps = 0
    model.train()
    for batches in epochs:
        for batch in batches:
            features = [model.preprocess([a for a, _ in batch]), model.preprocess([p for _, p in batch])]
            loss = loss_fn(features, torch.empty(0))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            steps += 1
            progress("fine-tuning on the content's pairs", steps, total)
    embedding.sparse = False
    model.eval()
    return steps
