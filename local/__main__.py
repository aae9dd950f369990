"""`python -m local`: serves the whole API on http://127.0.0.1:3000, AWS played in-process by moto."""

import os

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas
from local.rules import ExecutionRules
from local.schedules import Schedules
from local.server import DOCS_PATH, OUTBOX_PATH, LocalApi
from local.streams import LocalStreams
from local.template import Template

DEFAULT_ADMIN_LOGIN = "admin@wallet.local"
DEFAULT_ADMIN_PASSWORD = "Admin#Wallet1"


def main() -> None:
    admin_login = os.environ.get("WALLET_ADMIN_LOGIN", DEFAULT_ADMIN_LOGIN)
    admin_password = os.environ.get("WALLET_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD)
    port = int(os.environ.get("PORT", "3000"))
    aws = EmbeddedAws(
        Template(),
        parameters={"AdminLogin": admin_login, "Stage": "local"},
        secret_values={"AdminPasswordSecret": admin_password},
        echo_outbox=True,
        # As SES and SNS in their sandboxes: only the listed recipients get messages.
        messaging_sandbox="WALLET_VERIFIED_RECIPIENTS" in os.environ,
    ).start()
    for recipient in filter(None, os.environ.get("WALLET_VERIFIED_RECIPIENTS", "").split(",")):
        aws.outbox.verify(recipient.strip())
    lambdas = LocalLambdas(aws)
    lambdas.invoke("BootstrapFunction", {})  # what the stack's custom resource does at deployment
    rules = ExecutionRules(lambdas).start()
    schedules = Schedules(lambdas).start()  # the reconciliation's schedule, as EventBridge Scheduler runs it
    streams = LocalStreams(lambdas).start()  # the outbox's events reach EventBridge as on AWS
    server = LocalApi(("127.0.0.1", port), lambdas)
    port = server.server_address[1]  # PORT=0: the one the system picked
    print(f"Wallet API on http://127.0.0.1:{port} (AWS embedded: moto, no account needed)")
    print(f"Administrator: {admin_login} / {admin_password} (WALLET_ADMIN_LOGIN, WALLET_ADMIN_PASSWORD)")
    print(f"Contract: http://127.0.0.1:{port}/openapi.json, to try it: http://127.0.0.1:{port}{DOCS_PATH}")
    print(f"Messages sent: GET http://127.0.0.1:{port}{OUTBOX_PATH}?to=<login>", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        streams.stop()
        server.server_close()
        rules.stop()
        schedules.stop()
        aws.stop()


if __name__ == "__main__":
    main()
