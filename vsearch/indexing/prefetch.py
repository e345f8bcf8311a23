"""Reading frames ahead in a thread, so decoding overlaps the stages' work (off by default: no measured gain)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

_END = object()
_T = TypeVar("_T")


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
