"""Messages to customers: e-mail through SES, SMS through SNS, chosen by the login's form."""

from wallet.aws import ses, sns
from wallet.config import settings
from wallet.models.identity import E164_PHONE


def send_message(login: str, subject: str, body: str) -> None:
    if E164_PHONE.match(login):
        sns().publish(PhoneNumber=login, Message=f"{subject}: {body}")
    else:
        ses().send_email(
            Source=settings().sender_email,
            Destination={"ToAddresses": [login]},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": body}}},
        )
