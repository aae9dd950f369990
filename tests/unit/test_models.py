"""Input rules shared by every route: logins, passwords, enumerations."""

import pytest
from pydantic import ValidationError

from wallet.models.identity import check_password_policy, normalise_login
from wallet.models.identity_api import NewUser
from wallet.models.logins_api import RegistrationRequest
from wallet.models.roles import Role


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        (" bob@example.org ", "bob@example.org"),
        ("+4915112345678", "+4915112345678"),
    ],
)
def test_logins_are_emails_or_e164_phones(raw: str, normalised: str) -> None:
    assert normalise_login(raw) == normalised


@pytest.mark.parametrize("raw", ["alice", "alice@", "@example.com", "015112345678", "+0123456789", "a b@example.com"])
def test_other_logins_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="e-mail address or a phone number"):
        normalise_login(raw)


@pytest.mark.parametrize(
    ("password", "complaint"),
    [
        ("Sh#rt1a", "8 to 128"),
        ("lowercase#1", "upper-case"),
        ("UPPERCASE#1", "lower-case"),
        ("NoDigits#here", "digit"),
        ("NoSpecial1here", "one of"),
        ("Under_score1", "one of"),
    ],
)
def test_password_policy_names_what_is_missing(password: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        check_password_policy(password)


@pytest.mark.parametrize(
    "password", ["Abcdef#1", "Zz9$Zz9$", "Secret!2026", "Pa55&word", "Xx1%xxxx", "Xx1*xxxx", "Xx1@xxxx"]
)
def test_passwords_meeting_the_policy_are_accepted(password: str) -> None:
    assert check_password_policy(password) == password


def test_enumerations_accept_any_case_and_answer_upper_case() -> None:
    request = RegistrationRequest.model_validate({"login": "a@b.co", "role": "Merchant", "legalType": "corporation"})
    assert request.role is Role.MERCHANT
    assert request.model_dump(by_alias=True, mode="json")["legalType"] == "CORPORATION"


def test_unknown_enumeration_values_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError) as failure:
        NewUser.model_validate({"login": "a@b.co", "password": "Abcdef#1", "role": "superuser"})
    assert failure.value.errors()[0]["loc"] == ("role",)
