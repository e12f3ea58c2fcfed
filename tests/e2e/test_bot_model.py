"""The Rasa model's name is a fingerprint of what it is trained on."""

from __future__ import annotations

import shutil

from taxbot import bot_model
from taxbot.settings import Settings
from tests.conftest import REPO_ROOT


def settings_with_bot_copy(tmp_path) -> Settings:
    bot_dir = tmp_path / "bot"
    shutil.copytree(REPO_ROOT / "bot", bot_dir)
    return Settings(bot_dir=bot_dir, models_dir=tmp_path / "models", data_dir=tmp_path)


def test_inputs_are_bot_config_and_dictionary_but_not_test_stories(tmp_path):
    settings = settings_with_bot_copy(tmp_path)
    names = {p.name for p in bot_model.training_inputs(settings)}
    assert {"domain.yml", "config.yml", "tax_terms.txt", "policy.yml"} <= names
    assert "test_stories.yml" not in names


def test_fingerprint_changes_with_training_data_only(tmp_path):
    settings = settings_with_bot_copy(tmp_path)
    before = bot_model.fingerprint(settings)
    (settings.bot_dir / "tests" / "test_stories.yml").write_text("version: '3.1'\n", encoding="utf-8")
    assert bot_model.fingerprint(settings) == before
    nlu = settings.bot_dir / "data" / "nlu" / "chitchat.yml"
    nlu.write_text(nlu.read_text(encoding="utf-8") + "      - 您好呀\n", encoding="utf-8")
    after = bot_model.fingerprint(settings)
    assert after != before
    assert bot_model.model_path(settings) == tmp_path / "models" / "rasa" / f"{after}.tar.gz"


def test_an_existing_model_is_not_retrained(tmp_path):
    settings = settings_with_bot_copy(tmp_path)
    target = bot_model.model_path(settings)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"model")
    assert bot_model.train(settings) == (target, False)
