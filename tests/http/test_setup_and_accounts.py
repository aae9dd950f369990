"""Set-up, accounts and statements over HTTP, as an administrator and customers use them."""

import re
from decimal import Decimal

import pytest

from tests.conftest import Api
from wallet import ledger
from wallet.ledger import Leg, Posting, SystemAccount


@pytest.fixture
def euro_issuer(api: Api, admin_token: str) -> str:
    created = api.post(
        "/currencies", {"code": "eur", "name": "Euro", "fractionalDigits": 2, "symbol": "€"}, admin_token
    )
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "EUR"
    issuer = api.post("/issuers", {"currencyCode": "EUR", "name": "Wallet EUR"}, admin_token)
    assert issuer.status_code == 201, issuer.text
    assert issuer.json()["currencyCode"] == "EUR"
    return str(issuer.json()["id"])


def _customer(api: Api, admin_token: str, login: str, name: str) -> str:
    body = {"login": login, "password": "Cust#2026", "role": "individual", "name": name}
    assert api.post("/api/v1/users", body, admin_token).status_code == 201
    return api.token(login, "Cust#2026")


def test_a_currency_code_is_taken_once(api: Api, admin_token: str, euro_issuer: str) -> None:
    again = api.post("/currencies", {"code": "EUR", "name": "Euro again", "fractionalDigits": 2}, admin_token)
    assert (again.status_code, again.json()["code"]) == (409, "DUPLICATE_CURRENCY")
    listed = api.get("/currencies", admin_token).json()["records"]
    assert [(currency["code"], currency["fractionalDigits"]) for currency in listed] == [("EUR", 2)]


def test_an_issuer_needs_a_known_currency(api: Api, admin_token: str) -> None:
    answer = api.post("/issuers", {"currencyCode": "XYZ", "name": "Nobody"}, admin_token)
    assert answer.status_code == 404
    assert answer.json()["details"] == [{"field": "currencyCode", "issue": "not found"}]


def test_bic_and_swift_are_each_used_once(api: Api, admin_token: str) -> None:
    bank = {"name": "Example Bank", "bic": "deutdeff", "swift": "DEUTDEFFXXX", "country": "de"}
    created = api.post("/bank-catalog", bank, admin_token)
    assert created.status_code == 201, created.text
    assert created.json()["bankId"]
    assert created.json()["bic"] == "DEUTDEFF"
    same_bic = api.post("/bank-catalog", {**bank, "swift": "OTHRDEFFXXX"}, admin_token)
    assert same_bic.status_code == 409
    assert [detail["field"] for detail in same_bic.json()["details"]] == ["bic"]
    same_swift = api.post("/bank-catalog", {**bank, "bic": "OTHRDEFF"}, admin_token)
    assert [detail["field"] for detail in same_swift.json()["details"]] == ["swift"]
    assert len(api.get("/bank-catalog", admin_token).json()["records"]) == 1


def test_commission_rules_take_numbers_or_strings_and_answer_strings(
    api: Api, admin_token: str, euro_issuer: str
) -> None:
    rule = {"operationType": "transfer", "issuerId": euro_issuer, "percent": 1.5, "fixed": "0.10", "min": "0.20"}
    created = api.post("/commissions", rule, admin_token)
    assert created.status_code == 201, created.text
    assert {key: created.json()[key] for key in ("operationType", "percent", "fixed", "min")} == {
        "operationType": "TRANSFER",
        "percent": "1.5",
        "fixed": "0.10",
        "min": "0.20",
    }
    [listed] = api.get("/commissions", admin_token).json()["records"]
    assert listed["percent"] == "1.5"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/currencies", {"code": "E", "name": "E", "fractionalDigits": 2}, "code"),
        ("/currencies", {"code": "EUR", "name": "Euro", "fractionalDigits": 9}, "fractionalDigits"),
        ("/bank-catalog", {"name": "B", "bic": "NOPE", "swift": "DEUTDEFFXXX", "country": "DE"}, "bic"),
        ("/bank-catalog", {"name": "B", "bic": "DEUTDEFF", "swift": "DEUTDEFFXXX", "country": "Germany"}, "country"),
        ("/commissions", {"operationType": "GIFT", "issuerId": "i", "percent": 1, "fixed": 0}, "operationType"),
        ("/commissions", {"operationType": "TRANSFER", "issuerId": "i", "percent": 101, "fixed": 0}, "percent"),
        ("/commissions", {"operationType": "TRANSFER", "issuerId": "i", "percent": "lots", "fixed": 0}, "percent"),
        ("/commissions", {"operationType": "TRANSFER", "issuerId": "i", "percent": 1, "fixed": -1}, "fixed"),
        ("/coins/validate", {"coinSerial": "../etc"}, "coinSerial"),
        ("/transactions/view", {"filter": {}}, "filter.coinSerial"),
        ("/transactions/view", {"filter": {"coinSerial": "C-1", "from": "2026-13-45"}}, "filter.from"),
        ("/transactions/view", {"filter": {"coinSerial": "C-1", "to": "2026-02-30T10:00:00Z"}}, "filter.to"),
        ("/bank-top-ups/view", {"filter": {"from": "2026-13-45"}}, "filter.from"),
        ("/bank-withdrawals/view", {"filter": {"to": "yesterday"}}, "filter.to"),
        ("/audit/view", {"filter": {"from": "2026-13-45"}}, "filter.from"),
    ],
)
def test_set_up_input_is_checked_with_the_field_named(
    api: Api, admin_token: str, path: str, body: dict[str, object], field: str
) -> None:
    answer = api.post(path, body, admin_token)
    assert answer.status_code == 400, answer.text
    assert field in [detail["field"] for detail in answer.json()["details"]]


def test_min_above_max_is_refused(api: Api, admin_token: str, euro_issuer: str) -> None:
    rule = {"operationType": "TRANSFER", "issuerId": euro_issuer, "percent": 1, "fixed": 0, "min": 5, "max": 1}
    assert api.post("/commissions", rule, admin_token).status_code == 400


def test_list_paging_is_checked(api: Api, admin_token: str) -> None:
    answer = api.get("/currencies?pageSize=0", admin_token)
    assert answer.status_code == 400
    assert answer.json()["details"][0]["field"] == "pageSize"


def test_customers_open_list_and_validate_accounts(api: Api, admin_token: str, euro_issuer: str) -> None:
    alice = _customer(api, admin_token, "alice@example.com", "Alice")
    bob = _customer(api, admin_token, "bob@example.com", "Bob")
    opened = api.post("/coins", {"issuerId": euro_issuer, "name": "Main"}, alice)
    assert opened.status_code == 201, opened.text
    serial = opened.json()["coinSerial"]
    assert re.fullmatch(r"[0-9a-f]{32}", serial)
    [coin] = api.get("/coins", alice).json()["coins"]
    assert coin == {
        "coinSerial": serial,
        "name": "Main",
        "issuer": {"id": euro_issuer, "name": "Wallet EUR"},
        "currency": {"code": "EUR", "fractionalDigits": 2},
        "availableBalance": "0.00",
        "heldBalance": "0.00",
        "status": "ACTIVE",
        "createdAt": coin["createdAt"],
    }
    assert api.get("/coins", bob).json()["coins"] == []
    validated = api.post("/coins/validate", {"coinSerial": serial}, bob).json()
    assert validated == {"valid": True, "coinSerial": serial, "currency": {"code": "EUR"}, "owner": {"name": "Alice"}}
    assert api.post("/coins/validate", {"coinSerial": "0" * 32}, bob).status_code == 404
    assert api.post("/coins", {"issuerId": "no-such-issuer"}, alice).status_code == 404
    assert api.post("/coins", {"issuerId": euro_issuer}, admin_token).status_code == 403


def test_statements_are_the_owners_newest_first(api: Api, admin_token: str, euro_issuer: str) -> None:
    alice = _customer(api, admin_token, "alice@example.com", "Alice")
    bob = _customer(api, admin_token, "bob@example.com", "Bob")
    serial = api.post("/coins", {"issuerId": euro_issuer}, alice).json()["coinSerial"]
    for number, amount in enumerate(("10.00", "2.50")):
        process = f"credit-{number}"
        emission = ledger.system_account(euro_issuer, SystemAccount.EMISSION, ledger.shard_for(process))
        value = Decimal(amount)
        ledger.post(Posting(process, "BANK_TOP_UP", "EUR", (Leg(emission, -value), Leg(f"COIN#{serial}", value))))
    statement = api.post("/transactions/view", {"filter": {"coinSerial": serial}}, alice)
    assert statement.status_code == 200, statement.text
    assert [(entry["amount"], entry["balanceAfter"]) for entry in statement.json()["records"]] == [
        ("2.50", "12.50"),
        ("10.00", "10.00"),
    ]
    first_page = api.post("/transactions/view", {"filter": {"coinSerial": serial}, "pageSize": 1}, alice).json()
    assert len(first_page["records"]) == 1
    assert first_page["nextPageToken"]
    assert api.post("/transactions/view", {"filter": {"coinSerial": serial}}, bob).status_code == 404
    assert api.post("/transactions/view", {"filter": {"coinSerial": serial}}, admin_token).status_code == 200
    report = api.reconciliation(admin_token)
    assert report["clean"] is True
    assert report["currencies"][0]["total"] in ("0", "0.00")
