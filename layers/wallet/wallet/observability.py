"""Logger and Metrics, created once and shared by every function (the tracer is in `tracing`)."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
