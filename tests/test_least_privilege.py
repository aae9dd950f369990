"""The template's grants, read as IAM reads them: what the least-privilege check of the whole run relies on,
and the rules it must hold (append-only journal, balances written only by the functions that move money)."""

import pytest

from local.aws import ACCOUNT_ID, OPERATOR_PARAMETERS, REGION
from local.template import Template
from tests.least_privilege import Call, policies, ungranted

TEMPLATE = Template()
GRANTED = policies(TEMPLATE)
FUNCTIONS = sorted(TEMPLATE.resources_of("AWS::Serverless::Function"))


def _dynamodb(action: str, table: str, *leading_keys: str) -> Call:
    resource = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}"
    return (f"dynamodb:{action}", resource, tuple(("dynamodb:LeadingKeys", key) for key in leading_keys))


def _granted(function: str, call: Call) -> bool:
    return not ungranted({function: {call}}, GRANTED)


@pytest.mark.parametrize("action", ["UpdateItem", "DeleteItem", "BatchWriteItem"])
def test_the_journals_entries_are_append_only(action: str) -> None:
    assert [name for name in FUNCTIONS if _granted(name, _dynamodb(action, "JournalTable", "COIN#1"))] == []


def test_balances_are_written_only_by_the_functions_that_move_money() -> None:
    system = _dynamodb("UpdateItem", "AccountsTable", "SYSTEM#issuer#EMISSION#00")
    assert [name for name in FUNCTIONS if _granted(name, system)] == [
        "RequestsFunction",
        "TransfersFunction",
        "WorkflowFunction",
    ]
    # A customer account's status (freeze, close) is also the accounts function's; IAM cannot tell its
    # attributes apart without dynamodb:Attributes, which this check does not model.
    customer = _dynamodb("UpdateItem", "AccountsTable", "COIN#1")
    assert [name for name in FUNCTIONS if _granted(name, customer)] == [
        "CoinsFunction",
        "RequestsFunction",
        "TransfersFunction",
        "WorkflowFunction",
    ]


def test_journal_updates_reach_only_counters_and_process_records() -> None:
    for function in ("TransfersFunction", "RequestsFunction", "WorkflowFunction"):
        assert _granted(function, _dynamodb("UpdateItem", "JournalTable", "LIMITUSE#c#TRANSFER"))
        assert not _granted(function, _dynamodb("UpdateItem", "JournalTable", "COIN#1"))
    # Refunded totals are the refunds'; the workflow only gives limit counters back.
    for function in ("TransfersFunction", "RequestsFunction"):
        assert _granted(function, _dynamodb("UpdateItem", "JournalTable", "PROCESS#p"))
    assert not _granted("WorkflowFunction", _dynamodb("UpdateItem", "JournalTable", "PROCESS#p"))


def test_opening_accounts_reaches_only_its_kind_of_item() -> None:
    assert _granted("CoinsFunction", _dynamodb("PutItem", "AccountsTable", "COIN#abc"))
    assert not _granted("CoinsFunction", _dynamodb("PutItem", "AccountsTable", "SYSTEM#issuer#EMISSION#00"))
    assert _granted("SetupFunction", _dynamodb("BatchWriteItem", "AccountsTable", "SYSTEM#i#EMISSION#00"))
    assert not _granted("SetupFunction", _dynamodb("BatchWriteItem", "AccountsTable", "SYSTEM#i#X#00", "COIN#abc"))


def test_messages_go_only_from_the_sender_and_only_as_sms() -> None:
    sender = OPERATOR_PARAMETERS["SenderEmail"]
    identity = f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{sender}"
    assert _granted("AuthFunction", ("ses:SendEmail", identity, (("ses:FromAddress", sender),)))
    assert not _granted("AuthFunction", ("ses:SendEmail", identity, (("ses:FromAddress", "ceo@elsewhere.com"),)))
    assert _granted("AuthFunction", ("sns:Publish", "*", ()))
    assert not _granted("AuthFunction", ("sns:Publish", f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:any-topic", ()))


def test_a_call_not_granted_names_the_function_and_the_grant_to_add() -> None:
    [problem] = ungranted({"CoinsFunction": {_dynamodb("DeleteItem", "AccountsTable", "COIN#1")}}, GRANTED)
    assert problem.startswith("CoinsFunction calls dynamodb:DeleteItem on arn:aws:dynamodb:")
    assert problem.endswith(
        "add to CoinsFunction's Policies in template.yaml a statement allowing dynamodb:DeleteItem on AccountsTable"
    )
