"""Small accessors over run records (shared by the VM tests and the recorded-data tests)."""

from __future__ import annotations

from typing import Any


def steps(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("type") == "step"]


def stat(rec: dict[str, Any], cgroup: str, key: str) -> int:
    return rec["cgroups"][cgroup]["memory.stat"].get(key, 0)


def cgfile(rec: dict[str, Any], cgroup: str, name: str) -> int:
    return rec["cgroups"][cgroup][name]


def find(records: list[dict[str, Any]], op: str, **match: Any) -> list[dict[str, Any]]:
    """Step records whose action has ``op`` and every ``match`` field equal."""
    return [r for r in steps(records)
            if r["action"]["op"] == op and all(r["action"].get(k) == v for k, v in match.items())]
