"""Ray builds for tests/test_ray.py, run inside a network namespace holding only loopback.

``python tests/ray_build.py CASE WORKDIR`` prints one JSON line. Cases:

- ``local``: the example corpus built with the local pool and with a local Ray;
- ``head``: the same against a Ray head this script starts (``ray start --head --block``,
  its own process group, stopped by its process id), reached through ``RAY_ADDRESS``;
- ``fault``: a Ray build where one task's worker process kills itself once;
- ``failing``: a Ray build where one batch's worker always dies, over an artifact that
  must survive it;
- ``cached``: the example corpus as one JSONL file, built with a local Ray and a cache
  twice (the second takes the file whole from the cache, with the spill parts Ray's
  workers shipped back) and with the local pool and no cache.

Not collected by pytest (its name does not start with ``test_``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from corpuskit import EXAMPLE_CORPUS, pipeline
from corpuskit.config import BuildConfig
from corpuskit.errors import CorpuskitError

BATCH = 8  # records per batch: the example corpus makes several batches


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _build(
    out: Path, executor: str, source: str | Path = EXAMPLE_CORPUS, cache: Path | None = None
) -> dict[str, str]:
    config = BuildConfig(
        name="example",
        jobs=2,
        executor=executor,
        batch_size=BATCH,
        source_id="parent",
        cache=None if cache is None else str(cache),
    )
    pipeline.build([source], out, config, force=True)
    return _digests(out)


def _cached(work: Path) -> dict[str, Any]:
    from corpuskit import filecache

    filecache.MIN_FILE_BYTES = 1  # the example corpus is small
    feed = work / "feed" / "example.jsonl"
    feed.parent.mkdir(parents=True)
    texts = sorted(Path(EXAMPLE_CORPUS).rglob("*.txt"))
    lines = [json.dumps({"text": p.read_text(encoding="utf-8", errors="replace")}) for p in texts]
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    local = _build(work / "local", "local", feed.parent)
    filled = _build(work / "filled", "ray", feed.parent, work / "cache")
    config = BuildConfig(
        name="example",
        jobs=2,
        executor="ray",
        batch_size=BATCH,
        source_id="parent",
        cache=str(work / "cache"),
    )
    taken = pipeline.build([feed.parent], work / "again", config).files_from_cache
    again = _digests(work / "again")
    differ = sorted(
        k for k in local.keys() | again.keys() | filled.keys()
        if not local.get(k) == filled.get(k) == again.get(k)
    )  # fmt: skip
    return {"files": len(local), "differ": differ, "taken_whole": taken}


def _compare(work: Path) -> dict[str, Any]:
    local = _build(work / "local", "local")
    ray = _build(work / "ray", "ray")
    differ = sorted(k for k in local.keys() | ray.keys() if local.get(k) != ray.get(k))
    return {"files": len(local), "differ": differ}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _head(work: Path) -> dict[str, Any]:
    port = _free_port()
    ray_cli = Path(sys.executable).with_name("ray")
    # Short: Ray's unix socket paths live under it, and a socket path over 107 bytes
    # (pytest's tmp_path is long) makes the head exit at once.
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    head = subprocess.Popen(
        [
            str(ray_cli),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
        ],
        start_new_session=True,  # its own process group: stopped as one below
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        os.environ["RAY_ADDRESS"] = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:  # the head is up when its GCS port answers
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as exc:
                if time.monotonic() > deadline or head.poll() is not None:
                    raise RuntimeError(f"the Ray head did not come up ({head.poll()})") from exc
                time.sleep(0.5)
        return _compare(work)
    finally:
        # Stopped by its process id, with its whole group (raylet, GCS, workers). SIGTERM
        # first; the head then drains for up to 30 s, which a test need not wait for.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _dies_on(flag: Path, times: int) -> None:
    """Make the map stage kill its worker process on the batch holding record 2 * BATCH,
    ``times`` times (counted in ``flag``'s length): a worker lost mid-build."""
    real = pipeline.map_and_spill

    def dying(process: Any, folder: str, state: Any, batch: Any, ship: bool = False) -> Any:
        if batch[0][0] == 2 * BATCH:
            with flag.open("a+") as fh:
                fh.seek(0)
                if len(fh.read()) < times:
                    fh.write("x")
                    fh.flush()
                    os._exit(1)
        return real(process, folder, state, batch, ship)

    # Defined here, in __main__: Ray ships it to the workers by value.
    pipeline.map_and_spill = dying


def main() -> None:
    case, work = sys.argv[1], Path(sys.argv[2])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    result: dict[str, Any]
    if case == "local":
        result = _compare(work)
    elif case == "head":
        result = _head(work)
    elif case == "fault":
        local = _build(work / "local", "local")
        _dies_on(work / "died", times=1)
        ray = _build(work / "ray", "ray")
        died = (work / "died").read_text()
        result = {"files": len(local), "differ": sorted(k for k in local if local[k] != ray.get(k))}
        result["deaths"] = len(died)
    elif case == "failing":
        before = _build(work / "out", "local")
        _dies_on(work / "died", times=1_000)
        try:
            _build(work / "out", "ray")
            result = {"error": None}
        except CorpuskitError as exc:
            result = {"error": str(exc)}
        result["unharmed"] = _digests(work / "out") == before
    elif case == "cached":
        result = _cached(work)
    else:
        raise SystemExit(f"unknown case {case!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
