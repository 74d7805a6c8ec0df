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

import ipaddress
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from ..common.tomlpos import KeyPath, TomlInputError, key_lines, line_of, parse_toml, read_utf8
from ..common.units import parse_duration, parse_rate, parse_size
from ..kernel.profiles import check_profile
from .globs import GlobError, compile_glob

# The kernel's memparse() parses into an unsigned long long and wraps silently: a size of 2^64 bytes or more
# would be sent as text the kernel reads as a different (small) number, so no size may reach it.
MAX_SIZE = (1 << 64) - 1
# Durations: finite, and at most this long (a longer wait overflows time arithmetic or, on the simulator,
# ticks the model for ever); per-field lower bounds are set where a zero would busy-loop.
MAX_DURATION_S = 7 * 86400.0
MIN_INTERVAL_S = 0.1  # agent.interval: a smaller one busy-loops over the whole tree


def _size(v: object) -> int:
    n = parse_size(v)
    if n > MAX_SIZE:
        raise ValueError(f"size {v!r} is 2^64 bytes or more; the kernel's memparse would wrap it")
    return n


def _duration(v: object) -> float:
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"duration must be finite, got {v!r}")
    try:
        d = parse_duration(v)
    except OverflowError:
        d = math.inf
    if not math.isfinite(d) or d > MAX_DURATION_S:
        raise ValueError(f"duration {v!r} is too long (at most {int(MAX_DURATION_S)}s = 7 days)")
    return d


def _rate(v: object) -> float:
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"rate must be finite, got {v!r}")
    r = parse_rate(v)
    if r > MAX_SIZE:
        raise ValueError(f"rate {v!r} is too large")
    return r


def _step(v: int) -> int:
    if v <= 0:
        raise ValueError("step must be > 0")
    return v


Size = Annotated[int, BeforeValidator(_size)]
# Fields an agent target shares with the lab's ``action = "agent"`` (zswaplab.lab.schema.AgentAction): one type,
# one validator each
Step = Annotated[int, BeforeValidator(_size), AfterValidator(_step)]  # bytes per request, > 0
EagainRetries = Annotated[int, Field(ge=0)]
GuardScope = Literal["target", "children"]
TripAction = Literal["stop-cycle", "backoff"]
Duration = Annotated[float, BeforeValidator(_duration)]
Rate = Annotated[float, BeforeValidator(_rate)]
Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


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

    psi_some_avg10: Percent | None = None
    psi_some_avg60: Percent | None = None
    zswpin_rate: Rate | None = None
    refault_rate: Rate | None = None
    zswpwb_rate: Rate | None = None
    # memory.stat keys counting refaults of written-back pages; the first present one is used
    refault_keys: tuple[str, ...] = ("pswpin", "workingset_refault_anon")


class OnTrip(_Strict):
    """What a tripped guardrail does: stop the target's cycle, or also back off exponentially."""

    action: TripAction = "backoff"
    backoff_initial: Duration = 120.0
    backoff_max: Duration = 3600.0
    backoff_factor: float = Field(default=2.0, ge=1.0, le=1000.0, allow_inf_nan=False)
    # consecutive clean cycles after which the backoff level returns to 0 (resume at full rate)
    resume_after: int = Field(default=1, ge=1)


class ReclaimPacing(_Strict):
    """PSI-paced proactive reclaim (``action = "reclaim"``, and ``"auto"`` on kernels without the series)."""

    # memory pressure accepted: PSI "some", percent of wall time over a cycle (0.2 % ~ Senpai's 10 ms / 6 s)
    psi_target: Percent = 0.2
    # "max": anon only where the kernel takes swappiness=max (probed; else 200); or a number 0..200
    swappiness: Literal["max"] | Annotated[int, Field(ge=0, le=200)] = "max"
    # the pacer (pacing.ReclaimPacer): first window and additive increase per clean cycle (None: 1/16 of
    # budget_per_cycle); refaults per reclaimed page that mean the cold memory is exhausted; longest pause
    probe: Size | None = None
    refault_tolerance: float = Field(default=0.25, ge=0.0, le=100.0, allow_inf_nan=False)
    max_hold: int = Field(default=64, ge=1, le=10_000)


class TargetPolicy(_Strict):
    path: str
    name: str | None = None
    descendants: bool = False
    mode: Literal["sequential", "concurrent"] = "sequential"
    step: Step = 4 << 20
    step_interval: Duration = 1.0
    budget_per_cycle: Size = 64 << 20
    budget_per_hour: Size = 1 << 30
    min_zswap: Size = 0
    age: Duration | None = None
    reclaim_step: Size = 0
    # zero-progress EAGAIN answers tolerated per cycle: v5 rotates up to 16*64 referenced entries per call and
    # answers EAGAIN having written nothing (second chance, kernel-semantics §5 Q3); the next call then makes progress
    eagain_retries: EagainRetries = 4
    guard_scope: GuardScope = "target"
    # what the agent does to the target: "writeback" (the series' proactive zswap writeback), "reclaim"
    # (PSI-paced memory.reclaim: cold anon -> zswap, on any kernel), "observe" (write nothing), or "auto":
    # writeback where the kernel has the series, reclaim elsewhere
    action: Literal["auto", "writeback", "reclaim", "observe"] = "auto"
    reclaim: ReclaimPacing = ReclaimPacing()
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
        out = "/" + "/".join(parts)
        try:
            compile_glob(out)
        except GlobError as e:
            raise ValueError(str(e)) from None
        return out

    @field_validator("age")
    @classmethod
    def _age(cls, v: float | None) -> float | None:
        if v is not None and v <= 0:
            raise ValueError("age must be > 0")
        return v

    @property
    def label(self) -> str:
        """The ``name`` label of this entry's metrics: its ``name``, else its path pattern."""
        return self.name or self.path


class AgentSection(_Strict):
    mount: str = "/sys/fs/cgroup"
    interval: Duration = 60.0
    workers: int = Field(default=4, ge=1, le=256)
    metrics_addr: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)  # 0 = no endpoint
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: float) -> float:
        if v < MIN_INTERVAL_S:
            raise ValueError(f"interval must be at least {MIN_INTERVAL_S}s (a shorter one busy-loops)")
        return v

    @field_validator("metrics_addr")
    @classmethod
    def _addr(cls, v: str) -> str:
        try:
            ipaddress.ip_address(v)
        except ValueError:
            raise ValueError(f"expected an IP address like 127.0.0.1 or ::1, got {v!r}") from None
        return v


class SimSection(_Strict):
    scenario: Literal["premature-abort"] = "premature-abort"
    profile: Annotated[str, AfterValidator(check_profile)] = "v5"  # any profile of zswaplab.kernel.profiles
    seed: int = 0
    mb_per_child: int = Field(default=200, ge=1, le=65536)
    cycles: int = Field(default=20, ge=1, le=1_000_000)


class Policy(_Strict):
    agent: AgentSection = AgentSection()
    targets: tuple[TargetPolicy, ...]
    sim: SimSection = SimSection()
    source: str = "<string>"


_TARGET_KEYS = set(TargetPolicy.model_fields)


def _merge(defaults: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for k, v in target.items():
        if k in ("guardrails", "on_trip", "reclaim") and isinstance(v, dict) and isinstance(out.get(k), dict):
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
        raw = parse_toml(text)
    except TomlInputError as e:
        raise PolicyError(file, e.line, "", e.message) from None
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
        text = read_utf8(p)
    except OSError as e:
        raise PolicyError(str(p), None, "", f"cannot read: {e.strerror}") from None
    except TomlInputError as e:
        raise PolicyError(str(p), e.line, "", e.message) from None
    return loads(text, str(p))
