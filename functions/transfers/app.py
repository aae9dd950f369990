"""Transfers between customers, transfer templates, and smart cards."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import refunds, transfers
from wallet.api import IdempotencyKey, caller, create_app
from wallet.idempotency import fingerprint
from wallet.models.base import Page
from wallet.models.catalog import Calculation
from wallet.models.roles import Role
from wallet.models.transfers import (
    CardBlock,
    CardFound,
    CardLookup,
    NewSmartCard,
    NewTemplate,
    PaymentToolType,
    RefundDone,
    RefundRequest,
    SmartCard,
    SmartCards,
    SmartCardStatus,
    Template,
    TemplateFromOperation,
    TemplateListRequest,
    TemplateTransfer,
    TransferCalculation,
    TransferCalculationRequest,
    TransferDone,
    TransferRequest,
)
from wallet.observability import logger, metrics

app = create_app()
CardId = Annotated[str, Path(alias="smartCardId", max_length=64)]
TemplateId = Annotated[str, Path(alias="transferTemplateId", max_length=64)]


@app.post("/transfers", status_code=201, summary="Move money at once to another account of the same currency")
def transfer(request: TransferRequest, idempotency_key: IdempotencyKey = None) -> TransferDone:
    who = caller(app)
    digest = fingerprint("transfer", request.model_dump(mode="json"))
    if replayed := transfers.replay(who, idempotency_key, digest):
        return replayed
    prepared = transfers.prepare(who, request.source_coin_serial, request.destination_coin_serial, request.amount)
    return transfers.execute(
        who, prepared, idempotency_key=idempotency_key, fingerprint=digest, description=request.description
    )


@app.post(
    "/transfers/<businessProcessId>/refund",
    status_code=201,
    summary="Refund a transfer in part or in full, with the same share of its commission",
)
def refund(
    business_process_id: Annotated[str, Path(alias="businessProcessId", max_length=64)],
    request: RefundRequest = RefundRequest(),
    idempotency_key: IdempotencyKey = None,
) -> RefundDone:
    return refunds.refund(
        caller(app),
        business_process_id,
        request,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint("refund", business_process_id, request.model_dump(mode="json")),
    )


@app.post("/transfers/calculate", summary="Commission of a transfer; totalAmount is what leaves the source")
def calculate_transfer(request: TransferCalculationRequest) -> TransferCalculation:
    prepared = transfers.prepare(
        caller(app), request.source_coin_serial, request.destination_coin_serial, request.amount
    )
    return transfers.transfer_calculation(prepared)


@app.post("/templates/transfer", status_code=201, summary="Save a transfer destination")
def save_template(new: NewTemplate) -> Template:
    return transfers.save_template(caller(app), new)


@app.post("/templates/transfer/view", summary="The caller's transfer templates")
def list_templates(request: TemplateListRequest = TemplateListRequest()) -> Page[Template]:
    return transfers.list_templates(caller(app), request)


@app.post("/templates/transfer/<transferTemplateId>/calculate", summary="Commission of a transfer by template")
def calculate(template_id: TemplateId, request: TemplateTransfer) -> Calculation:
    who = caller(app)
    destination = transfers.destination_of(transfers.own_template(who, template_id))
    return transfers.calculation(transfers.prepare(who, request.source_coin_serial, destination, request.amount))


@app.post("/templates/transfer/<transferTemplateId>/execute", status_code=201, summary="Transfer by template")
def execute(template_id: TemplateId, request: TemplateTransfer, idempotency_key: IdempotencyKey = None) -> TransferDone:
    who = caller(app)
    digest = fingerprint("template", template_id, request.model_dump(mode="json"))
    if replayed := transfers.replay(who, idempotency_key, digest):
        return replayed
    template = transfers.own_template(who, template_id)
    prepared = transfers.prepare(who, request.source_coin_serial, transfers.destination_of(template), request.amount)
    card = template.destination.smart_card_id if template.payment_tool_type == PaymentToolType.SMART_CARD else None
    return transfers.execute(
        who,
        prepared,
        idempotency_key=idempotency_key,
        fingerprint=digest,
        description=request.description,
        destination_card=card,
    )


@app.post(
    "/templates/transfer/operation/<businessProcessId>",
    status_code=201,
    summary="Save the destination of a finished transfer as a template",
)
def template_from_operation(
    business_process_id: Annotated[str, Path(alias="businessProcessId", max_length=64)],
    request: TemplateFromOperation = TemplateFromOperation(),
) -> Template:
    return transfers.template_from_operation(caller(app), business_process_id, request.name)


@app.post("/smart-cards", status_code=201, summary="Issue a smart card for an account (administrator)")
def issue_card(new: NewSmartCard) -> SmartCard:
    caller(app).require(Role.ADMINISTRATOR)
    return transfers.issue_card(new, caller(app))


@app.get("/smart-cards/my", summary="The caller's smart cards")
def my_cards() -> SmartCards:
    return transfers.my_cards(caller(app))


@app.post("/smart-cards/<smartCardId>/block", summary="Block a card: it receives nothing more (administrator)")
def block_card(card_id: CardId, request: CardBlock = CardBlock()) -> SmartCard:
    who = caller(app)
    who.require(Role.ADMINISTRATOR)
    logger.info("Blocking a card", extra={"smartCardId": card_id, "reason": request.reason})
    return transfers.set_card_status(who, card_id, SmartCardStatus.BLOCKED, request.reason)


@app.post("/smart-cards/<smartCardId>/unblock", summary="Unblock a card: it receives again (administrator)")
def unblock_card(card_id: CardId, request: CardBlock = CardBlock()) -> SmartCard:
    who = caller(app)
    who.require(Role.ADMINISTRATOR)
    logger.info("Unblocking a card", extra={"smartCardId": card_id, "reason": request.reason})
    return transfers.set_card_status(who, card_id, SmartCardStatus.ACTIVE, request.reason)


@app.post("/smart-cards/lookup", summary="Find a card by its number, to pay to it; the owner's name for confirmation")
def look_up_card(request: CardLookup) -> CardFound:
    caller(app)
    return transfers.look_up_card(request.card_number)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


wallet.cold_start.init_done()
