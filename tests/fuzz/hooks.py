"""schemathesis hooks for the contract fuzz (tests/fuzz/test_contract_fuzzed.py), loaded by its CLI.

The published document states every rule JSON Schema can state (grammars, lengths, enums, and the rules across
fields: a merchant's legal type, a staff user's organisation, a limit's subject and amounts, a template's
destination), so a schema-valid request is one the API takes, with these exceptions: a value only the API or a
message can supply, and a comparison of two values that JSON Schema cannot state. Their refusals are accepted
here one by one, by the answer's code and the field it names; any other refusal of a schema-valid request still
fails the run.
"""

import json
import re
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

# (code, field, the issue as a regular expression): why a schema-valid request may be refused so.
EXPECTED_REFUSALS = {
    ("VALIDATION_ERROR", "pageToken", "is not a page token"): "only a token the API issued for this list is valid",
    ("INVALID_OTP", "otp", ""): "only the code the API sent by message is right",
    ("WRONG_PASSWORD", "currentPassword", ""): "only the caller's own password is right",
    ("VALIDATION_ERROR", "body", "Value error, min must not be above max"): "a commission's min and max, together",
}


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keeps every failure but the refusal of a schema-valid request for one of the reasons above."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 400:
        return True
    return not _expected(response.content)


def _expected(content: bytes) -> bool:
    try:
        answer = json.loads(content)
        details = answer["details"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(details) and all(
        any(
            answer["code"] == code
            and re.fullmatch(field, str(detail.get("field")))
            and re.match(issue, str(detail.get("issue")))
            for code, field, issue in EXPECTED_REFUSALS
        )
        for detail in details
    )
