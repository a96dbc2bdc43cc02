"""Settings: what the environment says, and what follows from it when it says nothing."""

from __future__ import annotations

import pytest

from bot.settings import Settings


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for name in ("PUBLIC_BASE_URL", "HTTP_HOST", "HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("no-dotenv"))  # no .env of the developer's


def test_the_public_base_url_follows_the_web_server_when_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PORT", "18190")

    assert Settings().public_base_url == "http://127.0.0.1:18190"
    assert Settings(http_host="shop.local").public_base_url == "http://shop.local:18190"
    assert Settings(http_host="::1", http_port=9000).public_base_url == "http://[::1]:9000"
    assert Settings(public_base_url="").public_base_url == "http://127.0.0.1:18190"


def test_a_public_base_url_that_is_set_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "18190")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://shop.example.com")

    assert Settings().public_base_url == "https://shop.example.com"


def test_by_default_the_shop_is_reached_where_it_listens() -> None:
    settings = Settings()

    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.public_base_url == "http://127.0.0.1:8080"
