"""Scenario files: the TOML schema, validation with file/line/field errors, params and the variant matrix.

A scenario file has these parts (docs/scenarios.md has the full reference):

* ``[scenario]`` name, description, seed, default profile/strategy;
* ``[params]`` named values referenced anywhere as ``"${name}"``; ``[params.reduced]`` overrides them
  for the reduced (test/demo) size;
* ``[kernel]`` the model's configuration (RAM, swap, pool limits, profile constants overrides);
* ``[compression]`` the default compression-ratio distribution (compressed length / PAGE_SIZE);
* ``[[memcg]]`` the tree (``count`` + ``{i}`` in the path expands to several memcgs);
* ``[[population]]`` per-memcg page groups (size, where: zswap/ram, age, whether they are "active");
* ``[[timeline]]`` the actions (``action = "proactive" | "reclaim" | "touch" | ...``);
* ``[[check]]`` assertions on final memory.stat values (the selftests);
* ``[matrix]`` axes (profile, strategy, wb_batch, ... or any param) whose product gives the run variants;
* ``[metrics]`` which memcg's children the fairness metrics compare.

Errors are :class:`ScenarioError` with messages ``file:line: field.path: message``.
"""

from __future__ import annotations

import difflib
import itertools
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..agent.policy import EagainRetries, GuardScope, Step, TripAction
from ..common.tomlpos import TomlInputError, format_path, key_lines, line_of, parse_toml, read_utf8
from ..common.units import memparse, parse_rate
from ..kernel.profiles import PROFILES, STRATEGIES, check_profile
from ..kernel.strategies import strategy_of

KNOWN_PROFILES = tuple(PROFILES)  # kernel/profiles.py is the single source
KNOWN_STRATEGIES = STRATEGIES
KERNEL_AXES = ("profile", "strategy", "wb_batch", "scan_ratio", "bypass_second_chance")
ERRNO_NAMES = ("EAGAIN", "EINVAL", "EINTR", "ENOENT", "EBUSY", "EOPNOTSUPP", "ENOMEM", "EEXIST")


class ScenarioError(ValueError):
    """A scenario file is invalid; the message names file, line and field."""


def _size(v: Any) -> int:
    return memparse(v)


def _size_or_max(v: Any) -> int | None:
    if v == "max":
        return None
    return memparse(v)


Size = Annotated[int, BeforeValidator(_size)]
SizeOrMax = Annotated[int | None, BeforeValidator(_size_or_max)]
Seconds = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Compression(_Model):
    """Distribution of compressed length as a ratio of PAGE_SIZE (>= 1.0 means incompressible)."""

    kind: Literal["fixed", "uniform", "normal", "choice"] = "fixed"
    ratio: float | None = Field(default=None, ge=0, le=1.5)
    low: float | None = Field(default=None, ge=0, le=1.5)
    high: float | None = Field(default=None, ge=0, le=1.5)
    mean: float | None = Field(default=None, ge=0, le=1.5)
    stddev: float | None = Field(default=None, ge=0)
    values: list[Annotated[float, Field(ge=0, le=1.5)]] | None = None
    weights: list[Annotated[float, Field(gt=0)]] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Compression:
        need = {"fixed": ("ratio",), "uniform": ("low", "high"), "normal": ("mean", "stddev"), "choice": ("values",)}
        for name in need[self.kind]:
            if getattr(self, name) is None:
                raise ValueError(f"kind={self.kind!r} needs field {name!r}")
        if self.kind == "uniform" and self.low > self.high:  # type: ignore[operator]
            raise ValueError("low must be <= high")
        if self.kind == "choice":
            if not self.values:
                raise ValueError("values must not be empty")
            if self.weights is not None and len(self.weights) != len(self.values):
                raise ValueError("weights must have as many entries as values")
        return self


class ScenarioMeta(_Model):
    name: str
    description: str = ""
    seed: int = 0
    profile: str = "v5"
    strategy: str | None = None
    question: str = ""

    @field_validator("profile")
    @classmethod
    def _profile(cls, v: str) -> str:
        return _check_profile(v)

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, v: str | None) -> str | None:
        return None if v is None else _check_strategy(v)


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` (empty when none is close)."""
    hits = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {hits[0]!r}?" if hits else ""


_check_profile = check_profile


def _check_strategy(v: str) -> str:
    if v not in KNOWN_STRATEGIES:
        same = strategy_of(v)
        hint = f"; the checker's {v} is the strategy {same!r}" if same else did_you_mean(v, KNOWN_STRATEGIES)
        raise ValueError(f"unknown strategy {v!r} (known: {', '.join(KNOWN_STRATEGIES)}){hint}")
    return v


class KernelSpec(_Model):
    totalram: Size = 8 << 30
    swap: Size = 32 << 30
    nr_nodes: int = Field(default=1, ge=1, le=64)
    shrinker_enabled: bool = False
    max_pool_percent: int = Field(default=20, ge=0, le=100)
    accept_threshold_percent: int = Field(default=90, ge=0, le=100)
    wb_batch: int | None = Field(default=None, ge=1)
    scan_ratio: int | None = Field(default=None, ge=1)
    bypass_second_chance: bool | None = None


_PATH_RE = re.compile(r"^/([A-Za-z0-9_.{}-]+(/[A-Za-z0-9_.{}-]+)*)?$")


def _check_cgroup_path(v: str) -> str:
    if not _PATH_RE.match(v):
        raise ValueError(f"not a cgroup path: {v!r} (absolute, like '/parent/child')")
    return v


CgPath = Annotated[str, BeforeValidator(lambda v: _check_cgroup_path(v) if isinstance(v, str) else v)]


class MemcgSpec(_Model):
    path: CgPath
    count: int | None = Field(default=None, ge=1, le=100_000)
    memory_max: SizeOrMax = None
    zswap_max: SizeOrMax = None
    zswap_writeback: bool = True

    @model_validator(mode="after")
    def _template(self) -> MemcgSpec:
        _check_template(self.path, self.count)
        if self.path == "/":
            raise ValueError("the root memcg exists already; do not list '/'")
        return self


def _check_template(path: str, count: int | None) -> None:
    if count is None and "{i}" in path:
        raise ValueError("'{i}' in a path needs 'count'")
    if count is not None and "{i}" not in path:
        raise ValueError("'count' needs '{i}' in the path")


class Population(_Model):
    """A group of pages charged to one memcg (or to each memcg of a ``count`` template)."""

    memcg: CgPath
    count: int | None = Field(default=None, ge=1, le=100_000)
    name: str
    size: Size | None = None
    pages: int | None = Field(default=None, ge=0)
    where: Literal["zswap", "ram"] = "zswap"
    age: Seconds = 0.0
    refault_after: Seconds | None = None
    compression: Compression | None = None

    @model_validator(mode="after")
    def _amount(self) -> Population:
        _check_template(self.memcg, self.count)
        if (self.size is None) == (self.pages is None):
            raise ValueError("give exactly one of 'size' (bytes) or 'pages'")
        return self


class _Action(_Model):
    at: Seconds | None = None
    profiles: list[str] | None = None
    label: str = ""

    @field_validator("profiles")
    @classmethod
    def _profiles(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            for p in v:
                _check_profile(p)
        return v


Expect = list[Literal["OK", "EAGAIN", "EINVAL", "EINTR", "ENOENT", "EBUSY", "EOPNOTSUPP", "ENOMEM", "EEXIST"]]


class ProactiveAction(_Action):
    """A proactive writeback request on ``target`` in the profile's own interface (kernel-semantics §2)."""

    action: Literal["proactive"]
    target: CgPath
    size: Size | Literal["zswap.current"]
    repeat: int = Field(default=1, ge=1)
    interval: Seconds = 0.0
    age: int = Field(default=1, ge=0)  # v1 only: the "<age_seconds>" argument
    expect: Expect | None = None


class ReclaimAction(_Action):
    """A plain ``memory.reclaim`` push (``"<size> [swappiness=N]"``)."""

    action: Literal["reclaim"]
    target: CgPath
    size: Size
    swappiness: int | Literal["max"] | None = None
    repeat: int = Field(default=1, ge=1)
    interval: Seconds = 0.0
    expect: Expect | None = None


class TouchAction(_Action):
    """Access pages of a population group: zswap pages fault in (zswpin), disk pages are read (pswpin)."""

    action: Literal["touch"]
    group: str
    memcg: CgPath | None = None
    fraction: float = Field(default=1.0, gt=0, le=1)
    states: list[Literal["ram", "zswap", "disk"]] = ["ram", "zswap", "disk"]


class AllocAction(_Action):
    action: Literal["alloc"]
    memcg: CgPath
    group: str
    size: Size | None = None
    pages: int | None = Field(default=None, ge=0)
    compression: Compression | None = None

    @model_validator(mode="after")
    def _amount(self) -> AllocAction:
        if (self.size is None) == (self.pages is None):
            raise ValueError("give exactly one of 'size' (bytes) or 'pages'")
        return self


class FreeAction(_Action):
    action: Literal["free"]
    group: str
    memcg: CgPath | None = None


class MkdirAction(_Action):
    action: Literal["mkdir"]
    path: CgPath


class RmdirAction(_Action):
    action: Literal["rmdir"]
    path: CgPath


class SetAction(_Action):
    """Write a knob: limits and the writeback switch."""

    action: Literal["set"]
    target: CgPath
    file: Literal["memory.max", "memory.zswap.max", "memory.zswap.writeback", "memory.swap.max", "memory.high"]
    value: str | int | bool


class WriteAction(_Action):
    """Write raw text to a cgroup file; ``{key}`` in text becomes the profile's proactive key word."""

    action: Literal["write"]
    target: CgPath
    file: str
    text: str
    expect: Expect | None = None


class AdvanceAction(_Action):
    action: Literal["advance"]
    seconds: Seconds


def _rate(v: Any) -> float:
    """A rate written with its unit (``"64K/s"``: bytes per second); a bare number is refused, not guessed."""
    if not isinstance(v, str) or not v.strip().endswith("/s"):
        raise ValueError(f"write a rate with its unit, e.g. '64K/s' (bytes per second), got {v!r}")
    return parse_rate(v)


Rate = Annotated[float, BeforeValidator(_rate)]


class AgentAction(_Action):
    """Run ``zswaplab.agent`` (its sim backend) on the model (kernel-semantics §3.5, Hao's scenario): one target, ``step``
    bytes per request, ``step_interval`` between requests, a ``refault_rate`` guardrail evaluated on every direct
    child (``guard_scope = "children"``); the agent's cycle ends when a child's refaults (memory.stat pswpin,
    bytes/s over a step) exceed it. ``max_steps`` × ``step`` is the per-cycle budget."""

    action: Literal["agent"]
    target: CgPath
    step: Step  # the agent policy's types and validators (zswaplab.agent.policy), not a copy
    step_interval: Seconds = 1.0
    max_steps: int = Field(default=200, ge=1)
    refault_rate: Rate
    guard_scope: GuardScope = "children"
    on_trip: TripAction = "stop-cycle"
    eagain_retries: EagainRetries = 4
    cycles: int = Field(default=1, ge=1)
    cycle_interval: Seconds = 60.0


class TrickleAction(_Action):
    """Every ``every`` seconds allocate ``pages`` in ``target`` and push them out with memory.reclaim
    (the global-shrinker test of kernel-semantics §2.6)."""

    action: Literal["trickle"]
    target: CgPath
    every: float = Field(gt=0)
    duration: float = Field(gt=0)
    pages: int = Field(default=1, ge=1)
    compression: Compression | None = None


Action = Annotated[
    ProactiveAction
    | ReclaimAction
    | TouchAction
    | AllocAction
    | FreeAction
    | MkdirAction
    | RmdirAction
    | SetAction
    | WriteAction
    | AdvanceAction
    | AgentAction
    | TrickleAction,
    Field(discriminator="action"),
]


class Check(_Model):
    """An assertion on a final memory.stat (or debugfs / counter) value; reported pass/fail."""

    memcg: CgPath = "/"
    stat: str
    op: Literal[">", ">=", "==", "<=", "<", "!="]
    value: int | str = 0  # an int, or the name of another stat of the same memcg
    delta: bool = True  # compare the change over the timeline (after - before setup end)
    call: int | None = Field(default=None, ge=0)  # check what proactive call #call wrote (stat: pages|bytes)
    profiles: list[str] | None = None
    label: str = ""

    @model_validator(mode="after")
    def _call_stat(self) -> Check:
        if self.call is not None and self.stat not in ("pages", "bytes"):
            raise ValueError("with 'call', stat must be 'pages' or 'bytes' (what that proactive call wrote)")
        return self


class MetricsSpec(_Model):
    parent: CgPath | None = None  # whose children the fairness metrics compare (default: first proactive target)
    starve_k: list[Annotated[int, Field(ge=1)]] = [10, 50, 200]
    active_window: Seconds = 10.0


class Scenario(_Model):
    scenario: ScenarioMeta
    params: dict[str, Any] = {}
    kernel: KernelSpec = KernelSpec()
    compression: Compression = Compression(kind="fixed", ratio=0.25)
    memcg: list[MemcgSpec] = []
    population: list[Population] = []
    timeline: list[Action] = []
    check: list[Check] = []
    matrix: dict[str, list[Any]] = {}
    metrics: MetricsSpec = MetricsSpec()

    @field_validator("matrix")
    @classmethod
    def _matrix(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for axis, values in v.items():
            if not values:
                raise ValueError(f"matrix axis {axis!r} has no values")
            if axis == "profile":
                for p in values:
                    _check_profile(p)
            if axis == "strategy":
                for s in values:
                    if s is not None and s != "default":
                        _check_strategy(s)
        return v


# --------------------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class Variant:
    """One run of a scenario: the validated scenario with params substituted and kernel axes fixed."""

    name: str
    axes: dict[str, Any]
    scenario: Scenario
    profile: str
    strategy: str | None


@dataclass(frozen=True)
class ScenarioFile:
    path: str
    raw: dict[str, Any]
    lines: dict[tuple[str | int, ...], int]
    base: Scenario  # validated with default (full) params

    @property
    def name(self) -> str:
        return self.base.scenario.name

    def variants(
        self,
        *,
        reduced: bool = False,
        overrides: dict[str, list[Any]] | None = None,
        override_origin: Mapping[str, str] | None = None,
    ) -> list[Variant]:
        """Expand the matrix (with ``overrides`` replacing or adding axes) into validated variants.

        ``override_origin`` names where each override came from (``{"step": "--set step=12Q"}``), so an error
        in an overridden value is reported there rather than at a line of the file."""
        axes = dict(self.base.matrix)
        origin = {k: f"{self._where(('matrix', k))}: matrix.{k}" for k in axes}
        for k, v in (overrides or {}).items():
            axes[k] = list(v)
            origin[k] = (override_origin or {}).get(k, f"override {k}")
            checks = {"profile": _check_profile, "strategy": _check_strategy}
            for value in v if k in checks else []:
                if not (k == "strategy" and value == "default"):
                    try:
                        checks[k](value)
                    except ValueError as e:
                        raise ScenarioError(f"{origin[k]}: {e}") from None
        known = list(KERNEL_AXES) + list(self._params(reduced))
        for k in axes:
            if k not in known:
                raise ScenarioError(
                    f"{origin[k]}: not a kernel axis ({', '.join(KERNEL_AXES)}) nor a [params] name"
                    f"{did_you_mean(k, known)}"
                )
        names = list(axes)
        out = []
        for combo in itertools.product(*(axes[n] for n in names)) if names else [()]:
            chosen = dict(zip(names, combo, strict=True))
            params = self._params(reduced)
            params.update({k: v for k, v in chosen.items() if k not in KERNEL_AXES})
            raw = _substitute(self.raw, params, ())
            raw.pop("params", None)
            raw.pop("matrix", None)
            sc = _validate(raw, self.path, self.lines, template=self.raw,
                           origins={**self._param_origins(reduced), **{k: origin[k] for k in chosen}})
            profile = chosen.get("profile", sc.scenario.profile)
            strategy = chosen.get("strategy", sc.scenario.strategy)
            if strategy == "default":
                strategy = None
            kern = sc.kernel.model_dump()
            for k in ("wb_batch", "scan_ratio", "bypass_second_chance"):
                if k in chosen:
                    kern[k] = chosen[k]
            sc = sc.model_copy(update={"kernel": KernelSpec(**kern)})
            name = ",".join(f"{k}={_short(v)}" for k, v in chosen.items()) or "default"
            out.append(Variant(name=name, axes=chosen, scenario=sc, profile=profile, strategy=strategy))
        return out

    def _params(self, reduced: bool) -> dict[str, Any]:
        params = {k: v for k, v in self.raw.get("params", {}).items() if k != "reduced"}
        if reduced:
            params.update(self.raw.get("params", {}).get("reduced", {}))
        return params

    def _param_origins(self, reduced: bool) -> dict[str, str]:
        """param name -> where its value is written (``file:line: params.name``)."""
        out = {k: f"{self._where(('params', k))}: params.{k}" for k in self._params(False)}
        if reduced:
            out.update({k: f"{self._where(('params', 'reduced', k))}: params.reduced.{k}"
                        for k in self.raw.get("params", {}).get("reduced", {})})
        return out

    def _where(self, path: tuple[str | int, ...]) -> str:
        line = line_of(self.lines, path)
        return f"{self.path}:{line}" if line else self.path


def _short(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


_PARAM_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute(node: Any, params: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, params, path + (k,)) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, params, path + (i,)) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:
        whole = _PARAM_RE.fullmatch(node)
        if whole:
            return params[whole.group(1)] if whole.group(1) in params else _Missing(whole.group(1))
        return _PARAM_RE.sub(lambda m: str(params.get(m.group(1), m.group(0))), node)
    return node


class _Missing(str):
    """Placeholder for an undefined ``${param}``; rejected by validation with a clear message."""

    def __new__(cls, name: str) -> _Missing:
        obj = super().__new__(cls, "${" + name + "}")
        obj.param = name  # type: ignore[attr-defined]
        return obj


def _find_missing(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _find_missing(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _find_missing(v, path + (i,))
    elif isinstance(node, str) and _PARAM_RE.search(node):
        for m in _PARAM_RE.finditer(node):
            yield path, m.group(1)


def _node_at(node: Any, loc: tuple[str | int, ...]) -> Any:
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types inside ``Annotated``/``Optional``/union annotations."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def _fields_at(raw: dict[str, Any], loc: tuple[str | int, ...]) -> list[str]:
    """The field names the schema allows in the table at ``loc`` (for "did you mean")."""
    candidates: list[Any] = [Scenario]
    node: Any = raw
    for part in loc:
        node = _node_at(node, (part,))
        nxt: list[Any] = []
        for c in candidates:
            if isinstance(part, int):
                if typing.get_origin(c) is list:
                    nxt += _unwrap(typing.get_args(c)[0])
            elif isinstance(c, type) and issubclass(c, BaseModel) and part in c.model_fields:
                nxt += _unwrap(c.model_fields[part].annotation)
        candidates = nxt
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    if len(models) > 1 and isinstance(node, dict):  # a tagged union: pick the one the table's tag names
        models = [m for m in models if "action" in m.model_fields
                  and node.get("action") in typing.get_args(m.model_fields["action"].annotation)] or models
    return sorted({f for m in models for f in m.model_fields})


def _message(err: Any, raw: dict[str, Any], loc: tuple[str | int, ...]) -> str:
    if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
        fields = _fields_at(raw, loc[:-1])
        return f"unknown field {loc[-1]!r}{did_you_mean(loc[-1], fields)} (allowed: {', '.join(fields)})"
    if err["type"] == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(err.get("ctx", {}).get("expected_tags", "")).split(",")]
        tag = err.get("ctx", {}).get("tag", "")
        return f"unknown action {tag!r}{did_you_mean(tag, tags)} (known: {', '.join(tags)})"
    return str(err["msg"]).removeprefix("Value error, ")


def _validate(raw: dict[str, Any], path: str, lines: dict[tuple[str | int, ...], int],
              template: dict[str, Any] | None = None, origins: Mapping[str, str] | None = None) -> Scenario:
    """Validate a substituted scenario. An error in a value that came from a ``${param}`` is reported where the
    value was written (``origins``: the [params] line, a [matrix] line or a command-line override) as well as
    where it was used."""
    for loc, name in _find_missing(raw, ()):
        line = line_of(lines, loc)
        where = f"{path}:{line}" if line else path
        raise ScenarioError(f"{where}: {format_path(loc)}: undefined parameter ${{{name}}} (define it in [params])")
    matrix = raw.get("matrix", {})
    if isinstance(matrix, dict):
        for axis, check in (("profile", _check_profile), ("strategy", _check_strategy)):
            for value in matrix.get(axis, []) if isinstance(matrix.get(axis), list) else []:
                if axis == "strategy" and value == "default":
                    continue
                try:
                    check(value)
                except ValueError as e:
                    line = line_of(lines, ("matrix", axis))
                    raise ScenarioError(f"{path}:{line}: matrix.{axis}: {e}") from None
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        msgs = []
        seen: set[tuple[str | int, ...]] = set()
        for err in e.errors():
            loc = _clean_loc(err["loc"], raw)
            if loc in seen:  # a union (size or "zswap.current"): the first alternative's message is enough
                continue
            seen.add(loc)
            if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc = loc + ("action",)
            line = line_of(lines, loc)
            where = f"{path}:{line}" if line else path
            msg = _message(err, raw, loc)
            used = _node_at(template, loc) if template is not None else None
            ref = _PARAM_RE.fullmatch(used) if isinstance(used, str) else None
            if ref and origins and ref.group(1) in origins:
                src = origins[ref.group(1)]
                value = "" if src.startswith("-") else f" = {_node_at(raw, loc)!r}"
                msgs.append(f"{src}{value} (used at {format_path(loc)}, {where}): {msg}")
            else:
                msgs.append(f"{where}: {format_path(loc) or '(top level)'}: {msg}")
        raise ScenarioError("\n".join(msgs)) from None


def _clean_loc(loc: tuple[Any, ...], raw: dict[str, Any]) -> tuple[str | int, ...]:
    """Drop pydantic's union-tag / validator segments (e.g. 'proactive', 'function-after[...]') from a loc."""
    out: list[str | int] = []
    node: Any = raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and not _is_internal(part):
            out.append(part)  # a missing required field
            node = None
        # else: internal segment (tagged-union name, validator name) -> skip
    return tuple(out)


def _is_internal(part: str) -> bool:
    return "[" in part or part in {
        "proactive", "reclaim", "touch", "alloc", "free", "mkdir", "rmdir", "set", "write", "advance", "agent",
        "trickle", "int", "str", "bool", "float", "function-before", "function-after", "literal",
    }


def load_scenario(path: str | Path) -> ScenarioFile:
    """Read and validate a scenario file; raise :class:`ScenarioError` naming file, line and field."""
    p = Path(path)
    try:
        text = read_utf8(p)
    except OSError as e:
        raise ScenarioError(f"{p}: cannot read: {e.strerror}") from None
    except TomlInputError as e:
        raise ScenarioError(f"{p}:{e.line}: {e.message}") from None
    return parse_scenario(text, str(p))


def parse_scenario(text: str, path: str = "<string>") -> ScenarioFile:
    try:
        raw = parse_toml(text)
    except TomlInputError as e:
        raise ScenarioError(f"{path}:{e.line}: {e.message}") from None
    lines = key_lines(text)
    params = raw.get("params", {})
    if not isinstance(params, dict) or not isinstance(params.get("reduced", {}), dict):
        raise ScenarioError(f"{path}:{line_of(lines, ('params',))}: params: must be a table")
    for name in params.get("reduced", {}):
        if name not in params:
            raise ScenarioError(
                f"{path}:{line_of(lines, ('params', 'reduced', name))}: params.reduced.{name}: "
                "not defined in [params]"
            )
    full = {k: v for k, v in params.items() if k != "reduced"}
    base_raw = _substitute(raw, full, ())
    base_raw.pop("params", None)
    matrix = base_raw.get("matrix", {})
    sf0 = ScenarioFile(path=path, raw=raw, lines=lines, base=Scenario.model_construct())
    base = _validate(base_raw, path, lines, template=raw, origins=sf0._param_origins(False))
    # every variant must validate too (both sizes): errors surface at load time, not mid-run
    sf = ScenarioFile(path=path, raw=raw, lines=lines, base=base)
    if matrix:
        sf.variants()
        sf.variants(reduced=True)
    elif params.get("reduced"):
        sf.variants(reduced=True)
    return sf


def expand_template(path: str, count: int | None) -> list[str]:
    """``("/p/c{i}", 3)`` → ``["/p/c0", "/p/c1", "/p/c2"]``."""
    if count is None:
        return [path]
    return [path.replace("{i}", str(i)) for i in range(count)]
