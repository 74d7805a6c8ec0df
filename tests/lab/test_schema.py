"""Scenario files: validation errors name file, line and field; params, reduced size and the matrix."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zswaplab.common.tomlpos import format_path, key_lines, line_of
from zswaplab.common.units import fmt_bytes, memparse
from zswaplab.lab.schema import ScenarioError, expand_template, load_scenario, parse_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))

GOOD = """\
[scenario]
name = "t"
profile = "v5"

[params]
budget = "16K"
calls = 200
[params.reduced]
calls = 20

[[memcg]]
path = "/parent"

[[memcg]]
path = "/parent/c{i}"
count = 3

[[population]]
memcg = "/parent/c{i}"
count = 3
name = "cold"
size = "1M"

[[timeline]]
action = "proactive"
target = "/parent"
size = "${budget}"
repeat = "${calls}"

[[timeline]]
action = "touch"
group = "cold"
fraction = 0.5

[matrix]
strategy = ["restart", "per-memcg"]
budget = ["16K", "1M"]
"""


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, "x.toml")
    return str(e.value)


def test_good_file_expands_matrix_and_params():
    sf = parse_scenario(GOOD, "x.toml")
    full = sf.variants()
    assert [v.name for v in full] == [
        "strategy=restart,budget=16K", "strategy=restart,budget=1M",
        "strategy=per-memcg,budget=16K", "strategy=per-memcg,budget=1M",
    ]
    assert [v.scenario.timeline[0].size for v in full] == [16384, 1 << 20, 16384, 1 << 20]
    assert {v.scenario.timeline[0].repeat for v in full} == {200}
    assert {v.scenario.timeline[0].repeat for v in sf.variants(reduced=True)} == {20}
    assert {v.strategy for v in full} == {"restart", "per-memcg"}
    only = sf.variants(overrides={"strategy": ["batch-each-then-check"], "budget": ["64K"]})
    assert [(v.strategy, v.scenario.timeline[0].size) for v in only] == [("batch-each-then-check", 65536)]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('size = "1M"', 'size = "-1"', "x.toml:22: population[0].size: not a size"),
        ('profile = "v5"', 'profile = "v9"', "x.toml:3: scenario.profile: unknown profile 'v9'"),
        ('target = "/parent"', 'target = "parent"', "x.toml:26: timeline[0].target: not a cgroup path"),
        ('size = "${budget}"', 'size = "${nope}"', "x.toml:27: timeline[0].size: undefined parameter ${nope}"),
        ("fraction = 0.5", "fraction = 2", "x.toml:33: timeline[1].fraction: Input should be less than or equal"),
        ('action = "touch"', 'action = "tuch"',
         "x.toml:31: timeline[1].action: unknown action 'tuch'; did you mean 'touch'?"),
        ('group = "cold"\n', "", "x.toml:30: timeline[1].group: Field required"),
        ("count = 3\n\n[[population]]", "\n\n[[population]]", "x.toml:14: memcg[1]: '{i}' in a path needs 'count'"),
        ('name = "cold"', 'name = "cold"\nbogus = 1', "x.toml:22: population[0].bogus: unknown field 'bogus'"),
        ("fraction = 0.5", "fractoin = 0.5", "x.toml:33: timeline[1].fractoin: unknown field 'fractoin'; did you mean "
         "'fraction'?"),
        ('strategy = ["restart", "per-memcg"]', 'strategy = ["restart", "cursor"]',
         "x.toml:36: matrix.strategy: unknown strategy 'cursor'"),
        ("[params.reduced]\ncalls = 20", "[params.reduced]\ncallz = 20",
         "x.toml:9: params.reduced.callz: not defined in [params]"),
        ("[matrix]", "[matrix", "x.toml:35: TOML syntax error"),
    ],
)
def test_errors_name_file_line_and_field(old, new, expected):
    assert old in GOOD
    msg = error_of(GOOD.replace(old, new, 1))
    assert msg.startswith(expected) or expected in msg, msg


def test_matrix_axis_must_be_known():
    msg = error_of(GOOD.replace('budget = ["16K", "1M"]', 'colour = ["red"]'))
    assert msg.startswith("x.toml:37: matrix.colour: not a kernel axis")
    assert "did you mean" not in msg


def test_reduced_params_are_validated_too():
    # the full size is valid, the reduced value is not: the error still names the field using it
    msg = error_of(GOOD.replace("[params.reduced]\ncalls = 20", "[params.reduced]\ncalls = \"many\""))
    # blamed where the value is written ([params.reduced], line 9), and where it is used (line 28)
    assert msg.startswith("x.toml:9: params.reduced.calls = 'many' (used at timeline[0].repeat, x.toml:28): "), msg


def test_a_bad_param_is_blamed_on_its_params_line_not_its_use():
    msg = error_of(GOOD.replace('budget = "16K"', 'budget = "16Q"', 1))
    assert msg.startswith("x.toml:6: params.budget = '16Q' (used at timeline[0].size, x.toml:27): not a size"), msg
    assert msg.count("\n") == 0  # one message for the union (size or "zswap.current")


def test_a_bad_override_is_blamed_on_the_command_line():
    sf = parse_scenario(GOOD, "x.toml")
    with pytest.raises(ScenarioError) as e:
        sf.variants(overrides={"budget": ["12Q"]}, override_origin={"budget": "--set budget=12Q"})
    assert str(e.value).startswith("--set budget=12Q (used at timeline[0].size, x.toml:27): not a size"), e.value
    with pytest.raises(ScenarioError, match=r"^--set bugdet: not a kernel axis.*did you mean 'budget'\?"):
        sf.variants(overrides={"bugdet": ["1M"]}, override_origin={"bugdet": "--set bugdet"})
    with pytest.raises(ScenarioError, match=r"^--strategy: unknown strategy 'per-memcgg'.*did you mean 'per-memcg'"):
        sf.variants(overrides={"strategy": ["per-memcgg"]}, override_origin={"strategy": "--strategy"})


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.toml")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_validate(path):
    sf = load_scenario(path)
    assert sf.base.scenario.description and sf.base.scenario.question
    assert sf.variants(reduced=True)


def test_key_lines_tables_arrays_inline_and_multiline():
    src = """a = 1
[t]
b = { c = 1, d = [1,
  2] }
e = "x # not a comment [ ]"
[[arr]]
f = 1
[[arr]]
f = 2
[arr.sub]
g = 3
"quoted.key" = 4
"""
    lines = key_lines(src)
    assert lines[("a",)] == 1
    assert lines[("t", "b")] == 3
    assert line_of(lines, ("t", "b", "d", 1)) == 3
    assert lines[("t", "e")] == 5
    assert lines[("arr", 0, "f")] == 7
    assert lines[("arr", 1, "f")] == 9
    assert lines[("arr", 1, "sub", "g")] == 11
    assert lines[("arr", 1, "sub", "quoted.key")] == 12
    assert line_of(lines, ("nothing",)) is None
    assert format_path(("timeline", 3, "size")) == "timeline[3].size"


_name = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@given(st.lists(st.tuples(_name, st.booleans(), st.lists(_name, min_size=1, max_size=4, unique=True)),
                min_size=1, max_size=6, unique_by=lambda t: t[0]))
def test_key_lines_matches_rendered_documents(tables):
    # render [t] / [[t]] tables with keys, each key on a known line; tomllib must agree it is valid TOML
    import tomllib

    out, want, counts = [], {}, {}
    for name, is_array, keys in tables:
        for _rep in range(2 if is_array else 1):
            out.append(f"[[{name}]]" if is_array else f"[{name}]")
            idx = counts.get(name, 0)
            counts[name] = idx + 1
            for k in keys:
                out.append(f'{k} = "v # [x]"')
                want[(name, idx, k) if is_array else (name, k)] = len(out)
    src = "\n".join(out) + "\n"
    tomllib.loads(src)
    lines = key_lines(src)
    for path, line in want.items():
        assert lines[path] == line


@given(st.integers(0, 1 << 40), st.sampled_from(["", "K", "M", "G"]))
def test_memparse_roundtrip(n, suffix):
    mult = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[suffix]
    assert memparse(f"{n}{suffix}") == n * mult
    assert memparse(n) == n


def test_memparse_rejects_garbage_and_fmt_bytes():
    for bad in ("-1", "1X", "", "1.5M", True):
        with pytest.raises(ValueError):
            memparse(bad)
    assert fmt_bytes(65536) == "64K" and fmt_bytes(1572864) == "1.5M" and fmt_bytes(100) == "100"


def test_expand_template():
    assert expand_template("/p/c{i}", 3) == ["/p/c0", "/p/c1", "/p/c2"]
    assert expand_template("/p", None) == ["/p"]


# ---- files that are not TOML, or not valid UTF-8 (issue 12, items 5 and 12): a message with the line, no traceback
@pytest.mark.parametrize(("content", "line", "message"), [
    (b'[scenario]\nname = "x\xff"\n', 2, "not UTF-8 (byte 0xff"),
    (b'[scenario]\nname = "x', 2, "TOML syntax error: Unterminated string"),  # at end of document
    (b'a.b = 1\n[scenario]\nname = "x"\n', 1, "unknown field 'a'"),  # a top-level dotted key
])
def test_unreadable_scenario_files_name_their_line(tmp_path, content, line, message):
    from zswaplab.lab.schema import ScenarioError, load_scenario

    f = tmp_path / "s.toml"
    f.write_bytes(content)
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    assert str(e.value).startswith(f"{f}:{line}:") and message in str(e.value)


def test_a_checker_algorithm_name_points_to_its_strategy():
    from zswaplab.lab.schema import _check_strategy

    with pytest.raises(ValueError, match="the checker's memcg_global_lock is the strategy 'per-memcg-global-lock'"):
        _check_strategy("memcg_global_lock")
