"""Peak memory of a simulation kept in memory, measured in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys

__all__ = ["peak_rss"]

_SCRIPT = """
import json, resource, sys

def peak():
    # VmHWM: this process's own high-water mark (ru_maxrss may keep the one of the
    # process that started it, across exec, on Linux).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

from itertools import islice
from benchmarks.workload import cafe_program, iter_actions
import rewardkit as rk
count = int(sys.argv[1])
stream = iter_actions(count, max(count // 10, 1))  # read as it goes, like a file
kit = rk.Rewards(cafe_program())
before = peak()
total = 0
while chunk := list(islice(stream, 1000)):
    total += sum(r.points for r in kit.record_many(chunk))
print(json.dumps({"actions": count, "total": total, "peak_kib": peak(), "start_kib": before}))
"""


def peak_rss(count: int, root: str) -> dict[str, int]:
    """Record ``count`` reference actions (``count // 10`` members) on the memory store,
    1,000 at a time as they are generated (a simulation reads its actions from a file),
    in a new Python process; its peak resident set size (KiB), and the total points."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(count)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
