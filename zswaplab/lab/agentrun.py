"""The lab's ``action = "agent"``: :mod:`zswaplab.agent` itself, on its ``sim`` backend, driving the lab's model.

There is one agent. The lab builds an agent :class:`~zswaplab.agent.policy.Policy` from the action (one
``[[target]]``), and runs :class:`~zswaplab.agent.engine.Agent` on a :class:`~zswaplab.agent.sim.SimBackend`
over the same kernel the runner set up. Two hooks tie the agent to the runner, and change nothing the agent
decides:

* every ``write()`` the agent makes is reported (:meth:`AgentHooks.wrote`), so the runner records it as a
  proactive call (per-child pages and bytes, errno) exactly as it records its own calls;
* the agent's waits advance the clock through the runner (:meth:`AgentHooks.wait`), so the scenario's "active"
  pages are read back at their due times while the agent sleeps.

The agent's zero-byte capability probes (``"0 source=zswap"`` ...) are not calls of the run.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from ..agent.backend import CgroupRef, UnsafePath
from ..agent.engine import Agent, CycleReport
from ..agent.logs import EventLog
from ..agent.policy import AgentSection, Guardrails, OnTrip, Policy, TargetPolicy
from ..agent.sim import SimBackend, SimHandle
from ..common.units import memparse
from .schema import AgentAction

_QUIET = logging.getLogger("zswaplab.lab.agent")  # the agent's events are not printed during a lab run
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


class AgentHooks(Protocol):
    def wrote(self, path: str, file: str, text: str, err: int) -> None:
        """The agent wrote ``text`` to ``path/file`` (``err``: 0 or the errno the kernel answered)."""

    def wait(self, seconds: float) -> None:
        """The agent waits ``seconds`` of simulated time."""


def request_bytes(text: str) -> int | None:
    """Bytes asked for by a proactive request (``"32K source=zswap"``, ``"max=32K 1"``); None if unparsable."""
    first = text.split()[0] if text.split() else ""
    try:
        return memparse(first.removeprefix("max="))
    except ValueError:
        return None


class _Handle(SimHandle):
    backend: _LabBackend

    def write(self, fname: str, data: str) -> None:
        try:
            super().write(fname, data)
        except UnsafePath:
            raise
        except OSError as e:
            self.backend.hooks.wrote(self.ref.path, fname, data, e.errno or 5)
            raise
        self.backend.hooks.wrote(self.ref.path, fname, data, 0)


class _LabBackend(SimBackend):
    def __init__(self, kernel: object, hooks: AgentHooks) -> None:
        super().__init__(kernel)  # type: ignore[arg-type]
        self.hooks = hooks

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        if not stop.is_set() and seconds > 0:
            self.hooks.wait(seconds)

    def open(self, ref: CgroupRef, keep: bool = False) -> _Handle:
        super().open(ref, keep)  # ENOENT if gone
        return _Handle(self, ref)


def policy_of(a: AgentAction) -> Policy:
    """The agent policy the action stands for: one target, its step, guardrail and per-cycle budget."""
    budget = a.max_steps * a.step
    return Policy(
        agent=AgentSection(interval=a.cycle_interval),
        targets=(TargetPolicy(
            path=a.target, step=a.step, step_interval=a.step_interval, budget_per_cycle=budget,
            budget_per_hour=budget * a.cycles, eagain_retries=a.eagain_retries, guard_scope=a.guard_scope,
            guardrails=Guardrails(refault_rate=a.refault_rate), on_trip=OnTrip(action=a.on_trip)),),
    )


def run_agent(kernel: object, a: AgentAction, hooks: AgentHooks) -> list[CycleReport]:
    """Run ``zswaplab.agent`` for ``a.cycles`` cycles on ``kernel`` (a Kernel or FastKernel)."""
    backend = _LabBackend(kernel, hooks)
    agent = Agent(policy_of(a), backend, events=EventLog(_QUIET, clock=backend.now))
    return agent.run(max_cycles=a.cycles)


__all__ = ["AgentHooks", "policy_of", "request_bytes", "run_agent"]
