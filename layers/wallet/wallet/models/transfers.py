"""Transfers, transfer templates and smart cards."""

from typing import Annotated, Any

from pydantic import ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from wallet.models.base import CamelModel, CoinSerial, Identifier, ListFilter, ListRequest, given
from wallet.models.catalog import Calculation
from wallet.models.enums import CaseInsensitiveEnum
from wallet.models.identity import OwnerRef
from wallet.money import Amount, Money

Description = Annotated[str, Field(max_length=500)]
TemplateName = Annotated[str, Field(min_length=1, max_length=100)]


class TransferCalculationRequest(CamelModel):
    source_coin_serial: CoinSerial
    destination_coin_serial: CoinSerial
    amount: Amount


class TransferRequest(TransferCalculationRequest):
    description: Description | None = None


class TransferDone(CamelModel):
    business_process_id: str
    status: str = "COMPLETED"
    amount: Money
    commission: Money
    total_amount: Money


class TransferCalculation(Calculation):
    currency: str


class PaymentToolType(CaseInsensitiveEnum):
    COIN = "COIN"
    SMART_CARD = "SMART_CARD"


class Destination(CamelModel):
    # The contract states the one-of, which the validator below enforces (a null counts as not given).
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": [name], "properties": {name: {"type": "string"}}} for name in ("coinSerial", "smartCardId")
            ]
        }
    )

    coin_serial: CoinSerial | None = None
    smart_card_id: Identifier | None = None

    @model_serializer(mode="wrap")
    def _only_the_given_one(self, serialize: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: value for key, value in serialize(self).items() if value is not None}

    @model_validator(mode="after")
    def _exactly_one(self) -> "Destination":
        if (self.coin_serial is None) == (self.smart_card_id is None):
            raise ValueError("give either coinSerial or smartCardId")
        return self


class NewTemplate(CamelModel):
    # The contract states which destination each tool type takes, as the validator below enforces.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"required": ["paymentToolType"], "properties": {"paymentToolType": {"const": "SMART_CARD"}}},
            "then": given("destination", given("smartCardId")),
            "else": given("destination", {"not": given("smartCardId")}),
        }
    )

    name: TemplateName
    payment_tool_type: PaymentToolType
    destination: Destination

    @model_validator(mode="after")
    def _destination_fits_the_tool(self) -> "NewTemplate":
        wanted_card = self.payment_tool_type == PaymentToolType.SMART_CARD
        if wanted_card != (self.destination.smart_card_id is not None):
            raise ValueError(f"a {self.payment_tool_type.value} template needs a matching destination")
        return self


class Template(NewTemplate):
    transfer_template_id: str
    created_at: str


class TemplateFilter(ListFilter):
    payment_tool_type: PaymentToolType | None = None


class TemplateListRequest(ListRequest):
    filter: TemplateFilter = TemplateFilter()


class TemplateTransfer(CamelModel):
    source_coin_serial: CoinSerial
    amount: Amount
    description: Description | None = None


class TemplateFromOperation(CamelModel):
    name: TemplateName | None = None


class SmartCardStatus(CaseInsensitiveEnum):
    ACTIVE = "ACTIVE"
    BLOCKED = "BLOCKED"


class NewSmartCard(CamelModel):
    coin_serial: CoinSerial


class CardBlock(CamelModel):
    reason: Description | None = None


class SmartCard(CamelModel):
    smart_card_id: str
    masked_number: str
    coin_serial: str
    status: SmartCardStatus


class SmartCards(CamelModel):
    records: list[SmartCard]


class RefundRequest(CamelModel):
    amount: Amount | None = None
    reason: Description | None = None


class RefundDone(CamelModel):
    business_process_id: str
    refund_of: str
    amount: Money
    commission_refunded: Money
    refunded_total: Money


class CardLookup(CamelModel):
    card_number: Annotated[str, Field(pattern=r"^[0-9]{16}$")]


class CardFound(CamelModel):
    smart_card_id: str
    masked_number: str
    owner: OwnerRef
