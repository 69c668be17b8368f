"""Progress on a terminal: records processed and rate, on one line rewritten every half second."""

import time

from django.core.management.base import OutputWrapper

__all__ = ["INTERVAL", "is_terminal", "Progress"]

INTERVAL = 0.5


def is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """Counts records; draws `\\r<verb> 123,456 records (52,000/s)` when `stream` is a terminal, else stays quiet."""

    def __init__(self, stream, verb: str):
        if isinstance(stream, OutputWrapper):
            # OutputWrapper ends every write with a newline; the progress line rewrites itself with \r.
            stream = stream._out
        self.stream = stream if is_terminal(stream) else None
        self.verb = verb
        self.count = 0
        self.started = time.monotonic()
        self._next = self.started + INTERVAL
        self._width = 0
        # (label, start) of each phase; the records are read before the first one.
        self._phases = [("reading records", self.started)]
        self._ended = None

    def tick(self, count: int) -> None:
        """Record that `count` records are done so far; redraws at most every INTERVAL seconds."""
        self.count = count
        if self.stream is None:
            return
        now = time.monotonic()
        if now >= self._next:
            self._next = now + INTERVAL
            self._draw(f"{self.verb} {count:,} records ({self.rate(now):,.0f}/s)")

    def phase(self, text: str) -> None:
        """Show what happens after the records are read (writing accounts, contacts...); the previous phase ends."""
        self._phases.append((text, time.monotonic()))
        if self.stream is not None:
            self._draw(f"{self.verb} {self.count:,} records: {text}")

    def timings(self) -> list[tuple[str, float]]:
        """(phase, seconds) for every phase so far, the first being "reading records"; ends at close()."""
        ends = [start for _, start in self._phases[1:]] + [self._ended or time.monotonic()]
        return [(label, end - start) for (label, start), end in zip(self._phases, ends, strict=True)]

    def rate(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self.started
        return self.count / elapsed if elapsed > 0 else 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def close(self) -> None:
        """Clear the progress line so the caller's summary starts on a clean line; ends the last phase."""
        if self._ended is None:
            self._ended = time.monotonic()
        if self.stream is not None and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()

    def _draw(self, text: str) -> None:
        padding = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + padding)
        self.stream.flush()
