"""The lab's agent action runs zswaplab.agent itself (one agent), and its records follow what the agent did."""

from __future__ import annotations

from pathlib import Path

import pytest

from zswaplab.agent.policy import Policy
from zswaplab.lab.agentrun import policy_of, request_bytes
from zswaplab.lab.runner import run_variant
from zswaplab.lab.schema import ScenarioError, load_scenario, parse_scenario

B = Path(__file__).resolve().parents[2] / "scenarios" / "b_premature_abort.toml"


def _run(strategy: str, rate: str = "64K/s"):
    text = B.read_text().replace('refault_rate = "64K/s"', f'refault_rate = "{rate}"')
    sf = parse_scenario(text, str(B))
    (v,) = sf.variants(reduced=True, overrides={"strategy": [strategy]})
    return run_variant(v, scenario_name=sf.name, snapshots=False)


def test_policy_is_the_agents_own():
    sf = load_scenario(B)
    a = sf.variants(reduced=True)[0].scenario.timeline[0]
    p = policy_of(a)
    assert isinstance(p, Policy)
    (t,) = p.targets
    assert (t.path, t.step, t.step_interval, t.guard_scope) == ("/parent", 32 << 10, 0.5, "children")
    assert t.guardrails.refault_rate == 64 << 10 and t.budget_per_cycle == 200 * (32 << 10)


def test_every_agent_write_is_a_call_and_a_step_and_the_trip_names_the_child():
    rec, m = _run("restart")
    (a,) = rec.agents
    assert a.outcomes == [["tripped"]] and a.aborted and a.abort_child == "/parent/c0"
    # one recorded call per agent write (the zero-byte capability probe is not one), one step per call
    assert len(rec.calls) == len(a.steps) == a.abort_step
    assert all(request_bytes(c.text) == 32 << 10 for c in rec.calls)
    # the step that tripped saw c0's refaults above the guardrail (bytes/s of pswpin over the step)
    assert a.steps[-1].refault_rate["/parent/c0"] > a.threshold
    assert all(s.refault_rate["/parent/c0"] <= a.threshold for s in a.steps[:-1])
    assert sum(m["pages"].values()) == sum(a.pages_by_group.values())


def test_without_a_reachable_guardrail_the_agent_spends_its_budget():
    rec, _m = _run("restart", rate="1G/s")
    (a,) = rec.agents
    assert not a.aborted and a.outcomes[0][0] != "tripped"
    # it writes everything of c0 it can reach before the budget or the memory runs out
    assert a.bytes_by_group["active"] > 0


def test_a_rate_needs_its_unit():
    text = B.read_text().replace('refault_rate = "64K/s"', "refault_rate = 64")
    with pytest.raises(ScenarioError, match=r"refault_rate: write a rate with its unit, e.g. '64K/s'"):
        parse_scenario(text, "b.toml")


@pytest.mark.parametrize("step,message", [("0", "step must be > 0"), ("16777216T", r"2\^64 bytes or more")])
def test_step_is_validated_by_the_agents_own_validator(step, message):
    """The lab's ``step`` and the agent policy's ``step`` are one type (zswaplab.agent.policy.Step): the same
    values are refused with the same message."""
    from zswaplab.agent.policy import PolicyError, loads

    with pytest.raises(PolicyError, match=message):
        loads(f'[[target]]\npath = "/a"\nstep = "{step}"\n')
    text = B.read_text().replace('step = "32K"', f'step = "{step}"', 1)
    with pytest.raises(ScenarioError, match=rf"step.*{message}"):
        parse_scenario(text, str(B))
