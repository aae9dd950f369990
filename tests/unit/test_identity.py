"""Identity rules in the layer: lock-out, one-time codes, users and organisations, bootstrap."""

import re
from datetime import timedelta
from typing import Any

import pytest

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas
from tests.conftest import ADMIN_LOGIN, ADMIN_PASSWORD
from wallet import aws, clock, identity, logins
from wallet.auth import Caller
from wallet.config import settings
from wallet.errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound, TooManyAttempts, Unauthenticated
from wallet.models.identity_api import (
    NewUser,
    OrganizationListRequest,
    UserListRequest,
)
from wallet.models.logins_api import RegistrationConfirmation, RegistrationRequest
from wallet.models.roles import OrganizationType, Role

ADMIN = Caller("x", ADMIN_LOGIN, identity.SYSTEM_ORGANIZATION_ID, OrganizationType.SYSTEM, Role.ADMINISTRATOR)


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Moves the platform's clock forward."""

    def move(by: timedelta) -> None:
        moved = clock.now() + by
        monkeypatch.setattr(clock, "now", lambda: moved)

    return move


def _register(login: str, outbox: object, role: str = "individual", **extra: str) -> str:
    logins.request_registration(RegistrationRequest.model_validate({"login": login, "role": role, **extra}))
    body = outbox.records(login)[-1]["body"]  # type: ignore[attr-defined]
    code = re.search(r"\b(\d{6})\b", body)
    assert code
    return code.group(1)


def _confirm(login: str, otp: str, password: str = "Fresh#2026") -> object:
    return logins.confirm_registration(RegistrationConfirmation(login=login, otp=otp, password=password))


def test_wrong_password_and_unknown_login_fail_alike(lambdas: LocalLambdas) -> None:
    with pytest.raises(Unauthenticated) as wrong_password:
        logins.log_in(ADMIN_LOGIN, "Wrong#Pass1")
    with pytest.raises(Unauthenticated) as unknown_login:
        logins.log_in("nobody@example.com", ADMIN_PASSWORD)
    assert wrong_password.value.body() == unknown_login.value.body()


def test_five_failures_in_a_row_lock_the_login_for_fifteen_minutes(lambdas: LocalLambdas, later) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            logins.log_in(ADMIN_LOGIN, "Wrong#Pass1")
    with pytest.raises(TooManyAttempts) as locked:
        logins.log_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    assert 14 * 60 < locked.value.retry_after_seconds <= 15 * 60
    later(timedelta(minutes=15, seconds=1))
    assert logins.log_in(ADMIN_LOGIN, ADMIN_PASSWORD).members[0].role is Role.ADMINISTRATOR


def test_a_success_resets_the_run_of_failures(lambdas: LocalLambdas) -> None:
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            logins.log_in(ADMIN_LOGIN, "Wrong#Pass1")
    logins.log_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            logins.log_in(ADMIN_LOGIN, "Wrong#Pass1")
    logins.log_in(ADMIN_LOGIN, ADMIN_PASSWORD)


def test_unknown_logins_lock_too_so_locking_reveals_nothing(lambdas: LocalLambdas) -> None:
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            logins.log_in("ghost@example.com", "Wrong#Pass1")
    with pytest.raises(TooManyAttempts):
        logins.log_in("ghost@example.com", "Wrong#Pass1")


def test_registration_code_is_six_digits_and_stored_only_as_a_digest(
    lambdas: LocalLambdas, embedded_aws: EmbeddedAws
) -> None:
    code = _register("dana@example.com", embedded_aws.outbox)
    assert re.fullmatch(r"\d{6}", code)
    stored = aws.dynamodb().scan(TableName=settings().users_table)["Items"]
    codes = [item for item in stored if item["pk"] == "REGISTRATION#dana@example.com"]
    assert len(codes) == 1
    assert code not in str(codes)


def test_confirmation_creates_user_and_organization_once(lambdas: LocalLambdas, embedded_aws: EmbeddedAws) -> None:
    code = _register("erin@example.com", embedded_aws.outbox, role="merchant", legalType="corporation", name="Erin Ltd")
    registered = _confirm("erin@example.com", code)
    organization = identity.identity_store.get_organization(registered.organization.id)  # type: ignore[attr-defined]
    assert organization is not None
    assert (organization.type, organization.name) == (OrganizationType.MERCHANT, "Erin Ltd")
    with pytest.raises(InvalidInput, match="expired"):
        _confirm("erin@example.com", code)
    assert logins.log_in("erin@example.com", "Fresh#2026").members[0].role is Role.MERCHANT


def test_a_wrong_code_counts_and_five_use_it_up(lambdas: LocalLambdas, embedded_aws: EmbeddedAws) -> None:
    code = _register("finn@example.com", embedded_aws.outbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        with pytest.raises(InvalidInput) as failure:
            _confirm("finn@example.com", wrong)
        assert failure.value.code == "INVALID_OTP"
    with pytest.raises(InvalidInput) as exhausted:
        _confirm("finn@example.com", code)
    assert exhausted.value.code == "INVALID_OTP"
    _confirm("finn@example.com", _register("finn@example.com", embedded_aws.outbox))


def test_a_wrong_guess_is_counted_on_consistent_reads(lambdas: LocalLambdas, embedded_aws: EmbeddedAws) -> None:
    """The count gates the guess limit: a code written a moment ago must be found and counted."""
    code = _register("gail@example.com", embedded_aws.outbox)
    queries: list[dict[str, Any]] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        queries.append(params)

    client_events = aws.dynamodb().meta.events
    client_events.register("before-parameter-build.dynamodb.Query", seen)
    try:
        with pytest.raises(InvalidInput):
            _confirm("gail@example.com", f"{(int(code) + 1) % 10**6:06d}")
    finally:
        client_events.unregister("before-parameter-build.dynamodb.Query", seen)
    base_table = [query for query in queries if "IndexName" not in query]
    assert base_table
    assert all(query.get("ConsistentRead") for query in base_table)


def test_codes_expire_after_ten_minutes(lambdas: LocalLambdas, embedded_aws: EmbeddedAws, later) -> None:  # type: ignore[no-untyped-def]
    code = _register("gail@example.com", embedded_aws.outbox)
    later(timedelta(minutes=10, seconds=1))
    with pytest.raises(InvalidInput, match="expired"):
        _confirm("gail@example.com", code)


def test_registering_a_taken_login_sends_a_notice_not_a_code(lambdas: LocalLambdas, embedded_aws: EmbeddedAws) -> None:
    logins.request_registration(RegistrationRequest(login=ADMIN_LOGIN, role=Role.INDIVIDUAL))
    [notice] = embedded_aws.outbox.records(ADMIN_LOGIN)
    assert "already exists" in notice["body"]
    assert not re.search(r"\b\d{6}\b", notice["body"])


@pytest.mark.parametrize(
    ("request_body", "field"),
    [({"role": "merchant"}, "legalType"), ({"role": "administrator"}, "role"), ({"role": "service"}, "role")],
)
def test_registration_needs_a_customer_profile(lambdas: LocalLambdas, request_body: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as failure:
        logins.request_registration(RegistrationRequest.model_validate({"login": "h@example.com", **request_body}))
    assert failure.value.details[0]["field"] == field


def _service_user(organization_id: str | None) -> NewUser:
    return NewUser(login="svc@example.com", password="Service#1", role=Role.SERVICE, organization_id=organization_id)


def test_service_users_belong_to_a_system_organization(lambdas: LocalLambdas) -> None:
    with pytest.raises(InvalidInput):
        identity.create_user(_service_user(None), ADMIN)
    with pytest.raises(NotFound):
        identity.create_user(_service_user("no-such-org"), ADMIN)
    customer = identity.create_user(
        NewUser(login="ivy@example.com", password="Ivy#2026x", role=Role.INDIVIDUAL, name="Ivy"), ADMIN
    )
    with pytest.raises(BusinessRuleViolation):
        identity.create_user(_service_user(customer.members[0].organization.id), ADMIN)
    created = identity.create_user(_service_user(identity.SYSTEM_ORGANIZATION_ID), ADMIN)
    assert created.members[0].organization.type is OrganizationType.SYSTEM


def test_a_login_is_taken_once(lambdas: LocalLambdas) -> None:
    with pytest.raises(Conflict):
        identity.create_user(NewUser(login=ADMIN_LOGIN, password="Other#2026", role=Role.INDIVIDUAL), ADMIN)


def test_bootstrap_twice_changes_nothing(lambdas: LocalLambdas) -> None:
    identity.bootstrap(ADMIN_LOGIN, "Another#Pass1")
    page = identity.list_users(UserListRequest.model_validate({"filter": {"role": "administrator"}}))
    assert [user.login for user in page.records] == [ADMIN_LOGIN]
    organizations = identity.list_organizations(
        ADMIN,
        OrganizationListRequest(),
    )
    assert [organization.type for organization in organizations.records] == [OrganizationType.SYSTEM]
    logins.log_in(ADMIN_LOGIN, ADMIN_PASSWORD)


def test_users_are_found_by_login_role_and_organization(lambdas: LocalLambdas) -> None:
    ivy = identity.create_user(NewUser(login="ivy@example.com", password="Ivy#2026x", role=Role.INDIVIDUAL), ADMIN)
    jon = identity.create_user(NewUser(login="jon@example.com", password="Jon#2026x", role=Role.INDIVIDUAL), ADMIN)

    def logins(**wanted: object) -> list[str]:
        page = identity.list_users(UserListRequest.model_validate({"filter": wanted}))
        return sorted(user.login for user in page.records)

    assert logins(login="IVY@example.com") == ["ivy@example.com"]
    assert logins(login="ivy@example.com", role="merchant") == []
    assert logins(role="individual") == ["ivy@example.com", "jon@example.com"]
    assert logins(organizationId=jon.members[0].organization.id) == ["jon@example.com"]
    assert logins(organizationId=jon.members[0].organization.id, role="service") == []
    assert logins() == sorted([ADMIN_LOGIN, "ivy@example.com", "jon@example.com"])
    assert ivy.id != jon.id


def test_a_forged_page_token_is_bad_input(lambdas: LocalLambdas) -> None:
    with pytest.raises(InvalidInput) as failure:
        identity.list_users(UserListRequest.model_validate({"pageToken": "eyJwayI6ICJMT0dJTiNhZG1pbiJ9"}))
    assert failure.value.details[0]["field"] == "pageToken"
