from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zswaplab.agent.policy import PolicyError, load, loads
from zswaplab.common.tomlpos import key_lines
from zswaplab.common.units import format_size, parse_duration, parse_rate, parse_size
from zswaplab.kernel.profiles import PROFILES

EXAMPLES = sorted((Path(__file__).parents[2] / "examples" / "agent").glob("*.toml"))


def err(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as ei:
        loads(text, "p.toml")
    return ei.value


def test_examples_load() -> None:
    assert EXAMPLES, "examples/agent/*.toml missing"
    for p in EXAMPLES:
        pol = load(p)
        assert pol.targets


def test_bad_value_names_file_line_field() -> None:
    e = err('[agent]\ninterval = "10s"\n\n[[target]]\npath = "/a"\n\n[[target]]\npath = "/b"\nstep = "lots"\n')
    assert (e.file, e.line, e.field) == ("p.toml", 9, "target[1].step")
    assert "p.toml:9: target[1].step:" in str(e)


def test_inherited_default_is_reported_at_defaults() -> None:
    e = err('[defaults]\nstep = "4M"\n[defaults.guardrails]\nrefault_rate = "fast"\n[[target]]\npath = "/a"\n')
    assert e.line == 4 and e.field == "defaults.guardrails.refault_rate"


def test_override_in_target_is_reported_in_target() -> None:
    e = err('[defaults.guardrails]\nrefault_rate = "1M/s"\n[[target]]\npath = "/a"\n[target.guardrails]\n'
            'refault_rate = "1M"\n')
    assert e.line == 6 and e.field == "target[0].guardrails.refault_rate"


def test_unknown_key_and_section() -> None:
    e = err('[[target]]\npath = "/a"\nstpe = "4M"\n')
    assert e.line == 3 and e.field == "target[0].stpe" and "unknown key" in e.message
    e = err('[agnet]\nx = 1\n[[target]]\npath = "/a"\n')
    assert e.line == 1 and e.field == "agnet"
    e = err('[defaults]\npaht = "/x"\n[[target]]\npath = "/a"\n')
    assert e.line == 2


def test_missing_path_and_targets() -> None:
    e = err('[[target]]\nstep = "4M"\n')
    assert e.field == "target[0].path" and e.line == 1 and "missing" in e.message
    e = err('[agent]\ninterval = "5s"\n')
    assert e.field == "target"


def test_unsafe_paths_rejected() -> None:
    for bad in ("/a/../b", "a/b", "/./a"):
        e = err(f'[[target]]\npath = "{bad}"\n')
        assert e.field == "target[0].path" and e.line == 2


def test_syntax_error_has_line() -> None:
    e = err('[[target]]\npath = "/a"\nstep = \n')
    assert e.line == 3 and "syntax" in e.message


def test_range_errors() -> None:
    assert err('[agent]\nworkers = 0\n[[target]]\npath = "/a"\n').field == "agent.workers"
    assert err('[[target]]\npath = "/a"\nmode = "parallel"\n').line == 3
    assert err('[[target]]\npath = "/a"\nstep = "0"\n').field == "target[0].step"
    assert err('[[target]]\npath = "/a"\n[target.guardrails]\npsi_some_avg10 = 150\n').line == 4


def test_key_lines_arrays_and_dotted() -> None:
    src = '[a]\nx = 1\n[[t]]\np = 1\n[[t]]\np = [\n 1,\n 2]\nq.r = 3\n[t.g]\nz = 1\n'
    lines = key_lines(src)
    assert lines[("a", "x")] == 2 and lines[("t", 0, "p")] == 4 and lines[("t", 1, "p")] == 6
    assert lines[("t", 1, "q", "r")] == 9 and lines[("t", 1, "g", "z")] == 11


@given(st.integers(min_value=0, max_value=1 << 50))
def test_size_roundtrip(n: int) -> None:
    assert parse_size(format_size(n)) == n


def test_units() -> None:
    assert parse_size("4M") == 4 << 20 and parse_size("1G") == 1 << 30 and parse_size(4096) == 4096
    assert parse_duration("500ms") == 0.5 and parse_duration("2m") == 120 and parse_duration(3) == 3.0
    assert parse_rate("1M/s") == float(1 << 20)
    for bad in ("4X", "-1", "M", True):
        with pytest.raises(ValueError):
            parse_size(bad)
    with pytest.raises(ValueError):
        parse_rate("1M")


@pytest.mark.parametrize("profile", list(PROFILES))
def test_sim_accepts_every_registered_profile(profile: str) -> None:
    """[sim].profile is validated against zswaplab.kernel.profiles: a new profile needs no edit here."""
    assert loads(f'[[target]]\npath = "/a"\n[sim]\nprofile = "{profile}"\n').sim.profile == profile


def test_sim_refuses_an_unknown_profile_naming_the_known_ones() -> None:
    e = err('[[target]]\npath = "/a"\n\n[sim]\nprofile = "v55"\n')
    assert (e.file, e.line, e.field) == ("p.toml", 5, "sim.profile")
    assert "unknown profile 'v55'" in e.message and ", ".join(PROFILES) in e.message
    assert "did you mean 'v5'?" in e.message
