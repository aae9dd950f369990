"""Every e-mail and SMS the platform sends, and every event it announces, kept and printed."""

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders

Answer = tuple[AWSResponse, dict[str, Any]] | None


class Outbox:
    """With `sandbox` on, SES and SNS behave as in their sandboxes: only verified recipients get a
    message, any other is refused as AWS refuses it (moto accepts everything)."""

    def __init__(self, echo: bool = False, sandbox: bool = False):
        self.echo = echo
        self.sandbox = sandbox
        self.verified: set[str] = set()
        self.messages: list[dict[str, str]] = []
        self.events: list[dict[str, Any]] = []

    def install(self, session: boto3.Session) -> None:
        """Hooks the calls of the session's clients (a world's session: every client's, local/aws.py)."""
        for operation in ("ses.SendEmail", "sns.Publish"):
            session.events.register(f"provide-client-params.{operation}", self._remember)
        session.events.register("before-call.ses.SendEmail", self._email)  # type: ignore[arg-type]
        session.events.register("before-call.sns.Publish", self._sms)  # type: ignore[arg-type]
        session.events.register("provide-client-params.events.PutEvents", self._remember_entries)
        session.events.register("after-call.events.PutEvents", self._event)

    def verify(self, recipient: str) -> None:
        """A recipient verified in the sandbox (an SES identity, an SNS sandbox phone number)."""
        self.verified.add(recipient)

    def records(self, to: str | None = None) -> list[dict[str, str]]:
        return [message for message in self.messages if to in (None, message["to"])]

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["outbox_params"] = params

    def _email(self, context: dict[str, Any], **_: Any) -> Answer:
        params = context["outbox_params"]
        addresses = params["Destination"]["ToAddresses"]
        if refused := [address for address in addresses if not self._may_receive(address)]:
            region = boto3.DEFAULT_SESSION.region_name if boto3.DEFAULT_SESSION else ""
            message = "Email address is not verified. The following identities failed the check in region "
            return _error("MessageRejected", message + f"{str(region).upper()}: {', '.join(refused)}")
        for address in addresses:
            self._keep(address, params["Message"]["Subject"]["Data"], params["Message"]["Body"]["Text"]["Data"])
        return None

    def _sms(self, context: dict[str, Any], **_: Any) -> Answer:
        params = context["outbox_params"]
        if "PhoneNumber" not in params:
            return None
        if not self._may_receive(params["PhoneNumber"]):
            return _error("AuthorizationError", "The phone number is not verified in the SMS sandbox")
        self._keep(params["PhoneNumber"], "SMS", params["Message"])
        return None

    @staticmethod
    def _remember_entries(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["put_events_entries"] = params["Entries"]

    def _event(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        """Keeps the entries the bus accepted (a refused entry carries an ErrorCode)."""
        results = parsed.get("Entries", [])
        for entry, result in zip(context["put_events_entries"], results, strict=False):
            if result.get("ErrorCode"):
                continue
            self.events.append(entry)
            if self.echo:
                print(f"[events] {entry['Source']} {entry['DetailType']}", flush=True)

    def _may_receive(self, recipient: str) -> bool:
        return not self.sandbox or recipient in self.verified

    def _keep(self, to: str, subject: str, body: str) -> None:
        sent_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self.messages.append({"to": to, "subject": subject, "body": body, "sentAt": sent_at})
        if self.echo:
            print(f"[outbox] to {to}: {subject}: {body}", flush=True)


def _error(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse("", 400, HTTPHeaders(), None), {"Error": {"Code": code, "Message": message}}
