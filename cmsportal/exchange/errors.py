"""The one exception the exchange format raises."""

__all__ = ["ExchangeError"]


class ExchangeError(Exception):
    """A file that cannot be imported or written: the line number (from 1; None when no line is to blame) and why."""

    def __init__(self, line: int | None, reason: str):
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}" if line is not None else reason)
