"""After a SnapStart restore, each copy of a function draws its own randomness and makes its clients anew."""

import random

from local.aws import EmbeddedAws
from wallet import aws, snapstart


def test_after_a_restore_randomness_and_clients_are_new(embedded_aws: EmbeddedAws) -> None:
    client = aws.dynamodb()
    random.seed(7)  # a snapshot's state: every copy resumed from it would draw the same numbers
    snapshot_draw = random.random()  # noqa: S311 - the ledger's jitter, not a secret
    random.seed(7)
    snapstart.after_restore()
    assert random.random() != snapshot_draw  # noqa: S311
    assert aws.dynamodb() is not client
