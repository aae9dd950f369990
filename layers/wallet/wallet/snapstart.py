"""What a SnapStart restore needs made anew (the template's SnapStart parameter).

Lambda snapshots a function after its init and resumes many copies from that one snapshot: what init
made once is shared by every copy unless it is made again. Randomness: copies would draw the same
`random` sequence (the ledger's retry jitter would then collide). Clients: their connections and
credentials belong to the snapshot. Cached secrets: a key rotated since would be used until its cache
ran out. (`secrets` draws from the OS each time: nothing to do for it.)"""

import random


def after_restore() -> None:
    # Imported here: functions that make no AWS call (the screening steps) do not import boto3 at init.
    from aws_lambda_powertools.utilities import parameters

    from wallet import aws, config

    random.seed()
    aws.forget_clients()
    config.settings.cache_clear()
    parameters.clear_caches()


def register() -> None:
    """Runs `after_restore` after each restore; Lambda's Python runtime provides the hook library."""
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:  # not on Lambda: nothing is ever restored here
        return
    register_after_restore(after_restore)
