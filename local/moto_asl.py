"""moto's Step Functions, validating each of our definitions once per process instead of once per world: moto
parses a state machine's ASL with its ANTLR grammar on every `create_state_machine` (a fifth of a test world's
start-up). Worlds differ only in their id, written into the Lambda ARNs the definitions name; a definition
that differs from one already validated only there is the same program, so it is valid too. A definition that
fails is validated again each time (and refused as moto refuses it)."""

import re
from functools import cache

from moto.stepfunctions.parser.models import StepFunctionsParserBackend


@cache
def install(world_ids: re.Pattern[str]) -> None:
    validate = StepFunctionsParserBackend._validate_definition
    validated: set[str] = set()

    def validate_once(definition: str) -> None:
        shape = world_ids.sub("world", definition)
        if shape not in validated:
            validate(definition=definition)
            validated.add(shape)

    StepFunctionsParserBackend._validate_definition = staticmethod(validate_once)  # type: ignore[method-assign]
