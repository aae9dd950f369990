"""Deployment settings, parsed once from the function's environment on first use."""

import os
from decimal import Decimal
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = Field("dev", alias="STAGE")
    users_table: str = Field(alias="USERS_TABLE")
    catalog_table: str = Field(alias="CATALOG_TABLE")
    accounts_table: str = Field(alias="ACCOUNTS_TABLE")
    journal_table: str = Field(alias="JOURNAL_TABLE")
    payment_tools_table: str = Field(alias="PAYMENT_TOOLS_TABLE")
    requests_table: str = Field(alias="REQUESTS_TABLE")
    outbox_table: str = Field(alias="OUTBOX_TABLE")
    audit_table: str = Field(alias="AUDIT_TABLE")
    webhooks_table: str = Field(alias="WEBHOOKS_TABLE")
    webhook_queue_url: str = Field("", alias="WEBHOOK_QUEUE_URL")
    webhook_retry_base_seconds: float = Field(30, alias="WEBHOOK_RETRY_BASE_SECONDS", ge=0)
    approval_workflow_arn: str | None = Field(None, alias="APPROVAL_WORKFLOW_ARN")
    aml_denied_names: str = Field("", alias="AML_DENIED_NAMES")
    card_provider_limit: Decimal = Field(Decimal(5_000), alias="CARD_PROVIDER_LIMIT")
    event_source: str = Field("wallet", alias="EVENT_SOURCE")
    event_bus_name: str = Field("default", alias="EVENT_BUS_NAME")
    system_account_shards: int = Field(16, alias="SYSTEM_ACCOUNT_SHARDS", ge=1, le=100)
    token_secret_id: str = Field(alias="TOKEN_SECRET_ID")
    token_ttl_minutes: int = Field(15, alias="TOKEN_TTL_MINUTES", ge=1)
    sender_email: str = Field(alias="SENDER_EMAIL")
    reconciliation_function_arn: str = Field("", alias="RECONCILIATION_FUNCTION_ARN")
    reconciliation_segments: int = Field(8, alias="RECONCILIATION_SEGMENTS", ge=1, le=64)


@cache
def settings() -> Settings:
    return Settings.model_validate(os.environ)
