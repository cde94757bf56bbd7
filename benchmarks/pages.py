"""Which pages a commit writes: the write-ahead log's frames of a run, counted per
commit and per table or index.

With ``synchronous=FULL`` every commit waits for its frames to reach the disk, so the
pages a commit dirties are what its ``fsync`` costs.  A run records into a new file with
automatic checkpoints off (the log keeps every frame); the log's frame headers give the
page of each frame and mark each commit's last one, and SQLite's ``dbstat`` table says
which table or index owns each page.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import struct
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

__all__ = ["FRAME_HEADER", "WAL_HEADER", "Closes", "commits_in_wal", "pages_per_commit"]

WAL_HEADER = 32
FRAME_HEADER = 24


class Closes(Protocol):
    def close(self) -> None: ...


def commits_in_wal(data: bytes) -> list[list[int]]:
    """The page numbers of each commit's frames, in order, from a log's bytes.  Frames
    whose salts are not the header's are left over from before the log last restarted:
    the log ends at the first of them."""
    if len(data) < WAL_HEADER:
        return []
    (page_size,) = struct.unpack(">I", data[8:12])
    salts = data[16:24]
    commits: list[list[int]] = []
    pages: list[int] = []
    offset = WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(data):
        if data[offset + 8 : offset + 16] != salts:
            break
        page, size_after = struct.unpack(">II", data[offset : offset + 8])
        pages.append(page)
        if size_after:  # a commit's last frame carries the database's size after it
            commits.append(pages)
            pages = []
        offset += FRAME_HEADER + page_size
    return commits


def _owners(path: str) -> dict[int, str]:
    """Each page's table or index ("the file's header page" for page 1), read from a
    copy of the file and its log (so the run's own connection stays as it is)."""
    folder = tempfile.mkdtemp(prefix="rewardkit-pages-")
    copy = os.path.join(folder, "copy.db")
    try:
        shutil.copyfile(path, copy)
        shutil.copyfile(path + "-wal", copy + "-wal")
        connection = sqlite3.connect(copy)
        try:
            rows = connection.execute("SELECT name, pageno FROM dbstat").fetchall()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            rows = []
        finally:
            connection.close()
    finally:
        shutil.rmtree(folder)
    owners = {int(page): str(name) for name, page in rows}
    owners[1] = "the file's header page"  # dbstat names it after sqlite_schema
    return owners


def pages_per_commit(
    path: str, run: Callable[[], Closes], last: int
) -> tuple[float, dict[str, float]]:
    """Pages written per commit by the last ``last`` commits of ``run``, which records
    into ``path``, with automatic checkpoints off, and returns what it wrote through,
    still open (closing the last connection would checkpoint the log away).  The
    average, and the average per table or index ("page N" when SQLite cannot say
    whose)."""
    writer = run()
    try:
        log = Path(path + "-wal")
        every = commits_in_wal(log.read_bytes() if log.exists() else b"")
        if len(every) < last:
            raise ValueError(f"the log holds {len(every)} commits, not the last {last}")
        owners = _owners(path)
    finally:
        writer.close()
    commits = every[-last:]
    counts: Counter[str] = Counter()
    for pages in commits:
        counts.update(owners.get(page, f"page {page}") for page in pages)
    total = sum(map(len, commits)) / len(commits)
    return total, {name: count / len(commits) for name, count in counts.most_common()}
