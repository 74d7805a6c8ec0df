"""References stay inside the repository: no citation of the external spec, no path outside the checkout, and
every ``kernel-semantics §N.M`` citation names a section docs/kernel-semantics.md has."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCOPE = ("zswaplab", "tests", "benchmarks", "docs", "examples", "scenarios", "scripts", "README.md", "Makefile")
# spelled in pieces so this file does not match itself
FORBIDDEN = ("spec" + " §", "shared" + "/spec", "../" + "shared", "kernel-zswap" + "-writeback.md", "/" + "work/")
RECORDED = ROOT / "zswaplab" / "vm" / "data"
CITE = re.compile(r"kernel-semantics(?:\.md)? §(\d+(?:\.\d+)?)(?: Q(\d+))?")
BY_TITLE = re.compile(r"kernel-semantics(?:\.md)? §\"")  # a section cited by a title that may change


def _texts() -> list[tuple[Path, str]]:
    out = []
    for top in SCOPE:
        base = ROOT / top
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for p in paths:
            if RECORDED in p.parents:  # what the VM runs printed (kernel command lines), not references
                continue
            raw = p.read_bytes()
            if b"\0" in raw:
                continue
            try:
                out.append((p, raw.decode()))
            except UnicodeDecodeError:
                continue
    return out


def _sections() -> tuple[set[str], set[str]]:
    text = (ROOT / "docs" / "kernel-semantics.md").read_text()
    ids = set(re.findall(r"^#{2,3} §?(\d+(?:\.\d+)?)[. ]", text, re.M))
    ids |= set(re.findall(r"^§(\d+\.\d+) ", text, re.M))  # §4.1, §4.2 written as paragraphs
    questions = set(re.findall(r"\bQ(\d+):", text))
    return ids, questions


def test_no_reference_outside_the_repository() -> None:
    bad = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
           for p, text in _texts() for n, line in enumerate(text.splitlines(), 1)
           if any(f in line for f in FORBIDDEN)]
    assert not bad, "\n".join(bad)


def test_every_kernel_semantics_citation_names_an_existing_section() -> None:
    ids, questions = _sections()
    assert {"1.10", "2.5", "3.4", "4.2"} <= ids and {"3", "4"} <= questions
    bad = []
    cited = 0
    for p, text in _texts():
        bad += [f"{p.relative_to(ROOT)}: cites a section by title" for _ in BY_TITLE.finditer(text)]
        for m in CITE.finditer(text):
            cited += 1
            sec, q = m.group(1), m.group(2)
            if sec not in ids or (q is not None and q not in questions):
                bad.append(f"{p.relative_to(ROOT)}: {m.group(0)}")
    assert not bad, "\n".join(bad)
    assert cited > 100  # the docstrings' citations are found (the pattern is not vacuous)
