"""Site config loading and investigator authorisation (refusals are logged)."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from vsearch.evidence.audit import AuditLog
from vsearch.errors import AuthorisationError, ConfigError, UsageError
from vsearch.site import (EXAMPLE_CONFIG, Access, SiteConfig, audited_action, authorise, load_site_config,
                          log_system_action, resolve_investigator_id)

NOW = dt.datetime(2025, 6, 1, 9, 30, tzinfo=dt.timezone.utc)

CONFIG = """\
site_name = "CSU Test"
retention_days = 30
audit_log = "logs/audit.jsonl"

[camera_clock_offsets_s]
cam01 = 12.5

[[investigators]]
id = "opj-1"
name = "Jeanne Martin"
authorisation_ref = "AP 2024-117 art. 3"
valid_from = 2025-01-01
valid_until = 2025-12-31

[[investigators]]
id = "opj-old"
name = "Paul Durand"
authorisation_ref = "AP 2019-004"
valid_from = 2019-01-01
valid_until = 2024-12-31
"""


@pytest.fixture()
def cfg_path(tmp_path: Path) -> Path:
    p = tmp_path / "vsearch.toml"
    p.write_text(CONFIG, encoding="utf-8")
    return p


def test_load_explicit_path_and_resolve_relative(cfg_path: Path) -> None:
    cfg = load_site_config(cfg_path, env={})
    assert cfg.site_name == "CSU Test" and len(cfg.investigators) == 2
    assert cfg.camera_clock_offsets_s == {"cam01": 12.5}
    assert cfg.audit_log == cfg_path.parent / "logs" / "audit.jsonl"
    assert cfg.key_dir_path(Path("/store")) == Path("/store/keys")
    assert cfg.investigator("opj-1") is not None and cfg.investigator("x") is None
    assert cfg.allow_source_deletion is False and cfg.retention_days == 30


def test_search_order_env_then_cwd(cfg_path: Path, tmp_path: Path) -> None:
    assert load_site_config(None, env={"VSEARCH_CONFIG": str(cfg_path)}, cwd=Path("/nonexistent")).site_name
    assert load_site_config(None, env={}, cwd=cfg_path.parent).site_name == "CSU Test"
    with pytest.raises(ConfigError, match=r"site config not found.*\[\[investigators\]\].*docs/legal.md"):
        load_site_config(None, env={}, cwd=tmp_path / "empty")


def test_example_config_is_valid(tmp_path: Path) -> None:
    p = tmp_path / "vsearch.toml"
    p.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    assert load_site_config(p, env={}).investigators[0].id == "opj-0421"


@pytest.mark.parametrize(("text", "match"), [
    (CONFIG + "\nunknown_key = 1\n", "unknown_key"),
    (CONFIG.replace("retention_days = 30", "retention_days = 90"), "retention_days"),
    (CONFIG.replace('id = "opj-old"', 'id = "opj-1"'), "listed twice"),
    (CONFIG.replace("valid_until = 2025-12-31", "valid_until = 2024-12-31"), "before valid_from"),
    ("site_name = ", "not valid TOML"),
])
def test_bad_configs_are_refused(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "vsearch.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_site_config(p, env={})


def test_resolve_investigator_id() -> None:
    assert resolve_investigator_id("opj-1", env={}) == "opj-1"
    assert resolve_investigator_id(None, env={"VSEARCH_INVESTIGATOR": "opj-2"}) == "opj-2"
    with pytest.raises(UsageError, match="--investigator"):
        resolve_investigator_id(None, env={})


def _setup(cfg_path: Path) -> tuple[SiteConfig, AuditLog]:
    cfg = load_site_config(cfg_path, env={})
    return cfg, cfg.open_audit_log(cfg_path.parent / "store")


def test_authorised_investigator_passes(cfg_path: Path) -> None:
    cfg, audit = _setup(cfg_path)
    inv = authorise(cfg, Access("opj-1", "PV 2025/118", "armed robbery"), "search", audit, NOW)
    assert inv.name == "Jeanne Martin"
    assert audit.entries() == []  # the action itself is logged by the caller (audited_action)


@pytest.mark.parametrize(("access", "match"), [
    (Access("intruder", "PV 1", "curiosity"), "not listed"),
    (Access("opj-old", "PV 1", "robbery"), "valid from 2019-01-01 to 2024-12-31"),
    (Access("opj-1", "  ", "robbery"), "--case"),
    (Access("opj-1", "PV 1", ""), "--reason"),
    (Access("", "PV 1", "robbery"), "no investigator"),
])
def test_refusals_are_logged(cfg_path: Path, access: Access, match: str) -> None:
    cfg, audit = _setup(cfg_path)
    with pytest.raises(AuthorisationError, match=match) as exc:
        authorise(cfg, access, "export", audit, NOW)
    assert exc.value.exit_code == 3
    (entry,) = audit.entries()
    assert entry.action == "refused"
    assert entry.params == {"requested_action": "export"}
    assert match.strip("-") in entry.result["refused"]
    assert entry.investigator == (access.investigator_id or None)
    assert entry.time_utc.startswith("2025-06-01T09:30:00")
    assert audit.verify().ok


def test_validity_dates_are_inclusive(cfg_path: Path) -> None:
    cfg, audit = _setup(cfg_path)
    last_day = dt.datetime(2025, 12, 31, 23, 59, tzinfo=dt.timezone.utc)
    authorise(cfg, Access("opj-1", "PV", "r"), "frame", audit, last_day)
    with pytest.raises(AuthorisationError):
        authorise(cfg, Access("opj-1", "PV", "r"), "frame", audit, last_day + dt.timedelta(minutes=1))


def test_audited_action_logs_result_and_failure(cfg_path: Path) -> None:
    cfg, audit = _setup(cfg_path)
    access = Access("opj-1", "PV 7", "hit and run", recipients=("Parquet de Lyon",))
    with audited_action(cfg, access, "search", audit, {"text": "red car"}, now=NOW) as rec:
        rec.result["hits"] = 3
        rec.outputs["results.json"] = "cd" * 32
    assert rec.entry is not None and rec.entry.result == {"hits": 3}
    with pytest.raises(RuntimeError, match="store offline"):
        with audited_action(cfg, access, "frame", audit, {"t": 1.0}, now=NOW):
            raise RuntimeError("store offline")
    first, second = audit.entries(case="PV 7")
    assert (first.action, first.investigator, first.reason, first.recipients) == (
        "search", "opj-1", "hit and run", ["Parquet de Lyon"])
    assert first.outputs == {"results.json": "cd" * 32}
    assert second.action == "frame" and second.result["error"] == "RuntimeError: store offline"
    log_system_action(audit, "index", {"source": "cam01.mp4"}, {"tubes": 12}, operator="svc-vsearch")
    assert audit.entries()[-1].action == "index" and audit.verify().ok


def test_an_access_that_cannot_be_logged_does_not_run(tmp_path: Path) -> None:
    from vsearch.evidence.audit import AuditLog, AuditLogError

    cfg = SiteConfig.model_validate(tomllib.loads(EXAMPLE_CONFIG))
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the log folder should be")
    ran = []
    with pytest.raises(AuditLogError, match="cannot be written"):
        with audited_action(cfg, Access("opj-0421", "PV-1", "test"), "search", AuditLog(blocked / "audit.jsonl"),
                            now=dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)):
            ran.append(True)
    assert ran == []
