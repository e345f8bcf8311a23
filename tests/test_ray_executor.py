"""`vsearch index … --executor ray`: a real local Ray (2 CPUs), into a store on a real S3 server (moto on
loopback) — same tubes as the single-process job into a folder, and a killed driver's rerun gives the same rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cluster_module, vsearch_cli
from test_object_store import CONFIG, cars_folder, search_ids, tube_rows
from vsearch.catalogue.store import Store
from vsearch.errors import StoreError, UsageError
from vsearch.indexing.ray_executor import RayOptions

pytestmark = pytest.mark.slow


def source_rows(store: str) -> list[tuple]:
    return sorted((r.source_id, r.path, r.status, r.frames_decoded, r.n_tubes, r.identity_json)
                  for r in Store(store, create=False).sources())


@pytest.mark.parametrize("executor, address, gpus, expected", [
    ("local", None, 0.0, None), ("ray", None, 0.0, RayOptions()), ("ray", "auto", 0.5, RayOptions("auto", 1.0, 0.5)),
])
def test_executor_options(executor: str, address: str | None, gpus: float, expected: RayOptions | None) -> None:
    assert RayOptions.for_executor(executor, address, gpus) == expected


@pytest.mark.parametrize("executor, address", [("dask", None), ("local", "auto")])
def test_bad_executor_options_are_refused(executor: str, address: str | None) -> None:
    with pytest.raises(UsageError, match="--executor|--ray-address"):
        RayOptions.for_executor(executor, address)


def test_bad_executor_is_a_one_line_usage_error(tmp_path: Path) -> None:
    r = vsearch_cli("index", str(tmp_path), "--store", str(tmp_path / "s"), "--executor", "dask")
    assert r.returncode == 2 and "--executor" in r.stderr and "Traceback" not in r.stderr


def test_ray_job_into_s3_gives_the_local_job_s_tubes(s3_env: dict[str, str], tmp_path: Path) -> None:
    cluster_module("ray")
    d = cars_folder(tmp_path, n_files=3)
    cfg = tmp_path / "vsearch.toml"
    cfg.write_text(CONFIG)
    local, remote = str(tmp_path / "local"), f"s3://{s3_env['VSEARCH_TEST_BUCKET']}/store"
    r = vsearch_cli("index", str(d), "--store", local, "-q", "--detector", "motion")
    assert r.returncode == 0, r.stderr
    r = vsearch_cli("index", str(d), "--store", remote, "-q", "--detector", "motion", "--executor", "ray",
                    "--workers", "2", env=s3_env)
    assert r.returncode == 0, r.stderr + r.stdout
    assert tube_rows(remote) == tube_rows(local) and len(tube_rows(local)) >= 6
    assert source_rows(remote) == source_rows(local)
    ids = search_ids(local, cfg, "--class", "car")
    assert len(ids) >= 6 and search_ids(remote, cfg, "--class", "car", env=s3_env) == ids


def _session_pids(sid: int) -> list[int]:
    """Processes still alive in session `sid` (the killed driver's, with whatever Ray started under it)."""
    out = subprocess.run(["ps", "-eo", "pid=,sid="], capture_output=True, text=True).stdout.split()
    return [int(p) for p, s in zip(out[::2], out[1::2]) if int(s) == sid]


def test_killed_ray_driver_rerun_gives_the_same_rows(s3_env: dict[str, str], tmp_path: Path) -> None:
    cluster_module("ray")
    d = cars_folder(tmp_path, n_files=4)
    ref, store = str(tmp_path / "ref"), f"s3://{s3_env['VSEARCH_TEST_BUCKET']}/killed"
    assert vsearch_cli("index", str(d), "--store", ref, "-q", "--detector", "motion").returncode == 0

    exe = Path(sys.executable).with_name("vsearch")
    args = [str(exe), "index", str(d), "--store", store, "-q", "--detector", "motion", "--executor", "ray",
            "--workers", "1"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **s3_env}, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:  # kill once a file is committed
            try:
                if len(Store(store, create=False).sources()) >= 1:
                    break
            except StoreError:  # not created yet
                pass
            time.sleep(0.2)
        assert proc.poll() is None, "job finished before it could be killed; make the clips longer"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local Ray it started (same session)
        except ProcessLookupError:
            pass
        proc.wait()
    for _ in range(50):
        if not _session_pids(proc.pid):
            break
        time.sleep(0.2)
    assert 1 <= len(Store(store, create=False).sources()) < 4

    r = vsearch_cli("index", str(d), "--store", store, "-q", "--detector", "motion", "--executor", "ray",
                    "--workers", "2", env=s3_env)
    assert r.returncode == 0, r.stderr
    assert source_rows(store) == source_rows(ref)
    assert tube_rows(store) == tube_rows(ref)


def test_local_ray_workers_run_at_the_job_s_priority() -> None:
    """Ray's default (nice 15) made a local Ray job 6× slower than the local job on a loaded workstation."""
    ray = cluster_module("ray")
    from vsearch.indexing.ray_executor import _connect

    assert _connect(ray, None, 1)
    try:
        assert ray.get(ray.remote(num_cpus=1)(lambda: os.nice(0)).remote()) == os.nice(0)
    finally:
        ray.shutdown()
