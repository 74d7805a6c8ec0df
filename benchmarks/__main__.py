"""Run every benchmark: ``python -m benchmarks [NAME ...]`` (``make bench``); ``--list`` names them.

Each ``benchmarks/bench_<name>.py`` defines ``main() -> None``, which measures its figure *and* the named
baseline it is compared with in the same run and prints both and their ratio.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import benchmarks


def _known() -> dict[str, str]:
    """bench name (without ``bench_``) -> first line of its docstring."""
    out = {}
    for m in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if m.name.startswith("bench_"):
            spec = m.module_finder.find_spec(m.name, None)  # type: ignore[call-arg]
            doc = ""
            if spec is not None and spec.origin:
                import ast
                from pathlib import Path

                doc = (ast.get_docstring(ast.parse(Path(spec.origin).read_text())) or "").splitlines()[0]
            out[m.name.removeprefix("bench_")] = doc
    return out


def main(argv: list[str]) -> int:
    known = _known()
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run zswaplab's benchmarks; each prints its figure, the baseline measured in the same run, "
                    "and their ratio. Numba code is compiled (or loaded) in a printed phase before any timing.",
        epilog=f"benchmarks (see --list): {', '.join(known)}")
    ap.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all); "
                    "'throughput' or 'bench_throughput'")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args(argv)
    if args.list:
        for k, v in known.items():
            print(f"{k:16s} {v}")
        return 0
    wanted = [a.removeprefix("bench_") for a in args.names] or list(known)
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}")
    for name in wanted:
        print(f"== bench_{name}", flush=True)
        t0 = time.perf_counter()
        importlib.import_module(f"benchmarks.bench_{name}").main()
        print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
