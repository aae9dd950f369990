"""Transfers through the layer, without HTTP: the checks before a transfer, its answer and its replay,
between two issuers, and the tools that name a destination (templates and smart cards)."""

from decimal import Decimal
from typing import Any

import pytest

from local.aws import EmbeddedAws
from tests.unit.dynamodb_harness import Interleaving, scripted
from tests.unit.ledger_world import STAFF, LedgerWorld, build_world
from wallet import account_lifecycle, audit_store, catalog, events, ledger, ledger_store, limits, transfers
from wallet.aws import dynamodb
from wallet.config import settings
from wallet.errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound
from wallet.ledger import AccountFrozen, SystemAccount
from wallet.models.catalog import CommissionRule, NewIssuer, OperationType
from wallet.models.events import EventType
from wallet.models.identity import public_name
from wallet.models.limits import LimitRule, WindowLimit
from wallet.models.roles import Role
from wallet.models.transfers import (
    NewSmartCard,
    NewTemplate,
    PaymentToolType,
    SmartCardStatus,
    TemplateListRequest,
    TransferDone,
)


@pytest.fixture
def world(embedded_aws: EmbeddedAws) -> LedgerWorld:
    return build_world()


def _fee(world: LedgerWorld, percent: str, fixed: str = "0", issuer: str | None = None) -> None:
    rule = {
        "operationType": OperationType.TRANSFER,
        "issuerId": issuer or world.issuers["EUR"].id,
        "percent": percent,
        "fixed": fixed,
    }
    catalog.set_commission_rule(CommissionRule.model_validate(rule), STAFF)


def _transfer(
    world: LedgerWorld, owner: str, source: str, to: str, amount: str, key: str | None = None, **extra: Any
) -> TransferDone:
    caller = world.customer(owner)
    prepared = transfers.prepare(caller, source, to, Decimal(amount))
    return transfers.execute(caller, prepared, idempotency_key=key, fingerprint=f"fp-{amount}", **extra)


def _issue(refused: pytest.ExceptionInfo[Any]) -> tuple[str, str, str]:
    """What the client reads: the message, and the field named with its issue."""
    [detail] = refused.value.details
    return refused.value.message, detail["field"], detail["issue"]


# --- before a transfer ---


def test_a_transfer_is_refused_naming_what_is_wrong(world: LedgerWorld) -> None:
    alice, bob, yen = world.open_account("alice"), world.open_account("bob"), world.open_account("carol", "JPY")
    world.credit(alice, "10.00")
    ann = world.customer("alice")
    with pytest.raises(NotFound) as foreign:  # bob's account is not alice's to pay from
        transfers.prepare(ann, bob, alice, Decimal(1))
    assert _issue(foreign) == ("No such account", "sourceCoinSerial", "not found")
    with pytest.raises(NotFound) as unknown:
        transfers.prepare(ann, alice, "C-000000000000", Decimal(1))
    assert _issue(unknown) == ("No such account", "destinationCoinSerial", "not found")
    with pytest.raises(BusinessRuleViolation) as same:
        transfers.prepare(ann, alice, alice, Decimal(1))
    assert (same.value.code, same.value.message) == (
        "SAME_ACCOUNT",
        "The source and the destination are the same account",
    )
    with pytest.raises(BusinessRuleViolation) as currencies:
        transfers.prepare(ann, alice, yen, Decimal(1))
    assert (currencies.value.code, currencies.value.message) == (
        "CURRENCY_MISMATCH",
        "The accounts are in different currencies",
    )
    with pytest.raises(InvalidInput, match="2 fractional digits"):
        transfers.prepare(ann, alice, bob, Decimal("1.005"))
    assert world.balance(alice) == (Decimal("10.00"), Decimal(0))


def test_a_calculation_shows_amount_commission_and_total_in_the_currency(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    _fee(world, "1", "0.10")
    prepared = transfers.prepare(world.customer("alice"), alice, bob, Decimal("10.5"))
    shown = transfers.transfer_calculation(prepared)
    assert (shown.amount, shown.commission, shown.total_amount, shown.currency) == (
        Decimal("10.50"),
        Decimal("0.21"),  # 0.105 half-up + 0.10
        Decimal("10.71"),
        "EUR",
    )
    assert str(shown.amount) == "10.50"


# --- a transfer, its answer and its replay ---


def test_a_transfer_answers_and_records_what_it_moved(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "20.00")
    _fee(world, "10")
    done = _transfer(world, "alice", alice, bob, "5.00", "k-1", description="rent")
    assert (done.amount, done.commission, done.total_amount, done.status) == (
        Decimal("5.00"),
        Decimal("0.50"),
        Decimal("5.50"),
        "COMPLETED",
    )
    assert (world.balance(alice), world.balance(bob)) == ((Decimal("14.50"), Decimal(0)), (Decimal("5.00"), Decimal(0)))
    assert world.system_balance("EUR", SystemAccount.COMMISSION) == Decimal("0.50")
    record = ledger_store.get_process(done.business_process_id)
    assert record is not None
    assert {name: record[name] for name in ("organizationId", "sourceCoinSerial", "destinationCoinSerial")} == {
        "organizationId": "org-alice",
        "sourceCoinSerial": alice,
        "destinationCoinSerial": bob,
    }
    assert (record["amount"], record["commission"], record["description"]) == (Decimal(5), Decimal("0.5"), "rent")
    assert record["requestFingerprint"] == "fp-5.00"
    assert record["actor"] == world.customer("alice").actor
    assert record["type"] == "TRANSFER"
    assert "destinationSmartCardId" not in record
    [event] = _outbox(done.business_process_id)
    assert event["id"] == events.event_id(EventType.TRANSFER_COMPLETED, done.business_process_id)  # deduped by
    assert event["pk"] == f"EVENT#{alice}"  # in order with the sender's other events
    assert event["organizationIds"] == ["org-alice", "org-bob"]
    assert (event["type"], event["data"]) == (
        "transfer.completed",
        {
            "businessProcessId": done.business_process_id,
            "sourceCoinSerial": alice,
            "destinationCoinSerial": bob,
            "amount": "5.00",
            "commission": "0.50",
            "totalAmount": "5.50",
            "currency": "EUR",
            "description": "rent",
        },
    )
    replayed = transfers.replay(world.customer("alice"), "k-1", "fp-5.00")
    assert replayed is not None
    assert (str(replayed.commission), str(replayed.total_amount)) == ("0.50", "5.50")
    with pytest.raises(Conflict):  # the same key for another transfer, through execute itself
        _transfer(world, "alice", alice, bob, "6.00", "k-1")
    assert world.balance(alice) == (Decimal("14.50"), Decimal(0))


def _outbox(process_id: str) -> list[dict[str, Any]]:
    items = dynamodb().scan(TableName=settings().outbox_table)["Items"]
    return [
        item
        for item in items
        if item["pk"].startswith("EVENT#") and item["data"].get("businessProcessId") == process_id
    ]


def test_a_frozen_account_neither_pays_nor_is_paid(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "20.00")
    world.credit(bob, "20.00")
    account_lifecycle.freeze(STAFF, bob)
    for payer, source, destination in (("alice", alice, bob), ("bob", bob, alice)):
        with pytest.raises(AccountFrozen):
            transfers.prepare(world.customer(payer), source, destination, Decimal(1))


def test_a_transfer_counts_against_the_senders_limit(world: LedgerWorld) -> None:
    limits.set_rule(
        LimitRule(
            operation_type=OperationType.TRANSFER,
            currency_code="EUR",
            role=Role.INDIVIDUAL,
            daily=WindowLimit(amount=Decimal(30)),
        ),
        STAFF,
    )
    alice, bob, carol = world.open_account("alice"), world.open_account("bob"), world.open_account("carol")
    world.credit(alice, "100.00")
    world.credit(carol, "100.00")
    done = _transfer(world, "alice", alice, bob, "20.00")
    with pytest.raises(limits.LimitExceeded) as refused:
        _transfer(world, "alice", alice, bob, "20.00")
    assert refused.value.details[0]["field"] == "daily.amount"
    record = ledger_store.get_process(done.business_process_id)
    assert record is not None
    _transfer(world, "alice", alice, bob, "10.00")
    _transfer(world, "carol", carol, bob, "30.00")  # the same rule, her own account's counter
    assert world.balance(bob) == (Decimal("60.00"), Decimal(0))


def test_an_accounts_own_limit_wins_over_its_roles(world: LedgerWorld) -> None:
    alice, bob, carol = world.open_account("alice"), world.open_account("bob"), world.open_account("carol")
    for role_or_coin in ({"role": Role.INDIVIDUAL, "perOperation": "30"}, {"coinSerial": alice, "perOperation": "5"}):
        rule = {"operationType": OperationType.TRANSFER, "currencyCode": "EUR", **role_or_coin}
        limits.set_rule(LimitRule.model_validate(rule), STAFF)
    world.credit(alice, "100.00")
    world.credit(carol, "100.00")
    with pytest.raises(limits.LimitExceeded) as refused:
        _transfer(world, "alice", alice, bob, "6.00")
    assert refused.value.details[0]["field"] == "perOperation"
    _transfer(world, "carol", carol, bob, "6.00")  # the role's rule: up to 30
    assert world.balance(bob) == (Decimal("6.00"), Decimal(0))


def test_a_transfer_posts_on_the_accounts_it_was_checked_on_without_reading_them_again(world: LedgerWorld) -> None:
    """prepare reads both accounts once; execute writes, its version guard standing on that read."""
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    caller = world.customer("alice")
    prepared = transfers.prepare(caller, alice, bob, Decimal("4.00"))
    race = Interleaving(scripted())
    race.run({"execute": lambda: transfers.execute(caller, prepared, idempotency_key=None, fingerprint="-")})
    assert race.trace == [("execute", "TransactWriteItems")]
    assert (world.balance(alice), world.balance(bob)) == ((Decimal("6.00"), 0), (Decimal("4.00"), 0))


def test_a_replay_answers_the_first_transfer_in_its_digits_before_any_check(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "20.00")
    ann = world.customer("alice")
    assert transfers.replay(ann, None, "fp-5.00") is None  # no key: nothing to replay
    assert transfers.replay(ann, "k-1", "fp-5.00") is None  # a key not used yet
    first = _transfer(world, "alice", alice, bob, "5.00", "k-1")
    replayed = transfers.replay(ann, "k-1", "fp-5.00")
    assert replayed == first
    assert replayed is not None
    assert str(replayed.total_amount) == "5.00"
    assert transfers.replay(world.customer("bob"), "k-1", "fp-5.00") is None  # the key is alice's organisation's
    with pytest.raises(Conflict) as reused:
        transfers.replay(ann, "k-1", "fp-6.00")
    assert (reused.value.code, reused.value.message) == (
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was used for another request",
    )


def test_a_yen_replay_answers_whole_yen(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice", "JPY"), world.open_account("bob", "JPY")
    world.credit(alice, "500", "JPY")
    _transfer(world, "alice", alice, bob, "100", "k-1")
    replayed = transfers.replay(world.customer("alice"), "k-1", "fp-100")
    assert replayed is not None
    assert str(replayed.amount) == "100"


def test_between_two_issuers_the_amount_settles_through_each_ones_transit(world: LedgerWorld) -> None:
    other = catalog.add_issuer(NewIssuer(currency_code="EUR", name="Other EUR"), STAFF)
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.issuers["EUR-2"] = other
    world.issuers["EUR"], mine = other, world.issuers["EUR"]
    dora = world.open_account("dora")  # at the other issuer
    world.issuers["EUR"] = mine
    world.credit(alice, "20.00")
    _fee(world, "10")
    done = _transfer(world, "alice", alice, dora, "4.00")
    shard = ledger.shard_for(done.business_process_id)

    def system(issuer: str, kind: SystemAccount) -> Decimal:
        return sum(ledger.balance_of([ledger.system_account(issuer, kind, shard)]), Decimal(0))

    assert (world.balance(alice), world.balance(dora)) == (
        (Decimal("15.60"), Decimal(0)),
        (Decimal("4.00"), Decimal(0)),
    )
    assert system(mine.id, SystemAccount.COMMISSION) == Decimal("0.40")  # the sender's issuer's fee
    assert system(mine.id, SystemAccount.TRANSIT) == Decimal("4.00")
    assert system(other.id, SystemAccount.TRANSIT) == Decimal("-4.00")
    assert system(other.id, SystemAccount.COMMISSION) == 0
    same = _transfer(world, "alice", alice, bob, "1.00")  # one issuer: no transit legs
    record = ledger_store.get_process(same.business_process_id)
    assert record is not None
    assert len(record["legs"]) == 3


# --- templates ---


def _template(name: str, coin: str | None = None, card: str | None = None) -> NewTemplate:
    tool = PaymentToolType.SMART_CARD if card else PaymentToolType.COIN
    destination = {"smartCardId": card} if card else {"coinSerial": coin}
    return NewTemplate.model_validate({"name": name, "paymentToolType": tool, "destination": destination})


def test_a_template_pays_an_existing_account_or_an_active_card(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    ann = world.customer("alice")
    coin = transfers.save_template(ann, _template("rent", coin=bob))
    assert transfers.own_template(ann, coin.transfer_template_id) == coin
    assert transfers.destination_of(coin) == bob
    card = transfers.issue_card(NewSmartCard(coin_serial=bob), STAFF)
    by_card = transfers.save_template(ann, _template("gift", card=card.smart_card_id))
    assert transfers.destination_of(by_card) == bob
    transfers.set_card_status(STAFF, card.smart_card_id, SmartCardStatus.BLOCKED, "lost")
    with pytest.raises(BusinessRuleViolation) as blocked:
        transfers.destination_of(by_card)
    assert (blocked.value.code, blocked.value.message) == ("CARD_BLOCKED", "The card is blocked")
    with pytest.raises(NotFound) as no_coin:
        transfers.save_template(ann, _template("x", coin="C-000000000000"))
    assert _issue(no_coin) == ("No such account", "destination.coinSerial", "not found")
    with pytest.raises(NotFound) as no_card:
        transfers.save_template(ann, _template("x", card="no-such-card"))
    assert _issue(no_card) == ("No such card", "destination.smartCardId", "not found")
    with pytest.raises(NotFound) as foreign:  # someone else's template is not found, not forbidden
        transfers.own_template(world.customer("bob"), coin.transfer_template_id)
    assert _issue(foreign) == ("No such template", "transferTemplateId", "not found")
    assert alice


def test_templates_are_listed_per_organisation_and_tool(world: LedgerWorld) -> None:
    bob = world.open_account("bob")
    card = transfers.issue_card(NewSmartCard(coin_serial=bob), STAFF)
    ann = world.customer("alice")
    coins = [transfers.save_template(ann, _template(f"coin {index}", coin=bob)) for index in range(3)]
    by_card = transfers.save_template(ann, _template("card", card=card.smart_card_id))
    transfers.save_template(world.customer("carol"), _template("carol's", coin=bob))

    def listed(**request: Any) -> tuple[list[str], str | None]:
        page = transfers.list_templates(ann, TemplateListRequest.model_validate(request))
        return [template.name for template in page.records], page.next_page_token

    assert sorted(listed()[0]) == sorted([*(template.name for template in coins), by_card.name])
    assert listed(filter={"paymentToolType": "SMART_CARD"})[0] == ["card"]
    assert sorted(listed(filter={"paymentToolType": "COIN"})[0]) == ["coin 0", "coin 1", "coin 2"]
    first, token = listed(pageSize=2)
    assert len(first) == 2
    assert token
    rest, end = listed(pageSize=2, pageToken=token)
    assert sorted(first + rest) == sorted(listed()[0])
    assert end is None


def test_a_template_from_a_transfer_names_its_destination(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "20.00")
    ann = world.customer("alice")
    plain = _transfer(world, "alice", alice, bob, "1.00")
    made = transfers.template_from_operation(ann, plain.business_process_id, None)
    record = ledger_store.get_process(plain.business_process_id)
    assert record is not None
    assert made.name == f"Transfer of {record['createdAt'][:10]}"
    assert (made.payment_tool_type, made.destination.coin_serial) == (PaymentToolType.COIN, bob)
    assert transfers.own_template(ann, made.transfer_template_id) == made
    card = transfers.issue_card(NewSmartCard(coin_serial=bob), STAFF)
    to_card = _transfer(world, "alice", alice, bob, "2.00", destination_card=card.smart_card_id)
    named = transfers.template_from_operation(ann, to_card.business_process_id, "to bob's card")
    assert (named.name, named.payment_tool_type) == ("to bob's card", PaymentToolType.SMART_CARD)
    assert named.destination.smart_card_id == card.smart_card_id
    for caller, process_id in (
        (world.customer("bob"), plain.business_process_id),  # not bob's operation
        (ann, "no-such-operation"),
        (STAFF, world.credit(alice, "1.00").business_process_id),  # not a transfer: no destination
    ):
        with pytest.raises(NotFound) as missing:
            transfers.template_from_operation(caller, process_id, None)
        assert _issue(missing) == ("No such operation", "businessProcessId", "not found")


# --- smart cards ---


def test_a_card_number_is_sixteen_digits_with_a_luhn_check_digit() -> None:
    assert transfers.luhn_check_digit("7992739871") == 3  # the textbook example
    assert transfers.luhn_check_digit("453201511283036") == 6
    assert transfers.luhn_check_digit("0") == 0
    for _ in range(20):
        number = transfers.card_number()
        assert len(number) == 16
        assert number.isdigit()
        assert number[0] == "9"
        assert transfers.luhn_check_digit(number[:-1]) == int(number[-1])
    assert transfers.card_number("5")[0] == "5"


def test_a_card_is_issued_masked_with_a_number_never_issued_before(
    world: LedgerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = world.open_account("bob")
    drawn = iter(["9000000000000018", "9000000000000018", "9000000000000026"])
    monkeypatch.setattr(transfers, "card_number", lambda: next(drawn))
    first = transfers.issue_card(NewSmartCard(coin_serial=bob), STAFF)
    second = transfers.issue_card(NewSmartCard(coin_serial=bob), STAFF)  # 0018 is taken: drawn again
    assert (first.masked_number, second.masked_number) == ("**** **** **** 0018", "**** **** **** 0026")
    assert (first.status, first.coin_serial) == (SmartCardStatus.ACTIVE, bob)
    assert transfers.look_up_card("9000000000000026").smart_card_id == second.smart_card_id
    assert {card.smart_card_id for card in transfers.my_cards(world.customer("bob")).records} == {
        first.smart_card_id,
        second.smart_card_id,
    }
    assert transfers.my_cards(world.customer("alice")).records == []
    [issued] = _audit(first.smart_card_id)
    assert (issued["action"], issued["details"]["coinSerial"]) == ("CARD_ISSUED", bob)
    with pytest.raises(NotFound) as unknown:
        transfers.issue_card(NewSmartCard(coin_serial="C-000000000000"), STAFF)
    assert _issue(unknown) == ("No such account", "coinSerial", "not found")


def _audit(target: str) -> list[dict[str, Any]]:
    items, _ = audit_store.page(
        actor_user_id=None, target_id=target, action=None, since=None, until=None, page_size=50, page_token=None
    )
    return sorted(items, key=lambda item: item["at"])


def test_a_blocked_card_is_not_found_until_unblocked(world: LedgerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    bob = world.open_account("bob")
    monkeypatch.setattr(transfers, "card_number", lambda: "9000000000000018")
    card = transfers.issue_card(NewSmartCard(coin_serial=bob), STAFF)
    found = transfers.look_up_card("9000000000000018")
    assert (found.smart_card_id, found.masked_number) == (card.smart_card_id, "**** **** **** 0018")
    assert found.owner.name == public_name("bob@example.com") != "bob@example.com"  # a login is masked
    blocked = transfers.set_card_status(STAFF, card.smart_card_id, SmartCardStatus.BLOCKED, "lost")
    assert blocked.status == SmartCardStatus.BLOCKED
    with pytest.raises(NotFound) as hidden:
        transfers.look_up_card("9000000000000018")
    assert _issue(hidden) == ("No such card", "cardNumber", "not found")
    transfers.set_card_status(STAFF, card.smart_card_id, SmartCardStatus.ACTIVE, None)
    assert transfers.look_up_card("9000000000000018").smart_card_id == card.smart_card_id
    actions = [(entry["action"], entry["details"].get("reason")) for entry in _audit(card.smart_card_id)]
    assert actions == [("CARD_ISSUED", None), ("CARD_BLOCKED", "lost"), ("CARD_UNBLOCKED", None)]
    with pytest.raises(NotFound) as unknown:
        transfers.set_card_status(STAFF, "no-such-card", SmartCardStatus.BLOCKED, None)
    assert _issue(unknown) == ("No such card", "smartCardId", "not found")
    with pytest.raises(NotFound):
        transfers.look_up_card("9000000000000026")  # never issued


def test_a_card_of_an_account_gone_is_not_found(world: LedgerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    bob = world.open_account("bob")
    monkeypatch.setattr(transfers, "card_number", lambda: "9000000000000018")
    transfers.issue_card(NewSmartCard(coin_serial=bob), STAFF)
    dynamodb().delete_item(TableName=settings().accounts_table, Key=_account_key(bob))
    with pytest.raises(NotFound):
        transfers.look_up_card("9000000000000018")


def _account_key(serial: str) -> dict[str, str]:
    item = ledger_store.get_account_item(ledger.customer_account(serial))
    assert item is not None
    return {"pk": item["pk"], "sk": item["sk"]}
