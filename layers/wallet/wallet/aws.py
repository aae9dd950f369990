"""AWS clients, created once per container on first use."""

from functools import cache
from typing import Any

import boto3


@cache
def dynamodb() -> Any:
    # The resource's client converts between Python values and DynamoDB's typed JSON.
    return boto3.resource("dynamodb").meta.client


@cache
def ses() -> Any:
    return boto3.client("ses")


@cache
def sns() -> Any:
    return boto3.client("sns")


@cache
def stepfunctions() -> Any:
    return boto3.client("stepfunctions")


@cache
def events() -> Any:
    return boto3.client("events")


@cache
def secrets() -> Any:
    """Powertools' secrets provider (it caches values) on a client made like the others."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=boto3.client("secretsmanager"))


@cache
def sqs() -> Any:
    return boto3.client("sqs")


@cache
def lambda_() -> Any:
    return boto3.client("lambda")


def forget_clients() -> None:
    """The next call of each factory creates its client anew (after a SnapStart restore)."""
    for factory in (dynamodb, ses, sns, stepfunctions, events, secrets, sqs, lambda_):
        factory.cache_clear()
