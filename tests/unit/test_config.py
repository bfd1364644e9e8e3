"""Settings from the function's environment: typed and bounded by pydantic, read once per cold start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from prakerja.config import Settings, get_settings


def test_values_come_from_the_environment_typed() -> None:
    settings = Settings.model_validate(
        {
            "TABLE_NAME": "prakerja-prod",
            "TOKEN_TTL_S": "600",
            "REGISTRY_TIMEOUT_S": "2.5",
            "PASSWORD_SCRYPT_N": "16384",
            "NIK_MAX_DEFERRALS": "0",
            "UNRELATED": "ignored",
        }
    )
    assert settings.table_name == "prakerja-prod"
    assert settings.token_ttl_s == 600 and isinstance(settings.token_ttl_s, int)
    assert settings.registry_timeout_s == 2.5
    assert settings.scrypt_n == 16384
    assert settings.nik_max_deferrals == 0
    assert settings.registry_api_key is None and settings.stage == "local"  # defaults


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOKEN_TTL_S", "59"),
        ("TOKEN_TTL_S", "1h"),
        ("REGISTRY_TIMEOUT_S", "0"),
        ("REGISTRY_MAX_RPS", "0"),
        ("PASSWORD_SCRYPT_N", "512"),
    ],
)
def test_a_bad_value_fails_at_cold_start_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({variable: value})
    assert [error["loc"] for error in caught.value.errors()] == [(variable,)]


def test_require_names_a_missing_setting() -> None:
    with pytest.raises(RuntimeError, match="missing required configuration: TABLE_NAME"):
        Settings.model_validate({}).require("table_name")
    assert Settings.model_validate({"TABLE_NAME": "t"}).require("table_name") == "t"


def test_the_environment_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("TABLE_NAME", "first")
    try:
        assert get_settings().table_name == "first"
        monkeypatch.setenv("TABLE_NAME", "second")
        assert get_settings().table_name == "first"
    finally:
        get_settings.cache_clear()
