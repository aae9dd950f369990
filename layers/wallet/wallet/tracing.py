"""The X-Ray tracer, apart from the logger: its SDK costs ~0.1 s of cold start, paid only by the
functions that trace (the HTTP ones), not by the workflow's steps or the bootstrap."""

from aws_lambda_powertools import Tracer

tracer = Tracer()
