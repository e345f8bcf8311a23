"""Rich progress display for indexing jobs (presentation only)."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vsearch.indexing.control import StopControl
from vsearch.indexing.report import FileOutcome

STATUS_STYLE = {"ok": "green", "partial": "yellow", "failed": "bold red", "skipped": "dim", "stopped": "yellow"}


@contextlib.contextmanager
def stop_on_signals(control: StopControl, announce: Callable[[str], None]) -> Iterator[None]:
    """SIGINT/SIGTERM ask the job to stop at its next chunk boundary (a second SIGINT interrupts at once)."""
    def handler(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if control.reason() is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        control.request_stop(name)
        announce(name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class RichSink:
    def __init__(self, console: Console, quiet: bool = False, deadline_utc: dt.datetime | None = None) -> None:
        self.console = console
        self.deadline_utc = deadline_utc
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[footage]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console, disable=quiet,
            transient=False,
        )
        self.files_task = None
        self.file_task = None
        self.footage_s = 0.0
        self.elapsed0 = None

    def __enter__(self) -> RichSink:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def start(self, n_files: int) -> None:
        self.files_task = self.progress.add_task("files", total=n_files, footage="")

    def file_started(self, path: str, duration_s: float | None) -> None:
        name = path.rsplit("/", 1)[-1]
        if self.file_task is not None:
            self.progress.remove_task(self.file_task)
        self.file_task = self.progress.add_task(f"  {name[:40]}", total=duration_s or None, footage="")

    def frame(self, path: str, pts_s: float) -> None:
        if self.file_task is not None:
            self.progress.update(self.file_task, completed=pts_s)

    def file_done(self, outcome: FileOutcome) -> None:
        self.footage_s += outcome.footage_s
        elapsed = self.progress.tasks[0].elapsed or 0.0 if self.files_task is not None else 0.0
        speed = f" @ {self.footage_s / elapsed:.1f}× real time" if elapsed > 0 else ""
        if self.deadline_utc is not None:
            left = (self.deadline_utc - dt.datetime.now(dt.timezone.utc)).total_seconds()
            speed += f", {left / 60:.0f} min to the deadline" if left > 0 else ", deadline passed"
        self.progress.update(self.files_task, advance=1, footage=f"{self.footage_s / 3600:.3f} h footage{speed}")
        if outcome.status != "ok" and not (self.quiet and outcome.status == "skipped"):
            style = STATUS_STYLE.get(outcome.status, "")
            where = "" if outcome.message.startswith(outcome.path) else f"{outcome.path}: "
            self.console.print(f"[{style}]{outcome.status}[/] {escape(where + outcome.message)}", soft_wrap=True,
                               highlight=False)

    def warn(self, text: str) -> None:
        self.console.print(f"[bold yellow]WARNING[/] {escape(text)}", soft_wrap=True)
