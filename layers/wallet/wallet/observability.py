"""Logger and Metrics, created once and shared by every function; every function's init also registers
what a SnapStart restore must make anew (`snapstart`).

No tracer: the template's `Tracing: Active` has Lambda and API Gateway trace every request without code,
and Powertools' Tracer imports the X-Ray SDK when created (~0.1 s of every cold start, even disabled)."""

from aws_lambda_powertools import Logger, Metrics

from wallet import snapstart

logger = Logger()
metrics = Metrics()
snapstart.register()
