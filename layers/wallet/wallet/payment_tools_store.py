"""Data access for transfer templates and smart cards: the only module that knows their table's keys."""

from typing import Any

from botocore.exceptions import ClientError

from wallet.aws import dynamodb
from wallet.config import settings
from wallet.dynamo import Item, condition_failed, every_item, query_page, transact_write
from wallet.models.transfers import PaymentToolType, SmartCard, SmartCardStatus, Template


def _table() -> str:
    return settings().payment_tools_table


def _get(kind: str, ident: str) -> Item | None:
    """Strongly consistent: a card blocked a moment ago must not be paid."""
    key = {"pk": f"{kind}#{ident}", "sk": kind}
    item: Item | None = dynamodb().get_item(TableName=_table(), Key=key, ConsistentRead=True).get("Item")
    return item


def _of_organization(kind: str, organization_id: str) -> list[Item]:
    return every_item(
        "query",
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :pk",
        ExpressionAttributeValues={":pk": f"{kind}S#{organization_id}"},
    )


def _keys(kind: str, ident: str, organization_id: str, created_at: str) -> Item:
    return {"pk": f"{kind}#{ident}", "sk": kind, "gsi1pk": f"{kind}S#{organization_id}", "gsi1sk": created_at}


def put_template(template: Template, organization_id: str) -> None:
    record = template.model_dump(by_alias=True, exclude_none=True)
    item = {**_keys("TEMPLATE", template.transfer_template_id, organization_id, template.created_at), **record}
    dynamodb().put_item(TableName=_table(), Item={**item, "organizationId": organization_id})


def get_template(template_id: str) -> tuple[Template, str] | None:
    """The template and the organisation that owns it."""
    item = _get("TEMPLATE", template_id)
    return (Template.model_validate(item), item["organizationId"]) if item else None


def templates_of(
    organization_id: str, payment_tool_type: PaymentToolType | None, *, page_size: int, page_token: str | None
) -> tuple[list[Template], str | None]:
    """A page of an organisation's templates, oldest first, of one payment tool type if asked."""
    request: Item = {"ExpressionAttributeValues": {":pk": f"TEMPLATES#{organization_id}"}}
    if payment_tool_type:
        request = {
            "FilterExpression": "paymentToolType = :type",
            "ExpressionAttributeValues": {":pk": f"TEMPLATES#{organization_id}", ":type": payment_tool_type.value},
        }
    items, token = query_page(
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :pk",
        page_size=page_size,
        page_token=page_token,
        **request,
    )
    return [Template.model_validate(item) for item in items], token


def put_new_card(
    card: SmartCard, *, organization_id: str, number_digest: str, created_at: str, recorded: dict[str, Any]
) -> bool:
    """The card, a claim on its number's digest (so no number is issued twice: False if it was) and its audit entry."""
    item = {**_keys("CARD", card.smart_card_id, organization_id, created_at), **card.model_dump(by_alias=True)}
    claim = {"pk": f"CARDNUMBER#{number_digest}", "sk": "CARDNUMBER", "smartCardId": card.smart_card_id}
    try:
        transact_write(
            [
                {
                    "Put": {
                        "TableName": _table(),
                        "Item": {**item, "organizationId": organization_id, "numberDigest": number_digest},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": _table(), "Item": claim, "ConditionExpression": "attribute_not_exists(pk)"}},
                recorded,
            ]
        )
    except ClientError as error:
        if condition_failed(error, 1):
            return False
        raise
    return True


def get_card(card_id: str) -> tuple[SmartCard, str] | None:
    item = _get("CARD", card_id)
    return (SmartCard.model_validate(item), item["organizationId"]) if item else None


def card_id_by_number(number_digest: str) -> str | None:
    item = _get("CARDNUMBER", number_digest)
    return str(item["smartCardId"]) if item else None


def cards_of(organization_id: str) -> list[SmartCard]:
    return [SmartCard.model_validate(item) for item in _of_organization("CARD", organization_id)]


def set_card_status(card_id: str, status: SmartCardStatus, *companions: dict[str, Any]) -> None:
    update = {
        "TableName": _table(),
        "Key": {"pk": f"CARD#{card_id}", "sk": "CARD"},
        "UpdateExpression": "SET #status = :status",
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":status": status.value},
    }
    transact_write([{"Update": update}, *companions])
