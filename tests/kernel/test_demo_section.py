"""The kernel part of `zswaplab demo`: the answer is computed from the rows, every number has its unit."""

from __future__ import annotations

from rich.console import Console

from zswaplab.kernel.cli import answer, print_rows, store_path_demo


def test_store_path_answer_follows_the_rows() -> None:
    _k, rows = store_path_demo(pages=1024)
    by = {(r["phase"][0], r["cgroup"]): r for r in rows}
    a = {k: by[("2", "/parent/a")][k] - by[("1", "/parent/a")][k] for k in ("zswpout", "pswpout", "zswpwb")}
    b = {k: by[("2", "/parent/b")][k] - by[("1", "/parent/b")][k] for k in ("zswpout", "zswpwb")}
    assert a["pswpout"] > 0 and a["zswpwb"] > 0 and b["zswpwb"] == 0
    text = answer(rows)
    assert (f"/parent/a stored {a['zswpout']:,} more pages, sent {a['pswpout']:,} straight to disk" in text
            and f"wrote back {a['zswpwb']:,} (zswpwb)" in text)
    assert text.endswith(f"stored {b['zswpout']:,} and wrote back 0.")
    c = Console(width=80, record=True)
    print_rows(c, rows)
    out = c.export_text()
    assert "…" not in out and max(map(len, out.splitlines())) <= 80
    assert "KiB" in out and "MiB" in out and "(pages)" in out
    assert "compressed size in zswap" in out
