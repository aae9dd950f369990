"""The one error hierarchy: each domain error knows its HTTP status and public code."""

from typing import Any


class WalletError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details or []

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(WalletError):
    status = 400
    code = "VALIDATION_ERROR"

    def __init__(self, field: str, message: str, *, code: str | None = None):
        super().__init__(message, code=code, details=[{"field": field, "issue": message}])


class Unauthenticated(WalletError):
    status = 401
    code = "UNAUTHENTICATED"


class Forbidden(WalletError):
    status = 403
    code = "FORBIDDEN"


class NotFound(WalletError):
    status = 404
    code = "NOT_FOUND"


class Conflict(WalletError):
    status = 409
    code = "CONFLICT"


class Contention(Conflict):
    """Other writes kept winning (or DynamoDB kept throttling) after every retry."""

    code = "CONCURRENT_UPDATE"


class PayloadTooLarge(WalletError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(WalletError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class BusinessRuleViolation(WalletError):
    status = 422
    code = "BUSINESS_RULE_VIOLATION"


class Unavailable(WalletError):
    """A service the operation needs failed; nothing was changed that a retry would not redo."""

    status = 503
    code = "UNAVAILABLE"


class TooManyAttempts(WalletError):
    status = 429
    code = "TOO_MANY_ATTEMPTS"

    def __init__(self, message: str, *, retry_after_seconds: int):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
