"""The writeback control loop's decisions, pure (no I/O): what a target does before, between and after its
steps in one cycle. The engine performs the I/O (samples, the write, waits) and asks these functions what
follows; the outcome names are the ones in logs, metrics and cycle reports (docs/agent.md §3).

Comparable in size to oomd Senpai's ``tick``: gate -> (plan a request -> write -> judge the answer)*.
"""

from __future__ import annotations

from enum import StrEnum

from ..kernel.constants import PAGE_SIZE


class Outcome(StrEnum):
    """How a target's cycle ended (``TargetResult.outcome``; ``error:<ERRNO>`` is added by the engine)."""

    DONE = "done"  # still running
    OBSERVE_ONLY = "observe_only"
    BELOW_MIN_ZSWAP = "below_min_zswap"
    QUOTA_CYCLE = "quota_cycle"
    QUOTA_HOUR = "quota_hour"
    STEP_CAP = "step_cap"
    EXHAUSTED = "exhausted"
    ABANDONED = "abandoned"
    STOPPED = "stopped"


class Step(StrEnum):
    """What one writeback step's answer was (``steps_total{outcome}``)."""

    OK = "ok"
    EAGAIN = "eagain"  # partial writeback: what was written counts
    ERROR = "error"
    NO_PROGRESS = "no_progress"  # accepted, nothing written (v4 rounding, v2 semantics)
    ABANDONED = "abandoned"  # a signal interrupted the write


def max_steps(budget_per_cycle: int, step: int, eagain_retries: int) -> int:
    """Defensive bound on steps per cycle (the budget is charged with what was written, so steps that write
    little could otherwise go on)."""
    return 4 * -(-budget_per_cycle // step) + eagain_retries + 4


def gate(*, action: str, writes: bool, zswap: int | None, min_zswap: int) -> Outcome:
    """Before the first step (guardrails passed): DONE to go on, or why this cycle writes nothing."""
    if action == "writeback" and zswap is not None and zswap < min_zswap:
        return Outcome.BELOW_MIN_ZSWAP
    if action == "observe" or (action == "writeback" and not writes):
        return Outcome.OBSERVE_ONLY
    return Outcome.DONE


def plan(*, allowance: int, exhausted_by: str | None, step: int, page_granular: bool, steps: int,
         step_cap: int) -> int | Outcome:
    """The next request in bytes, or the outcome that ends the cycle instead."""
    if allowance <= 0:
        return Outcome.QUOTA_HOUR if exhausted_by == "hour" else Outcome.QUOTA_CYCLE
    req = min(step, allowance)
    if page_granular:
        req -= req % PAGE_SIZE  # page-unit budgets: a sub-page request is a no-op
    if req < PAGE_SIZE:
        return Outcome.QUOTA_CYCLE
    if steps >= step_cap:
        return Outcome.STEP_CAP
    return req


def judge(*, abandoned: bool, eagain: bool, error: bool, written: int, zero_progress: int,
          retries: int) -> tuple[Step, int, Outcome]:
    """A step's answer -> (its kind, the new count of zero-progress answers, DONE or the cycle's end).

    ``written`` is the counter delta (-1: not measurable). Zero-progress answers (EAGAIN having written
    nothing, or accepted with nothing written) beyond ``retries`` exhaust the target for this cycle; any
    progress resets the count. An error other than EAGAIN is left to the caller (errno-specific outcome)."""
    if abandoned:
        return Step.ABANDONED, zero_progress, Outcome.ABANDONED
    if eagain:
        zp = 0 if written > 0 else zero_progress + 1
        return Step.EAGAIN, zp, Outcome.EXHAUSTED if zp > retries else Outcome.DONE
    if error:
        return Step.ERROR, zero_progress, Outcome.DONE
    if written == 0:
        zp = zero_progress + 1
        return Step.NO_PROGRESS, zp, Outcome.EXHAUSTED if zp > retries else Outcome.DONE
    return Step.OK, 0, Outcome.DONE
