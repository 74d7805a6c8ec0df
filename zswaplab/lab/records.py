"""What a run records: the only input of the metrics and the report (data flows scenario → model → records
→ metrics → report). Plain frozen dataclasses, JSON-serialisable through :func:`to_json`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class WritebackRecord:
    """One successful ``zswap_writeback_entry`` (from the model's writeback log)."""

    clock_ns: int
    owner: str  # memcg path of the entry's owner at writeback time
    page_id: int
    length: int  # compressed bytes
    proactive: bool
    call: int | None  # index of the proactive call that wrote it (None: store path / shrink_worker)
    group: str | None  # population group of the page (None: not a tracked page)


@dataclass(frozen=True, slots=True)
class RefaultRecord:
    """A written-back page read back from disk (pswpin): the refault an agent sees."""

    clock_ns: int
    owner: str
    page_id: int
    group: str | None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One proactive writeback call and what it wrote, split by child of the metrics parent."""

    index: int  # 0-based, counts proactive calls of the run
    clock_ns: int
    target: str
    file: str
    text: str
    errno: int  # 0 = success, else the OSError errno
    pages: dict[str, int]  # child path -> pages written back by this call
    bytes: dict[str, int]  # child path -> compressed bytes written back by this call
    label: str = ""


@dataclass(frozen=True, slots=True)
class AgentStep:
    step: int
    clock_ns: int
    errno: int
    written_pages: dict[str, int]  # cumulative per child
    refaulted_pages: dict[str, int]  # cumulative per child (written-back pages read back from disk)
    # per child: bytes/s of refaults over the step (memory.stat pswpin × PAGE_SIZE / step length): what the
    # agent's refault_rate guardrail reads
    refault_rate: dict[str, float]


@dataclass(frozen=True, slots=True)
class AgentRun:
    target: str
    threshold: float  # the refault_rate guardrail, bytes/s
    steps: list[AgentStep]
    aborted: bool
    abort_step: int | None  # 1-based step after which the agent aborted
    abort_child: str | None
    bytes_by_group: dict[str, int]  # compressed bytes written back while the agent ran, per population group
    pages_by_group: dict[str, int]
    outcomes: list[list[str]] = field(default_factory=list)  # the agent's outcome of each target, per cycle


@dataclass(frozen=True, slots=True)
class CheckResult:
    label: str
    memcg: str
    stat: str
    op: str
    expected: int
    actual: int | None
    passed: bool


@dataclass(frozen=True, slots=True)
class ExpectResult:
    label: str
    text: str
    expected: list[str]
    got: str
    passed: bool


@dataclass
class RunRecord:
    """Everything one variant run produced."""

    scenario: str
    variant: str
    axes: dict[str, Any]
    profile: str
    strategy: str | None
    seed: int
    parent: str | None  # metrics parent
    children: list[str]  # its direct children at the start of the first proactive call
    eligible: dict[str, int]  # child -> zswap bytes (writeback-enabled) before the first proactive call
    calls: list[CallRecord] = field(default_factory=list)
    writebacks: list[WritebackRecord] = field(default_factory=list)
    refaults: list[RefaultRecord] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # {step, clock_ns, action, memcg, stat}
    agents: list[AgentRun] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    expects: list[ExpectResult] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)  # debugfs + shrink_worker counters at the end
    placement: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> page states after setup
    zswap_bytes: dict[str, int] = field(default_factory=dict)  # group -> compressed bytes in zswap after setup
    wall_seconds: float = 0.0


def to_json(obj: Any) -> Any:
    """Dataclasses → dicts, recursively (for json.dumps)."""
    if hasattr(obj, "__dataclass_fields__"):
        return {k: to_json(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json(v) for v in obj]
    return obj
