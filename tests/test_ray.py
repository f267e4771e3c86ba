"""--executor ray: the same artifact as the local pool, a lost worker retried, a failing
batch reported, and the previous artifact unharmed.

Every case runs in a network namespace the test makes itself, holding only the loopback
interface (``unshare -n``, or ``unshare -rn`` without root): Ray advertises the machine's
interface address even when told 127.0.0.1, and test traffic must stay on loopback. The
builds themselves are in ``tests/ray_build.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray", reason="Ray comes with the test extra: pip install -e '.[test]'")

INNER = Path(__file__).with_name("ray_build.py")


def _namespace() -> list[str]:
    """The prefix that runs a command in a new network namespace, or skip with why not."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if not unshare or not ip:
        pytest.skip("needs unshare (util-linux) and ip (iproute2) for a private loopback")
    prefix = [unshare, "-n"] if os.geteuid() == 0 else [unshare, "-rn"]
    probe = subprocess.run([*prefix, ip, "link", "set", "lo", "up"], capture_output=True)
    if probe.returncode != 0:
        reason = probe.stderr.decode(errors="replace").strip()
        pytest.skip(f"cannot make a network namespace here: {reason}")
    return prefix


def _run(case: str, work: Path) -> dict[str, Any]:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}  # see issue 18: Ray 2.60's token auth
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run(
        [*_namespace(), sys.executable, str(INNER), case, str(work)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_a_local_ray_build_is_byte_identical_to_the_local_pool(tmp_path: Path) -> None:
    result = _run("local", tmp_path)
    assert result["files"] >= 5 and result["differ"] == []


def test_a_build_on_a_ray_head_reached_through_ray_address_is_byte_identical(
    tmp_path: Path,
) -> None:
    result = _run("head", tmp_path)
    assert result["files"] >= 5 and result["differ"] == []


def test_a_ray_build_takes_a_file_whole_from_the_cache_with_the_same_bytes(
    tmp_path: Path,
) -> None:
    # Ray's workers ship their spill parts back; the whole-file cache stores those.
    result = _run("cached", tmp_path)
    assert result["taken_whole"] == 1
    assert result["files"] >= 5 and result["differ"] == []


def test_a_ray_worker_killed_mid_build_is_retried_and_the_artifact_is_identical(
    tmp_path: Path,
) -> None:
    result = _run("fault", tmp_path)
    assert result["deaths"] == 1
    assert result["files"] >= 5 and result["differ"] == []


def test_a_batch_that_keeps_failing_ends_the_build_naming_it_and_harms_nothing(
    tmp_path: Path,
) -> None:
    result = _run("failing", tmp_path)
    assert result["error"] is not None
    assert "lost the batch starting at" in result["error"] and ".txt" in result["error"]
    assert result["unharmed"]
