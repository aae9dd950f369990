"""Every e-mail and SMS the platform sends, and every event it announces, kept and printed."""

from datetime import UTC, datetime
from typing import Any

import boto3


class Outbox:
    def __init__(self, echo: bool = False):
        self.echo = echo
        self.messages: list[dict[str, str]] = []
        self.events: list[dict[str, Any]] = []

    def install(self, session: boto3.Session) -> None:
        """Hooks the session's clients; clients made before this call are not seen."""
        session.events.register("provide-client-params.ses.SendEmail", self._email)
        session.events.register("provide-client-params.sns.Publish", self._sms)
        session.events.register("provide-client-params.events.PutEvents", self._event)

    def records(self, to: str | None = None) -> list[dict[str, str]]:
        return [message for message in self.messages if to in (None, message["to"])]

    def _email(self, params: dict[str, Any], **_: Any) -> None:
        for address in params["Destination"]["ToAddresses"]:
            self._keep(address, params["Message"]["Subject"]["Data"], params["Message"]["Body"]["Text"]["Data"])

    def _sms(self, params: dict[str, Any], **_: Any) -> None:
        if "PhoneNumber" in params:
            self._keep(params["PhoneNumber"], "SMS", params["Message"])

    def _event(self, params: dict[str, Any], **_: Any) -> None:
        for entry in params["Entries"]:
            self.events.append(entry)
            if self.echo:
                print(f"[events] {entry['Source']} {entry['DetailType']}", flush=True)

    def _keep(self, to: str, subject: str, body: str) -> None:
        sent_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self.messages.append({"to": to, "subject": subject, "body": body, "sentAt": sent_at})
        if self.echo:
            print(f"[outbox] to {to}: {subject}: {body}", flush=True)
