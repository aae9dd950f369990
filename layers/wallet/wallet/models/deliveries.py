"""A webhook delivery's states. No pydantic here: the delivery function records them and builds no model,
which a cold start would pay for."""

from wallet.models.enums import CaseInsensitiveEnum


class DeliveryStatus(CaseInsensitiveEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
