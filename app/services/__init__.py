"""Business logic. Services take models and values, never ``request``; they flush, callers commit."""


class ServiceError(Exception):
    """A rule was broken by the caller's input; the message is safe to show to the user.

    ``field`` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
