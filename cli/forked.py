"""Run a step of a command in a forked process, beside the main one.

A cold ``reform-atlas analyze`` is mostly Python (loading and matching settlements,
the analysis, writing files) beside GEOS (the build). In one process the Python
steps take turns on the GIL; a forked child runs one of them on the other core. It
inherits the imported modules and the inputs already in memory, so nothing is
pickled on the way in; its value (or its exception) comes back pickled through a
pipe. ``benchmarks/bench_pipeline.py`` measures what this saves.

A fork copies the calling thread only, but also the locks other threads hold at
that moment: :func:`start` forks only from a process with no other Python thread,
on Linux (elsewhere ``fork`` is unsafe or missing); otherwise the step runs in
this process when its result is asked for.

A child that is not waited for is stopped when its ``with`` block ends, or at the
end of the :func:`joined` block it was started in: its result is no longer wanted
(an error ended the block), and the files it wrote go with the command's
temporary folder.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from geo.errors import ReformAtlasError, message_line

T = TypeVar("T")

#: Children started and not yet waited for or stopped.
_RUNNING: set[Child] = set()


def can_fork() -> bool:
    """Whether :func:`start` forks here: on Linux, with no other Python thread running."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


class Child(Generic[T]):
    """A step running in a forked process; call it to wait for its value.

    Calling raises the exception the step raised. Made with ``fork=False`` (or
    where :func:`can_fork` is false), the step runs at the call, here.
    """

    def __init__(self, step: Callable[..., T], args: tuple, kwargs: dict, *, fork: bool) -> None:
        self._step, self._args, self._kwargs = step, args, kwargs
        self._process = None
        if fork and can_fork():
            ctx = mp.get_context("fork")
            self._receiver, sender = ctx.Pipe(duplex=False)
            self._process = ctx.Process(target=_child, args=(sender, step, args, kwargs), daemon=True)
            self._process.start()
            sender.close()
            _RUNNING.add(self)

    def __call__(self) -> T:
        """Wait for the step; return its value or raise its exception."""
        if self._process is None:
            return self._step(*self._args, **self._kwargs)
        try:
            failed, value = self._receiver.recv()
        except EOFError:  # the child ended without a word (killed, out of memory)
            failed, value = True, None
        finally:
            self._end(kill=False)
        if failed and value is None:
            code = self._process.exitcode
            msg = f"a worker process of reform-atlas ended without a result (exit code {code}); run the command again"
            raise ReformAtlasError(msg)
        if failed:
            raise value
        return value

    def stop(self) -> None:
        """Stop the child if it still runs (its result is not wanted)."""
        if self in _RUNNING:
            self._end(kill=True)

    def _end(self, *, kill: bool) -> None:
        if kill:
            self._process.kill()
        self._receiver.close()
        self._process.join()
        _RUNNING.discard(self)

    def __enter__(self) -> Child[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(step: Callable[..., T], /, *args: Any, **kwargs: Any) -> Child[T]:
    """Start ``step(*args, **kwargs)`` in a forked process (see :class:`Child`)."""
    return Child(step, args, kwargs, fork=True)


def deferred(step: Callable[..., T], /, *args: Any, **kwargs: Any) -> Child[T]:
    """``step(*args, **kwargs)`` as a :class:`Child` that runs here when called."""
    return Child(step, args, kwargs, fork=False)


@contextlib.contextmanager
def joined() -> Iterator[None]:
    """Stop, on leaving the block, every child started in it and not waited for."""
    before = set(_RUNNING)
    try:
        yield
    finally:
        for child in _RUNNING - before:
            child.stop()


def _child(conn, step: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    try:
        conn.send((False, step(*args, **kwargs)))
    except BaseException as err:  # any failure is raised again by the waiting call
        try:
            conn.send((True, err))
        except Exception:  # an exception that cannot be pickled: its message
            conn.send((True, ReformAtlasError(message_line(err))))
    finally:
        conn.close()
