"""Site configuration (`vsearch.toml`) and authorisation of investigators.

French law (CSI L252-3) allows access to recorded footage only to individually designated, authorised agents
and requires every access to be logged with its author, date, reason and recipients. `authorise` enforces
the first part and logs refusals; `audited_action` wraps an action so that its outcome (or its failure) is
always logged.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vsearch.catalogue.location import StoreLocation
from vsearch.evidence.audit import AuditEntry, AuditLog
from vsearch.errors import AuthorisationError, ConfigError, UsageError

CONFIG_ENV = "VSEARCH_CONFIG"
INVESTIGATOR_ENV = "VSEARCH_INVESTIGATOR"
CONFIG_FILE_NAME = "vsearch.toml"
MAX_RETENTION_DAYS = 31  # CSI L252-5: at most one month unless a judicial procedure needs it (use a lock)
# actions that need --investigator/--case/--reason (indexing is logged with log_system_action instead)
PROTECTED_ACTIONS = frozenset({"search", "synopsis", "frame", "export", "purge", "lock", "tubes", "show"})

EXAMPLE_CONFIG = """\
site_name = "Commissariat central - CSU"
retention_days = 30
allow_source_deletion = false
# audit_log = "/var/lib/vsearch/audit.jsonl"   # default: <store>/audit.jsonl
# key_dir = "/var/lib/vsearch/keys"            # default: <store>/keys
# host_clock_offset_s = 0.4                    # this machine's clock minus true UTC, if measured

[camera_clock_offsets_s]    # camera clock minus true UTC, seconds (measured against a reference clock)
cam01 = 12.5

[[investigators]]
id = "opj-0421"
name = "Jeanne Martin"
authorisation_ref = "Arrêté préfectoral 2024-117, art. 3"
valid_from = 2024-01-01
valid_until = 2026-12-31
"""


class EmbedSettings(BaseModel):
    """[embed] in vsearch.toml: appearance embeddings made at indexing time (command-line options win)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clip_model: str | None = Field(None, description="open_clip model name, e.g. ViT-B-32 (needs clip_weights).")
    clip_weights: Path | None = Field(None, description="Local open_clip weights file (relative to this file).")
    clip_model_config: Path | None = Field(None, description="JSON config of a custom open_clip architecture.")
    crops_per_tube: int = Field(4, ge=1, description="Crops embedded and pooled per tube (K).")
    scene_interval_s: float = Field(10.0, gt=0, description="One scene sample per camera every N seconds.")
    threads: int = Field(2, ge=1, description="CPU threads for model inference.")


class Investigator(BaseModel):
    """One individually designated, authorised agent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._@-]+$",
                    description="Identifier typed with --investigator (letters, digits, . _ @ -).")
    name: str = Field(min_length=1, description="Full name of the agent, as in the authorisation.")
    authorisation_ref: str = Field(min_length=1,
                                   description="Reference of the individual authorisation (order, decree, article).")
    valid_from: dt.date = Field(description="First day (UTC) the authorisation is valid, inclusive.")
    valid_until: dt.date = Field(description="Last day (UTC) the authorisation is valid, inclusive.")

    @model_validator(mode="after")
    def _dates_ordered(self) -> Investigator:
        if self.valid_until < self.valid_from:
            raise ValueError(f"investigator {self.id!r}: valid_until {self.valid_until} is before valid_from "
                             f"{self.valid_from}")
        return self

    def is_valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.valid_until


class SiteConfig(BaseModel):
    """Contents of `vsearch.toml`. Relative paths are resolved against the file's folder when loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site_name: str = Field(min_length=1, description="Name of the site or unit operating vsearch (in exports).")
    investigators: list[Investigator] = Field(
        description="Agents individually authorised to search, view, export or purge footage.")
    retention_days: int = Field(30, ge=1, le=MAX_RETENTION_DAYS,
                                description="Days footage and its index are kept unless locked for a judicial "
                                            "procedure (CSI L252-5: at most one month).")
    allow_source_deletion: bool = Field(False, description="Whether purge may delete original source files "
                                                           "(default: only the index is purged).")
    camera_clock_offsets_s: dict[str, float] = Field(
        default_factory=dict, description="Camera id -> camera clock minus true UTC, in seconds (positive: "
                                          "the camera is ahead). True UTC = camera time - offset.")
    host_clock_offset_s: float | None = Field(None, description="This machine's clock minus true UTC, in "
                                                                "seconds, if measured; recorded in every audit "
                                                                "entry.")
    audit_log: Path | None = Field(None, description="Audit log file; default <store>/audit.jsonl.")
    key_dir: Path | None = Field(None, description="Folder of the site signing key; default <store>/keys.")
    models_dir: Path | None = Field(None, description="Models folder searched before the user's installed and "
                                                      "the built-in models; the --models-dir option and "
                                                      "$VSEARCH_MODELS win over it.")
    embed: EmbedSettings = Field(default_factory=EmbedSettings, description="Appearance embeddings.")

    @field_validator("investigators")
    @classmethod
    def _unique_ids(cls, v: list[Investigator]) -> list[Investigator]:
        seen: set[str] = set()
        for inv in v:
            if inv.id in seen:
                raise ValueError(f"investigator id {inv.id!r} is listed twice")
            seen.add(inv.id)
        return v

    def investigator(self, investigator_id: str) -> Investigator | None:
        return next((i for i in self.investigators if i.id == investigator_id), None)

    def audit_log_path(self, store_dir: Path | str) -> Path:
        """The configured audit log, else `audit.jsonl` in the store's site folder (the store folder, or for a
        store on object storage a folder on this machine: `StoreLocation.site_dir`)."""
        return self.audit_log if self.audit_log is not None else _site_dir(store_dir) / "audit.jsonl"

    def key_dir_path(self, store_dir: Path | str) -> Path:
        return self.key_dir if self.key_dir is not None else _site_dir(store_dir) / "keys"

    def open_audit_log(self, store_dir: Path | str) -> AuditLog:
        return AuditLog(self.audit_log_path(store_dir), clock_offset_s=self.host_clock_offset_s,
                        key_dir=self.key_dir_path(store_dir))


def find_config_path(path: Path | None = None, env: Mapping[str, str] | None = None,
                     cwd: Path | None = None) -> Path:
    """Explicit path, else $VSEARCH_CONFIG, else ./vsearch.toml; ConfigError saying how to create one."""
    env = os.environ if env is None else env
    if path is not None:
        candidate, origin = Path(path), "given path"
    elif env.get(CONFIG_ENV):
        candidate, origin = Path(env[CONFIG_ENV]), f"${CONFIG_ENV}"
    else:
        candidate, origin = (cwd or Path.cwd()) / CONFIG_FILE_NAME, "current folder"
    if not candidate.is_file():
        raise ConfigError(
            f"site config not found: {candidate} ({origin}). Create {CONFIG_FILE_NAME} listing the authorised "
            f"investigators ([[investigators]] id, name, authorisation_ref, valid_from, valid_until; example in "
            f"docs/legal.md), or pass --config / set {CONFIG_ENV}")
    return candidate


def load_site_config(path: Path | None = None, env: Mapping[str, str] | None = None,
                     cwd: Path | None = None) -> SiteConfig:
    """Load and validate the site config (search order: `path`, $VSEARCH_CONFIG, ./vsearch.toml)."""
    cfg_path = find_config_path(path, env, cwd)
    try:
        raw = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{cfg_path}: not valid TOML ({e}); fix the file") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{cfg_path}: cannot be read ({e})") from e
    try:
        cfg = SiteConfig.model_validate(raw)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"{cfg_path}: invalid site config: {problems}") from e
    base = cfg_path.resolve().parent
    updates: dict[str, Any] = {name: base / p for name in ("audit_log", "key_dir", "models_dir")
                               if (p := getattr(cfg, name)) is not None and not p.is_absolute()}
    embed = {name: base / p for name in ("clip_weights", "clip_model_config")
             if (p := getattr(cfg.embed, name)) is not None and not p.is_absolute()}
    if embed:
        updates["embed"] = cfg.embed.model_copy(update=embed)
    return cfg.model_copy(update=updates) if updates else cfg


def optional_site_config(path: Path | None = None) -> SiteConfig | None:
    """The site config when one exists (indexing works without one), or None. An explicit path must exist, and
    a config that exists but is invalid is an error, never silently ignored."""
    try:
        found = find_config_path(path)
    except ConfigError:
        if path is not None:
            raise
        return None
    return load_site_config(found)


@dataclass(frozen=True)
class Access:
    """Who is asking, for which case, why, and to whom results go (CSI L252-3)."""

    investigator_id: str
    case_ref: str
    reason: str
    recipients: tuple[str, ...] = ()


def resolve_investigator_id(option_value: str | None, env: Mapping[str, str] | None = None) -> str:
    """--investigator, else $VSEARCH_INVESTIGATOR, else UsageError."""
    env = os.environ if env is None else env
    value = option_value or env.get(INVESTIGATOR_ENV, "")
    if not value.strip():
        raise UsageError(f"no investigator given: pass --investigator ID or set {INVESTIGATOR_ENV}")
    return value.strip()


def authorise(config: SiteConfig, access: Access, action: str, audit: AuditLog,
              now: dt.datetime | None = None) -> Investigator:
    """Return the investigator if `access` may perform `action` now; otherwise log a "refused" entry and
    raise AuthorisationError (exit code 3). Case reference and reason must be non-empty."""
    now = now or dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(dt.timezone.utc).date()
    inv = config.investigator(access.investigator_id.strip())
    problem: str | None = None
    if not access.investigator_id.strip():
        problem = "no investigator id given (--investigator or $VSEARCH_INVESTIGATOR)"
    elif inv is None:
        problem = (f"investigator {access.investigator_id!r} is not listed in the site config "
                   f"({config.site_name}); only individually authorised agents may {action}")
    elif not inv.is_valid_on(today):
        problem = (f"authorisation of investigator {inv.id!r} ({inv.authorisation_ref}) is valid from "
                   f"{inv.valid_from} to {inv.valid_until}, not on {today}")
    elif not access.case_ref.strip():
        problem = "no case reference given: pass --case REF"
    elif not access.reason.strip():
        problem = "no reason given: pass --reason TEXT"
    if problem is not None:
        audit.append("refused", access.investigator_id or None, access.case_ref or None, access.reason or None,
                     params={"requested_action": action}, result={"refused": problem},
                     recipients=access.recipients, now=now)
        raise AuthorisationError(f"refused: {problem}. The refusal has been recorded in the audit log "
                                 f"{audit.path}.")
    assert inv is not None
    return inv


@dataclass
class ActionRecord:
    """Filled in by the caller inside `audited_action`; logged when the block ends."""

    investigator: Investigator
    result: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # output name -> sha256
    entry: AuditEntry | None = None  # set after logging


@contextmanager
def audited_action(config: SiteConfig, access: Access, action: str, audit: AuditLog,
                   params: Mapping[str, Any] | None = None, now: dt.datetime | None = None,
                   ) -> Iterator[ActionRecord]:
    """Authorise, run the block, then log the action with its result counts and output hashes.

    If the block raises, the entry records `{"error": ...}` and the exception propagates unchanged.
    """
    audit.check_writable()
    inv = authorise(config, access, action, audit, now)
    record = ActionRecord(inv)
    try:
        yield record
    except BaseException as e:
        record.entry = audit.append(action, inv.id, access.case_ref, access.reason, params,
                                    {**record.result, "error": f"{type(e).__name__}: {e}"}, record.outputs,
                                    recipients=access.recipients)
        raise
    record.entry = audit.append(action, inv.id, access.case_ref, access.reason, params, record.result,
                                record.outputs, recipients=access.recipients)


@contextmanager
def guarded_access(action: str, store_dir: Path, config_path: Path | None, investigator: str | None, case: str,
                   reason: str, recipients: Sequence[str] | None, params: Mapping[str, Any]) -> Iterator[ActionRecord]:
    """`audited_action` from command-line values: find the site config, the investigator and the audit log.

    A request refused before an investigator can even be checked (no site config, no investigator id) is also
    logged, in the store's audit log, when the store exists: an attempt to reach footage without
    authorisation is itself something the site must be able to show."""
    try:
        cfg = load_site_config(config_path)
        access = Access(resolve_investigator_id(investigator), case, reason, tuple(recipients or ()))
    except (ConfigError, UsageError) as e:
        if (Path(store_dir) / "lancedb").is_dir():
            log = audit_log_for(store_dir, config_path) if not isinstance(e, ConfigError) else \
                AuditLog(Path(store_dir) / "audit.jsonl", key_dir=Path(store_dir) / "keys")
            log.append("refused", (investigator or "").strip() or None, case or None, reason or None,
                       params={"requested_action": action, **params}, result={"refused": str(e)},
                       recipients=tuple(recipients or ()))
        raise
    with audited_action(cfg, access, action, cfg.open_audit_log(store_dir), params) as record:
        yield record


def log_system_action(audit: AuditLog, action: str, params: Mapping[str, Any] | None = None,
                      result: Mapping[str, Any] | None = None, outputs: Mapping[str, str] | None = None,
                      operator: str | None = None, reason: str | None = None) -> AuditEntry:
    """Log an action that is not an access to footage by an investigator (indexing jobs, retention purges
    run by the scheduler): `operator` is the OS user or service that ran it."""
    return audit.append(action, operator, None, reason, params, result, outputs)


def os_operator() -> str:
    """Who ran a system action (indexing, log adoption): the OS account, as `os:<name>`."""
    try:
        return "os:" + pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"os:uid={os.getuid()}"


def _site_dir(store: Path | str) -> Path:
    return StoreLocation.parse(store).site_dir


def audit_log_for(store_dir: Path | str, config_path: Path | None = None) -> AuditLog:
    """The audit log system actions (indexing) go to: the site's, or `audit.jsonl` in the store's site folder on a
    machine with no site config yet (indexing does not need an investigator, but it is still logged)."""
    site = optional_site_config(config_path)
    if site is not None:
        return site.open_audit_log(store_dir)
    return AuditLog(_site_dir(store_dir) / "audit.jsonl", key_dir=_site_dir(store_dir) / "keys")


__all__ = [
    "Access", "ActionRecord", "EXAMPLE_CONFIG", "Investigator", "SiteConfig", "audited_action", "authorise",
    "guarded_access",
    "find_config_path", "load_site_config", "log_system_action", "resolve_investigator_id",
]
