"""Security headers on the real app, CORS only for the widget's API, and no default secrets outside
development (the app refuses to start, naming the variable)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from taxbot.app import create_app
from taxbot.errors import ConfigError
from taxbot.services import Services

WIDGET_SITE = "https://www.example.gov.cn"
STRONG = "k3Q9vX2mL8pR4tY7wZ1aB6cD0eF5gH3j"  # 32 characters


def csp_of(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/staff/login"])
def test_pages_get_a_csp_that_runs_only_their_own_script_files(client, path):
    response = client.get(path)
    assert response.status_code == 200
    policy = csp_of(response)
    assert policy["script-src"] == "script-src 'self'" and policy["style-src"] == "style-src 'self'"
    assert policy["object-src"] == "object-src 'none'" and policy["base-uri"] == "base-uri 'self'"
    page = response.text
    # what the CSP would block is not there: every script is a same-origin file, no <style>, no handlers
    assert all(tag.count("src=") == 1 for tag in re.findall(r"<script\b[^>]*>", page))
    assert not re.search(r"<style\b|\son[a-z]+=", page)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_the_staff_console_cannot_be_framed(client):
    response = client.get("/staff/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert csp_of(response)["frame-ancestors"] == "frame-ancestors 'none'"
    assert response.headers["referrer-policy"] == "same-origin"


def test_public_pages_may_be_framed_only_by_the_site_itself(client):
    response = client.get("/")
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert csp_of(response)["frame-ancestors"] == "frame-ancestors 'self'"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", ["/", "/healthz", "/widget.js", "/api/regions", "/staff/login", "/missing"])
def test_every_response_is_nosniff_and_without_hsts_by_default(client, path):
    response = client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers


def test_hsts_when_configured_behind_tls(settings, tiny_retriever):
    settings = settings.model_copy(update={"hsts_seconds": 31536000})
    with TestClient(create_app(settings, Services(settings=settings, retriever=tiny_retriever))) as client:
        hsts = client.get("/healthz").headers["strict-transport-security"]
    assert hsts == "max-age=31536000; includeSubDomains"


def test_the_api_docs_keep_working_without_the_page_csp(client):
    response = client.get("/docs")
    assert response.status_code == 200 and "content-security-policy" not in response.headers


@pytest.mark.parametrize("path", ["/api/chat", "/api/regions", "/api/chat/web-1/messages"])
def test_the_widget_api_is_open_to_any_origin_without_credentials(client, path):
    preflight = client.options(path, headers={"Origin": WIDGET_SITE, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers


@pytest.mark.parametrize("path", ["/api/staff/me", "/api/staff/search", "/staff/login", "/metrics"])
def test_the_staff_api_and_the_rest_are_not_cors_open(client, path):
    preflight = client.options(
        path,
        headers={"Origin": WIDGET_SITE, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "Authorization"},
    )  # fmt: skip
    assert "access-control-allow-origin" not in preflight.headers
    response = client.get(path, headers={"Origin": WIDGET_SITE})
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


# --- secrets outside development --------------------------------------------------------------------


@pytest.fixture
def production(monkeypatch) -> Iterator[pytest.MonkeyPatch]:
    """A production environment with every secret strong; tests weaken one at a time."""
    for name in ("TAXBOT_METRICS_TOKEN", "TAXBOT_WECHAT_TOKEN", "TAXBOT_WECHAT_APP_SECRET",
                 "TAXBOT_WECHAT_ENCODING_AES_KEY", "TAXBOT_SMS_CALLBACK_TOKEN", "TAXBOT_SMS_SECRET_KEY",
                 "TAXBOT_SMS_TWILIO_AUTH_TOKEN"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TAXBOT_STAFF_ENVIRONMENT", "production")
    monkeypatch.setenv("TAXBOT_STAFF_SECRET_KEY", STRONG)
    yield monkeypatch


def build(settings, tiny_retriever):
    return create_app(settings, Services(settings=settings, retriever=tiny_retriever))


def test_production_starts_with_strong_secrets_and_unset_channels(production, settings, tiny_retriever):
    production.setenv("TAXBOT_WECHAT_ENCODING_AES_KEY", "a" * 43)
    settings = settings.model_copy(update={"metrics_token": SecretStr(STRONG)})
    with TestClient(build(settings, tiny_retriever)) as client:
        assert client.get("/metrics").status_code == 401  # the token is required


def test_production_refuses_an_open_metrics_endpoint(production, settings, tiny_retriever):
    with pytest.raises(ConfigError, match="TAXBOT_METRICS_TOKEN"):
        build(settings, tiny_retriever)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TAXBOT_SMS_CALLBACK_TOKEN", "token"),
        ("TAXBOT_SMS_CALLBACK_TOKEN", "short-123"),
        ("TAXBOT_SMS_SECRET_KEY", "change-me-please-now"),
        ("TAXBOT_SMS_TWILIO_AUTH_TOKEN", "secret"),
        ("TAXBOT_WECHAT_TOKEN", "weixin"),
        ("TAXBOT_WECHAT_APP_SECRET", "changeme"),
        ("TAXBOT_WECHAT_ENCODING_AES_KEY", "too-short-aes-key"),
    ],
)
def test_production_refuses_a_weak_channel_secret_naming_it(
    production, settings, tiny_retriever, variable, value
):
    production.setenv(variable, value)
    settings = settings.model_copy(update={"metrics_token": SecretStr(STRONG)})
    with pytest.raises(ConfigError, match=variable) as refused:
        build(settings, tiny_retriever)
    assert value not in str(refused.value)  # the message names the variable, never its value


def test_production_refuses_the_default_staff_secret(production, settings, tiny_retriever):
    production.delenv("TAXBOT_STAFF_SECRET_KEY")
    with pytest.raises(ValidationError, match="TAXBOT_STAFF_SECRET_KEY"):
        build(settings, tiny_retriever)


def test_development_accepts_the_defaults(monkeypatch, settings, tiny_retriever):
    monkeypatch.setenv("TAXBOT_STAFF_ENVIRONMENT", "development")
    monkeypatch.setenv("TAXBOT_SMS_CALLBACK_TOKEN", "token")
    with TestClient(build(settings, tiny_retriever)) as client:
        assert client.get("/metrics").status_code == 200
