"""Is a process still running? Used to tell a live build from a dead one."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a killed build not yet reaped by its parent (a zombie)
    counts as gone, which ``os.kill(pid, 0)`` alone cannot tell."""
    if os.path.isdir("/proc/self"):  # Linux: the state letter tells zombies apart
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
            return state not in (b"Z", b"X")
        except FileNotFoundError:
            return False
        except (OSError, IndexError):
            pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
