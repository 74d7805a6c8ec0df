"""Agent policy: the TOML file, its schema and validation with file/line/field errors.

Layout (every key optional except ``[[target]].path``; see ``docs/agent.md`` and ``examples/agent/``)::

    [agent]      mount, interval, workers, metrics_addr, metrics_port, log_level
    [defaults]   any target key; applies to every [[target]] unless the target sets it
    [[target]]   path (cgroup path or glob, "/" = mount root), descendants, mode, step, step_interval,
                 budget_per_cycle, budget_per_hour, min_zswap, age, reclaim_step, eagain_retries,
                 guard_scope, [target.guardrails], [target.on_trip]
    [sim]        scenario, profile, seed, scale, cycles  (only for ``--backend sim``)

Values are validated by pydantic models; errors are re-located to the line that wrote the offending key
(``tomlpos``) and reported as ``FILE:LINE: FIELD: message``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from ..common.tomlpos import KeyPath, key_lines, line_of
from ..common.units import parse_duration, parse_rate, parse_size

Size = Annotated[int, BeforeValidator(parse_size)]
Duration = Annotated[float, BeforeValidator(parse_duration)]
Rate = Annotated[float, BeforeValidator(parse_rate)]


class PolicyError(ValueError):
    """A policy problem, located: ``file:line: field: message``."""

    def __init__(self, file: str, line: int | None, field: str, message: str) -> None:
        self.file, self.line, self.field, self.message = file, line, field, message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Guardrails(_Strict):
    """Thresholds; ``None`` disables one. Rates are bytes/s (pages counted as PAGE_SIZE bytes)."""

    psi_some_avg10: float | None = Field(default=None, ge=0, le=100)
    psi_some_avg60: float | None = Field(default=None, ge=0, le=100)
    zswpin_rate: Rate | None = None
    refault_rate: Rate | None = None
    zswpwb_rate: Rate | None = None
    # memory.stat keys counting refaults of written-back pages; the first present one is used
    refault_keys: tuple[str, ...] = ("pswpin", "workingset_refault_anon")


class OnTrip(_Strict):
    """What a tripped guardrail does: stop the target's cycle, or also back off exponentially."""

    action: Literal["stop-cycle", "backoff"] = "backoff"
    backoff_initial: Duration = 120.0
    backoff_max: Duration = 3600.0
    backoff_factor: float = Field(default=2.0, ge=1.0)
    # consecutive clean cycles after which the backoff level returns to 0 (resume at full rate)
    resume_after: int = Field(default=1, ge=1)


class TargetPolicy(_Strict):
    path: str
    name: str | None = None
    descendants: bool = False
    mode: Literal["sequential", "concurrent"] = "sequential"
    step: Size = 4 << 20
    step_interval: Duration = 1.0
    budget_per_cycle: Size = 64 << 20
    budget_per_hour: Size = 1 << 30
    min_zswap: Size = 0
    age: Duration | None = None
    reclaim_step: Size = 0
    # zero-progress EAGAIN answers tolerated per cycle: v5 rotates up to 16*64 referenced entries per call and
    # answers EAGAIN having written nothing (second chance, spec §5 Q3); the next call then makes progress
    eagain_retries: int = Field(default=4, ge=0)
    guard_scope: Literal["target", "children"] = "target"
    guardrails: Guardrails = Guardrails()
    on_trip: OnTrip = OnTrip()

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"cgroup path must start with '/' (relative to the mount), got {v!r}")
        parts = [p for p in v.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ValueError(f"'.' and '..' are not allowed in a cgroup path: {v!r}")
        if "\0" in v:
            raise ValueError("NUL in cgroup path")
        return "/" + "/".join(parts)

    @field_validator("step")
    @classmethod
    def _step(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("step must be > 0")
        return v

    @property
    def label(self) -> str:
        return self.name or self.path


class AgentSection(_Strict):
    mount: str = "/sys/fs/cgroup"
    interval: Duration = 60.0
    workers: int = Field(default=4, ge=1, le=256)
    metrics_addr: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)  # 0 = no endpoint
    log_level: Literal["debug", "info", "warning", "error"] = "info"


class SimSection(_Strict):
    scenario: Literal["premature-abort"] = "premature-abort"
    profile: Literal["mainline", "6.12", "v1", "v2", "v3", "v4", "v5"] = "v5"
    seed: int = 0
    mb_per_child: int = Field(default=200, ge=1)
    cycles: int = Field(default=20, ge=1)


class Policy(_Strict):
    agent: AgentSection = AgentSection()
    targets: tuple[TargetPolicy, ...]
    sim: SimSection = SimSection()
    source: str = "<string>"


_TARGET_KEYS = set(TargetPolicy.model_fields)


def _merge(defaults: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for k, v in target.items():
        if k in ("guardrails", "on_trip") and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _fmt_field(loc: KeyPath) -> str:
    s = ""
    for p in loc:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else p)
    return s


def _raise_from(e: ValidationError, file: str, lines: dict[KeyPath, int], base: KeyPath,
                own: dict[str, Any] | None = None, defaults_base: KeyPath | None = None,
                defaults: dict[str, Any] | None = None) -> None:
    err = e.errors()[0]
    loc: KeyPath = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path = (*base, *loc)
    # a value inherited from [defaults] is reported where [defaults] wrote it
    if own is not None and defaults_base is not None and loc and isinstance(loc[0], str):
        sub = own.get(loc[0])
        dflt = defaults.get(loc[0]) if defaults is not None else None
        in_defaults = dflt is not None and (len(loc) == 1 or not isinstance(dflt, dict) or loc[1] in dflt)
        inherited = in_defaults and (loc[0] not in own or (len(loc) > 1 and isinstance(sub, dict)
                                                            and loc[1] not in sub))
        if inherited:
            path = (*defaults_base, *loc)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "required key is missing"
    raise PolicyError(file, line_of(lines, path), _fmt_field(path), msg) from None


def loads(text: str, file: str = "<string>") -> Policy:
    """Parse and validate a policy; raises :class:`PolicyError` naming file, line and field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = getattr(e, "lineno", None) or (int(m.group(1)) if m else None)
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", getattr(e, "msg", None) or str(e))
        raise PolicyError(file, line, "", f"TOML syntax error: {msg}") from None
    lines = key_lines(text)
    for key in raw:
        if key not in ("agent", "defaults", "target", "sim"):
            raise PolicyError(file, line_of(lines, (key,)), key, "unknown section (expected agent, defaults, "
                              "target, sim)")
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        raise PolicyError(file, line_of(lines, ("defaults",)), "defaults", "must be a table")
    for key in defaults:
        if key not in _TARGET_KEYS or key in ("path", "name"):
            raise PolicyError(file, line_of(lines, ("defaults", key)), f"defaults.{key}", "unknown key")
    targets_raw = raw.get("target", [])
    if not isinstance(targets_raw, list) or not targets_raw:
        raise PolicyError(file, line_of(lines, ("target",)), "target",
                          "at least one [[target]] table is required")
    targets = []
    for i, t in enumerate(targets_raw):
        try:
            targets.append(TargetPolicy.model_validate(_merge(defaults, t)))
        except ValidationError as e:
            _raise_from(e, file, lines, ("target", i), own=t, defaults_base=("defaults",), defaults=defaults)
    sections: dict[str, Any] = {}
    for name, model in (("agent", AgentSection), ("sim", SimSection)):
        try:
            sections[name] = model.model_validate(raw.get(name, {}))
        except ValidationError as e:
            _raise_from(e, file, lines, (name,))
    return Policy(agent=sections["agent"], sim=sections["sim"], targets=tuple(targets), source=file)


def load(path: str | Path) -> Policy:
    """Read and validate the policy file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(str(p), None, "", f"cannot read: {e.strerror}") from None
    return loads(text, str(p))
