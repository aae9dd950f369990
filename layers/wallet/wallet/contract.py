"""The published contract: the OpenAPI document assembled from every function (`make openapi`), shipped in
the layer so the API serves it at `GET /openapi.json`."""

from functools import cache
from importlib.resources import files


@cache
def published_document() -> str:
    return files("wallet").joinpath("openapi.json").read_text(encoding="utf-8")
