"""Request, answer and record models, one module per domain."""
