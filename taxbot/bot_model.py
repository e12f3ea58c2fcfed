"""The trained Rasa model: named by a fingerprint of what it is trained on, trained only when missing."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from knowledge_base.dictionary import DICTIONARY_FILE
from taxbot.errors import ConfigError, TaxbotError
from taxbot.settings import PROJECT_ROOT, Settings

CONFIG_FILE = PROJECT_ROOT / "config.yml"


class BotTrainingFailed(TaxbotError):
    def __init__(self, message: str, log_file: Path) -> None:
        super().__init__(message)
        self.log_file = log_file


def training_inputs(settings: Settings) -> list[Path]:
    """Every file the model depends on: bot/ (except its test stories), config.yml, the jieba dictionary."""
    bot_files = [p for p in sorted(settings.bot_dir.rglob("*")) if p.is_file() and "tests" not in p.parts]
    return [*bot_files, CONFIG_FILE, DICTIONARY_FILE]


def fingerprint(settings: Settings) -> str:
    digest = hashlib.sha256()
    for path in training_inputs(settings):
        name = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
        digest.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def models_dir(settings: Settings) -> Path:
    return settings.models_dir / "rasa"


def model_path(settings: Settings) -> Path:
    return models_dir(settings) / f"{fingerprint(settings)}.tar.gz"


def rasa_executable(settings: Settings) -> Path:
    exe = settings.rasa_venv / "bin" / "rasa"
    if not exe.exists():
        raise ConfigError(f"Rasa is not installed at {exe}; run `make venv-rasa` (or set TAXBOT_RASA_VENV)")
    return exe


def rasa_env(settings: Settings) -> dict[str, str]:
    """Environment for Rasa child processes: no telemetry, quiet TensorFlow, cache under data_dir."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        RASA_CACHE_DIRECTORY=str(settings.data_dir / "rasa-cache"),
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


def last_line(log_file: Path) -> str:
    """The latest progress line of a log (tqdm writes carriage returns)."""
    try:
        tail = log_file.read_bytes()[-4000:].decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in tail.replace("\r", "\n").split("\n") if ln.strip()]
    return lines[-1] if lines else ""


def train(
    settings: Settings, *, force: bool = False, on_progress: Callable[[str], None] | None = None
) -> tuple[Path, bool]:
    """(model file, whether it was trained now). Rasa's output goes to ``<data_dir>/logs/rasa-train.log``."""
    target = model_path(settings)
    if target.exists() and not force:
        return target, False
    exe = rasa_executable(settings)
    log_file = settings.data_dir / "logs" / "rasa-train.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    work = models_dir(settings) / f".training-{target.name.removesuffix('.tar.gz')}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    argv = [
        str(exe), "train", "--config", str(CONFIG_FILE), "--domain", str(settings.bot_dir / "domain.yml"),
        "--data", str(settings.bot_dir / "data"), "--out", str(work),
        "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    with log_file.open("wb") as log:
        env = rasa_env(settings)
        proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            while proc.poll() is None:
                if on_progress:
                    on_progress(last_line(log_file))
                time.sleep(0.5)
        except BaseException:
            proc.terminate()
            proc.wait(timeout=30)
            shutil.rmtree(work, ignore_errors=True)
            raise
    produced = work / target.name
    if proc.returncode != 0 or not produced.exists():
        shutil.rmtree(work, ignore_errors=True)
        raise BotTrainingFailed(f"rasa train failed (exit code {proc.returncode}); log: {log_file}", log_file)
    produced.replace(target)
    shutil.rmtree(work, ignore_errors=True)
    return target, True
