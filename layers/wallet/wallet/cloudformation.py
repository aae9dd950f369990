"""Answers to CloudFormation custom-resource requests."""

import json
import urllib.request
from typing import Any


def respond(event: dict[str, Any], *, succeeded: bool, reason: str = "") -> None:
    """PUTs the outcome to the pre-signed URL CloudFormation waits on."""
    body = json.dumps(
        {
            "Status": "SUCCESS" if succeeded else "FAILED",
            "Reason": reason or "See the function's log",
            "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    url = event["ResponseURL"]
    if not url.startswith("https://"):
        raise ValueError("CloudFormation answers go to an https URL")
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - checked above
        pass
