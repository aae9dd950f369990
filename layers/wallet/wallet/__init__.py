"""The wallet domain shared by every function: identity, auth, ledger, commission and their models."""
