"""Identity, more: limits that hold under concurrent attempts, codes bound to their registration, password
recovery and change, disabling users, token revocation, masked names. Races take turns at every DynamoDB
call (the serialised-call harness), in orders seeds choose."""

import re
from typing import Any

import pytest

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas
from tests.conftest import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.unit.dynamodb_harness import Interleaving, seeded
from wallet import auth, identity, identity_store, logins, passwords
from wallet.auth import Caller, caller_from_authorization_header
from wallet.errors import InvalidInput, TooManyAttempts, Unauthenticated
from wallet.models.identity import public_name
from wallet.models.identity_api import NewUser
from wallet.models.logins_api import RegistrationConfirmation, RegistrationRequest
from wallet.models.roles import OrganizationType, Role

ADMIN = Caller("admin", ADMIN_LOGIN, identity.SYSTEM_ORGANIZATION_ID, OrganizationType.SYSTEM, Role.ADMINISTRATOR)


def _code_in(outbox: Any, login: str, message: int = -1) -> str:
    found = re.search(r"\b(\d{6})\b", outbox.records(login)[message]["body"])
    assert found
    return found.group(1)


def _token(login: str, password: str) -> str:
    return logins.log_in(login, password).authorization_token.token


def _customer(login: str = "cara@example.com", password: str = "Cara#2026") -> str:
    identity.create_user(NewUser.model_validate({"login": login, "password": password, "role": "individual"}), ADMIN)
    return _token(login, password)


@pytest.mark.parametrize("seed", range(3))
def test_twenty_wrong_passwords_at_once_get_five_verifications_then_the_right_one_is_locked(
    lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    verified: list[str] = []
    real = passwords.password_matches

    def counting(password_hash: str | None, password: str) -> bool:
        verified.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "password_matches", counting)
    attempts = {f"wrong-{n}": (lambda: logins.log_in(ADMIN_LOGIN, "Wrong#Pass1")) for n in range(20)}
    outcomes = Interleaving(seeded(seed)).run(attempts)
    errors = [type(outcome.error) for outcome in outcomes.values()]
    assert errors.count(Unauthenticated) == 5
    assert errors.count(TooManyAttempts) == 15
    assert len(verified) == 5
    with pytest.raises(TooManyAttempts) as locked:
        logins.log_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    assert 0 < locked.value.retry_after_seconds <= 15 * 60
    assert len(verified) == 5


@pytest.mark.parametrize("login", ["new@example.com", ADMIN_LOGIN])
def test_three_codes_per_login_per_hour_however_many_ask_at_once(
    lambdas: LocalLambdas, embedded_aws: EmbeddedAws, login: str
) -> None:
    request = RegistrationRequest.model_validate({"login": login, "role": "individual"})
    outcomes = Interleaving(seeded(7)).run(
        {f"ask-{n}": (lambda: logins.request_registration(request)) for n in range(8)}
    )
    refused = [outcome.error for outcome in outcomes.values() if outcome.error]
    assert len(refused) == 5
    assert all(isinstance(error, TooManyAttempts) and 0 < error.retry_after_seconds <= 3600 for error in refused)
    assert len(embedded_aws.outbox.records(login)) == 3


def test_each_code_confirms_what_it_was_sent_for(lambdas: LocalLambdas, embedded_aws: EmbeddedAws) -> None:
    victim = {"login": "vic@example.com", "role": "individual", "name": "Victoria"}
    logins.request_registration(RegistrationRequest.model_validate(victim))
    code = _code_in(embedded_aws.outbox, "vic@example.com")
    assert "individual account named Victoria" in embedded_aws.outbox.records("vic@example.com")[-1]["body"]
    attacker = {**victim, "role": "merchant", "legalType": "corporation", "name": "Attacker Corp"}
    logins.request_registration(RegistrationRequest.model_validate(attacker))
    registered = logins.confirm_registration(
        RegistrationConfirmation(login="vic@example.com", otp=code, password="Vict#2026")
    )
    organization = identity_store.get_organization(registered.organization.id)
    assert organization is not None
    assert (organization.type, organization.name) == (OrganizationType.INDIVIDUAL, "Victoria")


@pytest.mark.parametrize("seed", range(2))
def test_ten_guesses_per_login_per_day_however_many_arrive_at_once(
    lambdas: LocalLambdas, embedded_aws: EmbeddedAws, seed: int
) -> None:
    logins.request_registration(RegistrationRequest.model_validate({"login": "gus@example.com", "role": "individual"}))
    code = _code_in(embedded_aws.outbox, "gus@example.com")
    wrong = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 16)]

    def guess(otp: str) -> Any:
        return lambda: logins.confirm_registration(
            RegistrationConfirmation(login="gus@example.com", otp=otp, password="Gues#2026")
        )

    outcomes = Interleaving(seeded(seed)).run({otp: guess(otp) for otp in wrong})
    errors = [type(outcome.error) for outcome in outcomes.values()]
    assert errors.count(InvalidInput) == 10
    assert errors.count(TooManyAttempts) == 5
    with pytest.raises(TooManyAttempts):
        guess(code)()


def test_a_code_allows_five_guesses(lambdas: LocalLambdas, embedded_aws: EmbeddedAws) -> None:
    logins.request_registration(RegistrationRequest.model_validate({"login": "fay@example.com", "role": "individual"}))
    code = _code_in(embedded_aws.outbox, "fay@example.com")
    confirmation = {"login": "fay@example.com", "password": "Fayy#2026"}
    for n in range(1, 6):
        with pytest.raises(InvalidInput):
            logins.confirm_registration(
                RegistrationConfirmation.model_validate({**confirmation, "otp": f"{(int(code) + n) % 10**6:06d}"})
            )
    with pytest.raises(InvalidInput):
        logins.confirm_registration(RegistrationConfirmation.model_validate({**confirmation, "otp": code}))


def test_password_recovery_ends_the_old_password_and_earlier_tokens(
    lambdas: LocalLambdas, embedded_aws: EmbeddedAws
) -> None:
    old_token = caller_from_authorization_header(f"Bearer {_customer()}")
    logins.request_recovery("cara@example.com")
    logins.request_recovery("nobody@example.com")
    assert embedded_aws.outbox.records("nobody@example.com") == []
    code = _code_in(embedded_aws.outbox, "cara@example.com")
    with pytest.raises(InvalidInput):
        logins.confirm_recovery("cara@example.com", f"{(int(code) + 1) % 10**6:06d}", "Newc#2026")
    logins.confirm_recovery("cara@example.com", code, "Newc#2026")
    with pytest.raises(Unauthenticated):
        logins.log_in("cara@example.com", "Cara#2026")
    new_token = caller_from_authorization_header(f"Bearer {_token('cara@example.com', 'Newc#2026')}")
    with pytest.raises(Unauthenticated):
        auth.require_current_token(old_token)
    auth.require_current_token(new_token)
    with pytest.raises(InvalidInput):  # the code was used
        logins.confirm_recovery("cara@example.com", code, "Other#2026")


def test_a_password_change_needs_the_current_one_and_ends_earlier_tokens(lambdas: LocalLambdas) -> None:
    caller = caller_from_authorization_header(f"Bearer {_customer()}")
    with pytest.raises(InvalidInput) as wrong:
        passwords.change_password(caller, "Wrong#2026", "Newc#2026")
    assert wrong.value.details[0]["field"] == "currentPassword"
    passwords.change_password(caller, "Cara#2026", "Newc#2026")
    with pytest.raises(Unauthenticated):
        auth.require_current_token(caller)
    auth.require_current_token(caller_from_authorization_header(f"Bearer {_token('cara@example.com', 'Newc#2026')}"))


def test_a_disabled_user_cannot_log_in_and_their_tokens_are_refused(lambdas: LocalLambdas) -> None:
    caller = caller_from_authorization_header(f"Bearer {_customer()}")
    assert passwords.set_disabled(ADMIN, caller.user_id, disabled=True).disabled
    with pytest.raises(Unauthenticated) as refused:
        logins.log_in("cara@example.com", "Cara#2026")
    with pytest.raises(Unauthenticated) as wrong:
        logins.log_in("cara@example.com", "Wrong#2026")
    assert refused.value.body() == wrong.value.body()
    with pytest.raises(Unauthenticated):
        auth.require_current_token(caller)
    assert not passwords.set_disabled(ADMIN, caller.user_id, disabled=False).disabled
    auth.require_current_token(caller_from_authorization_header(f"Bearer {_token('cara@example.com', 'Cara#2026')}"))
    with pytest.raises(Unauthenticated):  # a token from before the disabling stays ended
        auth.require_current_token(caller)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("alice@example.com", "a***@example.com"),
        ("+4915112345165", "+49********165"),
        ("Alice Doe", "Alice Doe"),
    ],
)
def test_owner_names_never_show_a_login(name: str, shown: str) -> None:
    assert public_name(name) == shown
