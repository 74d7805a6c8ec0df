"""The scale part of `zswaplab demo`: the answer compares the two kernels' rows; wall times carry their unit."""

from __future__ import annotations

from zswaplab.scale.cli import demo_rows


def test_scale_demo_answer_compares_the_rows() -> None:
    answer, header, rows = demo_rows()
    assert [r[:2] for r in rows] == [["per-memcg", "Kernel"], ["per-memcg", "FastKernel"], ["restart", "Kernel"],
                                     ["restart", "FastKernel"]]
    assert rows[0][3] == rows[1][3] and rows[2][3] == rows[3][3] and rows[0][3] != rows[2][3]
    assert all(r[2].endswith(" s") for r in rows) and "pages" in header[3]
    assert answer.startswith("Yes: the fast core wrote back the same pages per child as the oracle")
