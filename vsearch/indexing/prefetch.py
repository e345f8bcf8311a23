"""Reading frames ahead: in a thread, so decoding overlaps the stages' work (off by default: no measured gain), and
`Peekable`, which shows the next frame before it is taken (the detect stage's look-ahead starts its network on it)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

_END = object()
_NOTHING = object()
_T = TypeVar("_T")


class Peekable(Iterator[_T]):
    """`items`, with `peek()`: the next item without taking it (None at the end). An error met while peeking is
    raised by the `next()` that would have met it, so peeking never changes where a stream fails."""

    def __init__(self, items: Iterable[_T]) -> None:
        self._it = iter(items)
        self._next: object = _NOTHING
        self._error: BaseException | None = None

    def peek(self) -> _T | None:
        if self._next is _NOTHING and self._error is None:
            try:
                self._next = next(self._it)
            except StopIteration:
                self._next = _END
            except BaseException as e:  # noqa: BLE001 - raised again by __next__, in stream order
                self._error = e
        return None if self._next is _NOTHING or self._next is _END else self._next  # type: ignore[return-value]

    def __next__(self) -> _T:
        if self._next is _END:
            raise StopIteration
        if self._next is not _NOTHING:
            item, self._next = self._next, _NOTHING
            return item  # type: ignore[return-value]
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return next(self._it)

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if close is not None:
            close()


def prefetched(frames: Iterable[_T], depth: int) -> Iterator[_T]:
    """`frames`, read ahead by a thread into a queue of `depth` items, so decoding (the ffmpeg pipe read, frame
    conversion) overlaps the stages' work. Errors are re-raised here; stopping early stops the reader."""
    if depth <= 0:
        yield from frames
        return
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    failure: list[BaseException] = []

    def reader() -> None:
        it = iter(frames)
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which re-raises it
            failure.append(e)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
            while not stop.is_set():
                try:
                    q.put(_END, timeout=0.1)
                    break
                except queue.Full:
                    continue

    t = threading.Thread(target=reader, name="decode-prefetch", daemon=True)
    t.start()
    try:
        while (item := q.get()) is not _END:
            yield item  # type: ignore[misc]
        if failure:
            raise failure[0]
    finally:
        stop.set()
        t.join()
