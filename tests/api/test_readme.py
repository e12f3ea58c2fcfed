"""The README's configuration table lists every setting, and it starts with the two commands."""

from channels.config import SmsSettings, WeChatSettings
from taxbot.settings import Settings
from taxbot.staff.config import StaffSettings
from tests.conftest import REPO_ROOT


def test_readme_starts_with_make_run_and_make_test():
    lines = REPO_ROOT.joinpath("README.md").read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["make run", "make test"]


def test_every_setting_is_documented():
    readme = REPO_ROOT.joinpath("README.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`TAXBOT_{name.upper()}`" not in readme]
    assert not missing, f"README.md configuration table lacks {missing}"


def test_every_channel_setting_is_documented():
    readme = REPO_ROOT.joinpath("README.md").read_text(encoding="utf-8")
    missing = [
        f"{prefix}{name.upper()}"
        for cls in (WeChatSettings, SmsSettings, StaffSettings)
        for prefix in [cls.model_config["env_prefix"]]
        for name in cls.model_fields
        if f"{prefix}{name.upper()}" not in readme
    ]
    assert not missing, f"README.md configuration table lacks {missing}"
