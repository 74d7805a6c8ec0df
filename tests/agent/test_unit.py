"""The shipped systemd unit: hardened (systemd-analyze security <= 3.0), watchdog, no capabilities, and
config errors not restarted."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zswaplab.agent.cli import EXIT_CONFIG

UNIT = Path(__file__).parents[2] / "contrib" / "zswaplab-agent.service"


def _settings() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            out.setdefault(k.strip(), []).append(v.strip())
    return out


def test_unit_needs_no_capability_and_does_not_restart_config_errors() -> None:
    s = _settings()
    assert s["CapabilityBoundingSet"] == [""] and "CAP_SYS_ADMIN" not in UNIT.read_text()
    assert s["RestartPreventExitStatus"] == [str(EXIT_CONFIG)]
    assert s["Type"] == ["notify"] and int(s["WatchdogSec"][0]) > 0
    assert s["ReadWritePaths"] == ["/sys/fs/cgroup"] and s["ProtectSystem"] == ["strict"]
    assert "zswaplab-agent" in s["ExecStart"][0]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_security_score_at_most_3(tmp_path) -> None:
    unit = tmp_path / UNIT.name  # offline mode reads the unit from a path
    unit.write_text(UNIT.read_text())
    proc = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True,
                          text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", proc.stdout + proc.stderr)
    if m is None and "offline" in proc.stderr:
        pytest.skip(f"this systemd-analyze has no offline mode: {proc.stderr.strip()[:200]}")
    assert m is not None, proc.stdout + proc.stderr
    assert float(m.group(1)) <= 3.0, proc.stdout
