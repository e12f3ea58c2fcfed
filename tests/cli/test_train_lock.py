"""Two `taxbot train-bot` at once train the model once: the second waits for the first's lock, then finds
the model. Rasa is a small script in a fake ``TAXBOT_RASA_VENV`` that writes a model file after a pause
(training a real model takes minutes); everything else — the CLI, the lock, the rename — is real."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from taxbot import bot_model
from taxbot.settings import Settings
from tests.conftest import REPO_ROOT

# writes --out/<--fixed-model-name>.tar.gz after a pause, recording each run; FAKE_RASA_FAIL=1: fails
FAKE_RASA = """\
#!{python}
import os, sys, time
args = sys.argv[1:]
out, name = args[args.index("--out") + 1], args[args.index("--fixed-model-name") + 1]
with open(os.environ["FAKE_RASA_RUNS"], "a") as runs:
    runs.write(out + "\\n")
print("Epochs: 50%", flush=True)
time.sleep(float(os.environ.get("FAKE_RASA_SECONDS", "2")))
if os.environ.get("FAKE_RASA_FAIL"):
    sys.exit(3)
with open(os.path.join(out, name + ".tar.gz"), "w") as model:
    model.write("model")
"""


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> dict[str, str]:
    """Environment of a workspace whose Rasa is the fake script and whose bot/ is a tiny one."""
    venv_bin = tmp_path / "venv-rasa" / "bin"
    venv_bin.mkdir(parents=True)
    rasa = venv_bin / "rasa"
    rasa.write_text(FAKE_RASA.format(python=sys.executable))
    rasa.chmod(0o755)
    bot = tmp_path / "bot"
    (bot / "data").mkdir(parents=True)
    (bot / "domain.yml").write_text('version: "3.1"\nintents: [greet]\n', encoding="utf-8")
    env = {
        "TAXBOT_RASA_VENV": str(tmp_path / "venv-rasa"), "TAXBOT_BOT_DIR": str(bot),
        "TAXBOT_MODELS_DIR": str(tmp_path / "models"), "TAXBOT_DATA_DIR": str(tmp_path / "var"),
        "FAKE_RASA_RUNS": str(tmp_path / "runs.txt"),
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def runs(workspace: dict[str, str]) -> list[str]:
    path = Path(workspace["FAKE_RASA_RUNS"])
    return path.read_text().splitlines() if path.exists() else []


def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]  # the workspace's TAXBOT_* environment


def test_two_concurrent_train_bot_commands_train_once(workspace):
    assert bot_model.rasa_executable(settings()) == Path(workspace["TAXBOT_RASA_VENV"]) / "bin" / "rasa"
    env = {k: v for k, v in os.environ.items() if k != "TAXBOT_EMBEDDING_MODEL"}
    command = [sys.executable, "-m", "taxbot.cli", "train-bot"]
    procs = [
        subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120)[0].decode() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    target = bot_model.model_path(settings())
    assert target.read_text() == "model"
    assert len(runs(workspace)) == 1  # one training; the other command found its model
    assert sorted("Trained the Rasa model" in out for out in outputs) == [False, True], outputs
    assert any("Rasa model up to date" in out for out in outputs), outputs
    assert not list(target.parent.glob(".training-*"))  # the work folder is gone


def test_the_second_caller_says_it_is_waiting_then_finds_the_model(workspace):
    messages: list[str] = []
    results: list[tuple[Path, bool]] = []
    first = threading.Thread(target=lambda: results.append(bot_model.train(settings())))
    first.start()
    try:
        while not runs(workspace):  # the first one is training (it holds the lock)
            threading.Event().wait(0.05)
        results.append(bot_model.train(settings(), on_progress=messages.append))
    finally:
        first.join(timeout=60)
    target = bot_model.model_path(settings())
    assert sorted(results, key=lambda r: r[1]) == [(target, False), (target, True)]
    assert messages and all(m.startswith("waiting for another training") for m in messages)
    assert len(runs(workspace)) == 1


def test_force_after_waiting_takes_the_model_just_trained(workspace):
    results: list[tuple[Path, bool]] = []
    first = threading.Thread(target=lambda: results.append(bot_model.train(settings(), force=True)))
    first.start()
    while not runs(workspace):
        threading.Event().wait(0.05)
    results.append(bot_model.train(settings(), force=True))
    first.join(timeout=60)
    assert [trained for _, trained in results] == [True, False]
    assert len(runs(workspace)) == 1
    assert bot_model.train(settings(), force=True)[1] is True  # nobody else training: --force retrains
    assert len(runs(workspace)) == 2


def test_a_failed_training_leaves_no_model_and_no_work_folder_and_frees_the_lock(workspace, monkeypatch):
    monkeypatch.setenv("FAKE_RASA_FAIL", "1")
    monkeypatch.setenv("FAKE_RASA_SECONDS", "0")
    with pytest.raises(bot_model.BotTrainingFailed, match="exit code 3"):
        bot_model.train(settings())
    target = bot_model.model_path(settings())
    assert not target.exists() and not list(target.parent.glob(".training-*"))
    monkeypatch.delenv("FAKE_RASA_FAIL")
    assert bot_model.train(settings()) == (target, True)  # the lock was released


def test_a_work_folder_left_by_a_killed_training_is_cleaned_up(workspace):
    folder = bot_model.models_dir(settings())
    stale = folder / ".training-0123456789abcdef"
    stale.mkdir(parents=True)
    (stale / "half-a-model").write_text("x")
    assert bot_model.train(settings())[1] is True
    assert not stale.exists()


def test_the_lock_is_exclusive_and_released(tmp_path):
    lock = tmp_path / "models" / ".train.lock"
    waits: list[str] = []
    with bot_model.training_lock(lock) as waited:
        assert waited is False
        holder = threading.Thread(target=lambda: _take(lock, waits))
        holder.start()
        holder.join(timeout=1.2)
        assert holder.is_alive() and waits  # still waiting, and saying so
    holder.join(timeout=5)
    assert not holder.is_alive()


def _take(lock: Path, waits: list[str]) -> None:
    with bot_model.training_lock(lock, waits.append) as waited:
        assert waited is True
