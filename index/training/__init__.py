"""The default offline Chinese embedding model: distilled from USE-multilingual, tuned on the content.

Public API: ``ensure_default_model`` (train into ``models_dir / "tax-embedding"`` unless up to date),
``train_model`` (train into a given folder), ``TrainResult``, ``TrainSettings``.
"""

from index.training.build import TrainResult, ensure_default_model, input_hash, train_model
from index.training.config import CODE_VERSION, DEFAULT_SETTINGS, MODEL_DIRNAME, Progress, TrainSettings

__all__ = [
    "CODE_VERSION",
    "DEFAULT_SETTINGS",
    "MODEL_DIRNAME",
    "Progress",
    "TrainResult",
    "TrainSettings",
    "ensure_default_model",
    "input_hash",
    "train_model",
]
