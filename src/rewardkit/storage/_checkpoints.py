"""Checkpoints of a SQLite write-ahead log in a thread of their own.

In WAL mode a commit appends the pages it changed to the log; a *checkpoint* copies them
back into the database file.  By default SQLite runs one inside the commit that takes the
log past 1,000 pages, so one call in a hundred or so pays for copying a thousand pages
(10-50 ms on a file in use, against a commit's usual fraction of a millisecond).

:class:`Checkpointer` moves that work to a thread of the store's own: every
:data:`EVERY` commits it wakes the thread, which runs a ``PASSIVE`` checkpoint (it never
waits for, nor blocks, readers or writers) on a connection of its own.  The commits'
connections keep an automatic checkpoint at :data:`BACKSTOP` pages, so the log stays
bounded even if the thread falls behind.  A checkpoint that fails (the file busy,
say) is simply left to the next one: it moves pages, it never changes what the
database holds.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from urllib.parse import quote

__all__ = ["BACKSTOP", "EVERY", "MODES", "Checkpointer"]

MODES = ("commit", "background")
"""Where checkpoints run: inside the commit that fills the log (SQLite's own way), or
in the store's thread."""

EVERY = 100
"""Commits (by this process) between two wake-ups of the thread."""

BACKSTOP = 4_000
"""Log pages at which a commit checkpoints anyway (``wal_autocheckpoint``)."""


class Checkpointer:
    """The thread that checkpoints one SQLite file for one store, in one process.

    Started on the first wake-up (and again if it ever stopped, or in a process forked
    since: threads do not survive a fork); :meth:`close` stops it and waits for it."""

    def __init__(self, path: str, synchronous: str, timeout: float) -> None:
        self._path = path
        self._synchronous = synchronous
        self._timeout = timeout
        self._commits = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._wake = threading.Event()
        # Held while the thread is inside SQLite, and by os.fork() (see the end of the
        # module): a child forked while SQLite's own mutexes are held would hang in its
        # first call, so a fork waits for the checkpoint under way.
        self._in_sqlite = threading.Lock()
        self.runs = 0  # checkpoints the thread ran, in this process (for tests)
        with _FORK_LOCK:  # not while a fork holds the checkpointers still
            _ALL.add(self)

    def committed(self) -> None:
        """A commit landed: every :data:`EVERY` of them, wake the thread."""
        self._commits += 1  # not atomic across threads: a wake-up late or early is harmless
        if self._commits % EVERY == 0:
            self.wake()

    def wake(self) -> None:
        with self._guard:
            if self._closed:
                return
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run,
                    args=(self._wake,),
                    name=f"rewardkit checkpoints of {self._path}",
                    daemon=True,
                )
                self._thread.start()
        self._wake.set()

    def _run(self, wake: threading.Event) -> None:
        # mode=rw: a file removed meanwhile is not made again, empty, by this thread
        where = f"file:{quote(os.path.abspath(self._path))}?mode=rw"
        with self._in_sqlite:
            try:
                connection = sqlite3.connect(
                    where, uri=True, timeout=self._timeout, isolation_level=None
                )
            except sqlite3.Error:
                return  # the commits' own checkpoints at BACKSTOP pages go on
            try:
                connection.execute(f"PRAGMA synchronous={self._synchronous}")
            except sqlite3.Error:
                connection.close()
                return
        try:
            while True:
                wake.wait()
                wake.clear()
                if self._closed:
                    return
                with self._in_sqlite:
                    try:
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        self.runs += 1
                    except sqlite3.Error:
                        pass  # left to the next checkpoint, or to a commit at BACKSTOP pages
        finally:
            with self._in_sqlite:
                connection.close()

    def close(self) -> None:
        """Stop the thread and wait until it has (idempotent)."""
        with self._guard:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def stop(self) -> None:
        """Tell the thread to stop, without waiting for it or taking a lock: what a
        finalizer may do, on whatever thread the garbage collector runs it (even one
        holding a fork's locks)."""
        self._closed = True
        self._wake.set()

    def _forked(self) -> None:
        """In a new child process: the parent's thread and locks are not this one's."""
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._in_sqlite = threading.Lock()
        self._thread = None
        self.runs = 0


_ALL: weakref.WeakSet[Checkpointer] = weakref.WeakSet()
_FORKING: list[Checkpointer] = []  # the checkpointers held still while os.fork() runs
_FORK_LOCK = threading.Lock()  # one fork at a time, and no new checkpointer during one


def _before_fork() -> None:
    _FORK_LOCK.acquire()
    _FORKING[:] = list(_ALL)
    for checkpointer in _FORKING:
        checkpointer._in_sqlite.acquire()


def _after_fork_in_parent() -> None:
    for checkpointer in _FORKING:
        checkpointer._in_sqlite.release()
    _FORKING.clear()
    _FORK_LOCK.release()


def _after_fork_in_child() -> None:
    global _FORK_LOCK
    _FORK_LOCK = threading.Lock()
    for checkpointer in list(_ALL):  # the child has one thread: nothing adds to _ALL now
        checkpointer._forked()
    _FORKING.clear()


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)
