"""The deployment settings refuse, naming the variable, what a function could not run with."""

from collections.abc import Iterator
from dataclasses import MISSING, fields
from decimal import Decimal

import pytest

from wallet import config


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Every required variable set, every optional one unset; the settings read afresh before and after."""
    for setting in fields(config.Settings):
        variable = setting.metadata["variable"]
        if setting.default is MISSING:
            monkeypatch.setenv(variable, f"{variable.lower()}-value")
        else:
            monkeypatch.delenv(variable, raising=False)
    config.settings.cache_clear()
    yield monkeypatch
    config.settings.cache_clear()


def test_unset_optional_variables_take_their_defaults(environment: pytest.MonkeyPatch) -> None:
    settings = config.settings()
    assert settings.users_table == "users_table-value"
    assert (settings.stage, settings.system_account_shards, settings.token_ttl_minutes) == ("dev", 16, 15)
    assert settings.card_provider_limit == Decimal(5_000)


def test_numbers_are_read_as_their_types(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CARD_PROVIDER_LIMIT", "250.50")
    environment.setenv("SYSTEM_ACCOUNT_SHARDS", "100")
    assert config.settings().card_provider_limit == Decimal("250.50")
    assert config.settings().system_account_shards == 100


def test_a_missing_required_variable_is_named(environment: pytest.MonkeyPatch) -> None:
    environment.delenv("SENDER_EMAIL")
    with pytest.raises(ValueError, match=r"^SENDER_EMAIL is not set$"):
        config.settings()


@pytest.mark.parametrize(
    ("variable", "raw", "complaint"),
    [
        ("SYSTEM_ACCOUNT_SHARDS", "0", "a finite number at least 1 and at most 100, not '0'"),
        ("SYSTEM_ACCOUNT_SHARDS", "101", "a finite number at least 1 and at most 100, not '101'"),
        ("TOKEN_TTL_MINUTES", "0", "a finite number at least 1, not '0'"),
        ("CARD_PROVIDER_LIMIT", "Infinity", "a finite number, not 'Infinity'"),
        ("TOKEN_TTL_MINUTES", "soon", "a number, not 'soon'"),
    ],
)
def test_a_number_out_of_its_range_is_refused_naming_its_variable(
    environment: pytest.MonkeyPatch, variable: str, raw: str, complaint: str
) -> None:
    environment.setenv(variable, raw)
    with pytest.raises(ValueError, match=f"^{variable} must be {complaint}$"):
        config.settings()
