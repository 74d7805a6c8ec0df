"""The vm part of `zswaplab demo`: the answer sums the comparison's rows; the table is whole at 80 columns."""

from __future__ import annotations

from rich.console import Console

from zswaplab.common.termtable import rich_table
from zswaplab.vm import compare as cmp
from zswaplab.vm.cli import compare_dir, demo_rows

from .conftest import DATA

NAMES = ["selftest_no_invasive_cgroup_shrink", "parse_probes"]


def test_vm_demo_answer_sums_the_rows() -> None:
    kdir = DATA / "linux-6.12.117"
    answer, header, rows, devs = demo_rows(kdir, NAMES)
    sums = [cmp.summarize(n, r) for n, r in compare_dir(kdir, NAMES).items()]
    total, ok = sum(s.rows for s in sums), sum(s.ok for s in sums)
    dev = sum(sum(s.deviations.values()) for s in sums)
    assert answer == (f"The model agrees with linux-6.12.117 in all 2 scenarios: of {total:,} compared values "
                      f"{ok:,} are within tolerance, {dev:,} are documented deviations and 0 are unexplained.")
    assert [r[0] for r in rows] == NAMES and dev > 0 and "process-footprint ×" in devs
    c = Console(width=80, record=True)
    c.print(rich_table(None, header, rows))
    out = c.export_text()
    assert "selftest_no_invasive_cgroup_shrink " in out and max(map(len, out.splitlines())) <= 80
