"""Settings of the default embedding model's training, and the code version that enters its input hash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

# Bump when a change in index/training/ changes the trained model for the same inputs.
CODE_VERSION = "tax-embedding/1"

MODEL_DIRNAME = "tax-embedding"
TRAINING_FILE = "training.json"
MODEL_CARD_FILE = "MODEL_CARD.md"

# progress(stage, done, total): stage is a short human label; total 0 = unknown.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TrainSettings:
    """What the model is built from beyond the content files. Part of the input hash."""

    vocab_size: int = 100_000  # most frequent words of jieba's bundled dictionary
    dim: int = 256  # PCA dimension of the distilled vectors
    sif_coefficient: float = 1e-4  # weight a / (a + p(word)): frequent words count less
    teacher_batch: int = 64
    finetune_epochs: int = 3  # contrastive passes over the content's pairs (0 = distillation only)
    finetune_batch: int = 64
    finetune_lr: float = 1e-3
    finetune_scale: float = 20.0  # MultipleNegativesRankingLoss temperature (cosine x scale)
    seed: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


DEFAULT_SETTINGS = TrainSettings()


def no_progress(stage: str, done: int, total: int) -> None:
    """The default progress sink: silent."""
