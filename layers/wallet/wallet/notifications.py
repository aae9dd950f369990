"""Messages to customers: e-mail through SES, SMS through SNS, chosen by the login's form."""

from botocore.exceptions import BotoCoreError, ClientError

from wallet.aws import ses, sns
from wallet.config import settings
from wallet.errors import BusinessRuleViolation, Unavailable
from wallet.models.identity import E164_PHONE

# The recipient is refused (not verified in a sandbox, opted out, on a suppression list): retrying will not help.
REFUSED_RECIPIENT = {"MessageRejected", "AuthorizationError", "OptedOut"}


class RecipientRefused(BusinessRuleViolation):
    code = "RECIPIENT_REFUSED"


class MessageNotSent(Unavailable):
    code = "MESSAGE_NOT_SENT"


def send_message(login: str, subject: str, body: str) -> None:
    try:
        if E164_PHONE.match(login):
            sns().publish(PhoneNumber=login, Message=f"{subject}: {body}")
        else:
            ses().send_email(
                Source=settings().sender_email,
                Destination={"ToAddresses": [login]},
                Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}},
            )
    except ClientError as error:
        if error.response["Error"]["Code"] in REFUSED_RECIPIENT:
            raise RecipientRefused(
                "No message can be delivered to this login", details=[{"field": "login", "issue": "refused"}]
            ) from error
        raise MessageNotSent("The message could not be sent now; try again") from error
    except BotoCoreError as error:  # SES or SNS not reached (connection, timeout): the same retryable answer
        raise MessageNotSent("The message could not be sent now; try again") from error
