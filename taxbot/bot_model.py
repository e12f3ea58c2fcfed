"""The trained Rasa model: named by a fingerprint of what it is trained on, trained only when missing."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


WAITING = "waiting for another training of the Rasa model to finish (lock {lock}) ..."


@contextmanager
def training_lock(lock_file: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``lock_file`` (created if missing); yields whether it had to wait.

    Two ``taxbot train-bot`` at once (``make run`` while ``make test`` trains, two test sessions) would
    otherwise train the same model twice, side by side on the same cores. The second waits here, telling
    ``on_wait`` every half second, then finds the model the first one trained. The lock goes with the
    process (the kernel drops it when the descriptor closes, also on a crash), so it is never stale; the
    file itself stays (deleting it would let a third process lock a different file).
    """
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = True
                if on_wait:
                    on_wait(WAITING.format(lock=lock_file))
                time.sleep(0.5)
        try:
            yield waited
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def train(
    settings: Settings, *, force: bool = False, on_progress: Callable[[str], None] | None = None
) -> tuple[Path, bool]:
    """(model file, whether it was trained now). Rasa's output goes to ``<data_dir>/logs/rasa-train.log``.

    One training at a time per models dir (``training_lock``): a call that had to wait returns the model
    the other one trained — with ``force`` too, when that model was written while it waited. Rasa trains
    into a folder of its own and the model is renamed into place (same filesystem: atomic), so a reader
    never sees half a model."""
    target = model_path(settings)
    if target.exists() and not force:
        return target, False
    exe = rasa_executable(settings)
    folder = models_dir(settings)
    before = _mtime(target)
    with training_lock(folder / ".train.lock", on_progress) as waited:
        if target.exists() and (not force or (waited and _mtime(target) != before)):
            return target, False
        for stale in folder.glob(".training-*"):  # left by a killed training: only the lock holder trains
            shutil.rmtree(stale, ignore_errors=True)
        return _train(settings, exe, target, on_progress), True


def _train(settings: Settings, exe: Path, target: Path, on_progress: Callable[[str], None] | None) -> Path:
    log_file = settings.data_dir / "logs" / "rasa-train.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    stem = target.name.removesuffix(".tar.gz")
    work = Path(tempfile.mkdtemp(prefix=f".training-{stem}-", dir=target.parent))
    argv = [
        str(exe), "train", "--config", str(CONFIG_FILE), "--domain", str(settings.bot_dir / "domain.yml"),
        "--data", str(settings.bot_dir / "data"), "--out", str(work), "--fixed-model-name", stem,
    ]  # fmt: skip
    try:
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
                raise
        produced = work / target.name
        if proc.returncode != 0 or not produced.exists():
            raise BotTrainingFailed(
                f"rasa train failed (exit code {proc.returncode}); log: {log_file}", log_file
            )
        produced.replace(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
