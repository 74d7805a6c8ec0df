"""A normal (non-editable) install carries the scenarios: build the wheel, install it into a fresh venv, and run
``zswaplab scenarios`` and a small shipped scenario from outside the source tree (issue 14 item 7). The same
through an sdist: ``zswaplab/scenarios`` is a symlink to the top-level ``scenarios/``, which the sdist must
turn into files, and a wheel built from the unpacked sdist must still ship them.

Offline and quick: the wheel is built with the running interpreter's setuptools (no build isolation) and
installed with ``--no-deps``; the fresh venv sees its dependencies through a ``.pth`` line naming the running
interpreter's site-packages (appended after the venv's own, so the installed wheel is what gets imported).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the installed copy, not the source tree


SHIPPED = {p.name for p in (ROOT / "scenarios").glob("*.toml")}


def _source_copy(tmp: Path) -> Path:
    """A copy of the tree to build from (an in-tree build leaves build/ and *.egg-info behind); the scenarios
    symlink stays a symlink, as in a clone."""
    return shutil.copytree(ROOT, tmp / "src", symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", "out", ".hypothesis", ".pytest_cache"))


def _wheel(src: Path, dist: Path) -> Path:
    """Build a wheel of ``src`` offline with the running interpreter's setuptools (no build isolation)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(dist)], check=True, cwd=dist.parent, timeout=300, env=ENV)
    (whl,) = dist.glob("zswaplab-*.whl")
    return whl


def _scenarios_in_wheel(whl: Path) -> set[str]:
    return {Path(n).name for n in zipfile.ZipFile(whl).namelist() if n.startswith("zswaplab/scenarios/")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    whl = _wheel(_source_copy(tmp), tmp / "dist")
    venv.EnvBuilder(with_pip=False).create(tmp / "venv")
    py = tmp / "venv" / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(whl)], check=True, cwd=tmp, timeout=300, env=ENV)
    # after the install: pip must not see the shared venv's (editable) zswaplab as already installed
    Path(site, "zz_shared_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return whl, tmp / "venv" / "bin" / "zswaplab", py, tmp


def test_wheel_carries_every_shipped_scenario(installed):
    whl, *_ = installed
    assert _scenarios_in_wheel(whl) == SHIPPED


def test_sdist_carries_the_scenarios_and_its_wheel_ships_them(tmp_path):
    """``zswaplab/scenarios`` (a symlink) through the sdist (the build backend's build_sdist, offline): regular
    files inside, byte-identical to scenarios/, and a wheel built from the unpacked sdist ships them."""
    assert (ROOT / "zswaplab" / "scenarios").is_symlink()
    src = _source_copy(tmp_path)
    subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                    "b.build_sdist(sys.argv[1])", str(tmp_path / "sdist")], check=True, cwd=src, timeout=300,
                   env=ENV, capture_output=True)
    (sd,) = (tmp_path / "sdist").glob("zswaplab-*.tar.gz")
    with tarfile.open(sd) as tar:
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
        inside = {Path(n).name: m for n, m in members.items() if n.startswith("zswaplab/scenarios/")}
        assert set(inside) == SHIPPED
        for name, m in inside.items():
            assert m.isfile(), name  # a file, not a link that would dangle without scenarios/
            assert tar.extractfile(m).read() == (ROOT / "scenarios" / name).read_bytes()
        tar.extractall(tmp_path / "unpacked", filter="data")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    assert _scenarios_in_wheel(_wheel(unpacked, tmp_path / "dist")) == SHIPPED


def test_installed_cli_lists_and_runs_scenarios(installed):
    _whl, exe, py, tmp = installed
    where = subprocess.run([str(py), "-c", "import zswaplab; print(zswaplab.__file__)"], check=True,
                           capture_output=True, text=True, cwd=tmp, env=ENV).stdout
    assert str(tmp / "venv") in where  # the wheel, not the source tree
    r = subprocess.run([str(exe), "scenarios", "--json"], capture_output=True, text=True, cwd=tmp, timeout=120, env=ENV)
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)
    assert {i["name"] for i in items} == {p.stem for p in (ROOT / "scenarios").glob("*.toml")}
    r = subprocess.run([str(exe), "run", "c-v5", "--reduced", "--set", "entries=16", "-p", "v5", "--json",
                        "-o", str(tmp / "out")], capture_output=True, text=True, cwd=tmp, timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["answers"] and doc["variants"][0]["metrics"]["total_pages"] == 16
    assert (tmp / "out" / "report.html").exists()
