"""Shared set-up of the review UI tests: a small indexed store with exact ground truth, a site config, and the
app served by uvicorn on a free loopback port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import synth
from conftest import vsearch_cli
from test_search_cli import CONFIG  # the test site: one authorised, one expired investigator

INVESTIGATOR, CASE, REASON = "opj-0421", "PV-2026-118", "témoin place de la gare"


def build_store(root: Path) -> dict[str, Path]:
    """Index one 8-s synthetic clip of camera cam1 (two persons, one with a red top, and a blue car)."""
    d = root / "footage"
    person = (22, 56)
    objs = [
        synth.SynthObject(1, "red", [(2.0, 600, 150), (6.5, 40, 150)], person, lower_colour="blue", kind="person"),
        synth.SynthObject(2, "blue", [(2.5, 40, 290), (6.0, 600, 290)], (64, 36), kind="car"),
        synth.SynthObject(3, "white", [(2.0, 320, 40), (6.0, 320, 320)], person, lower_colour="black", kind="person"),
    ]
    clip = synth.write_video(synth.SynthVideo(d / "cam1.mp4", 640, 360, 10, 8.0, objs)).path
    clip.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": "2026-11-20T14:01:00+01:00"}))
    store = root / "store"
    r = vsearch_cli("index", str(d), "--store", str(store), "--detector", "motion", "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    cfg = root / "vsearch.toml"
    cfg.write_text(CONFIG)
    return {"store": store, "config": cfg, "clip": clip}


def cli_json(env: dict[str, Path], *args: str) -> dict:
    """A CLI command with the test access and --json; its parsed output."""
    r = vsearch_cli(*args, "--store", str(env["store"]), "--config", str(env["config"]), "--investigator",
                    INVESTIGATOR, "--case", CASE, "--reason", REASON, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(app) -> Iterator[str]:  # noqa: ANN001
    """Serve `app` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
