"""Tests for cli.forked: a step's value and errors come back from the forked process."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from cli import forked
from geo.errors import DataError, ReformAtlasError


def _pid_and(value):
    return os.getpid(), value


def _fail(path):
    msg = f"{path}: no 'osm_id' column; use the HOT OSM export"
    raise DataError(msg)


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("cannot pickle")


def _fail_unpicklable():
    raise _Unpicklable("bad.geojson: broken in an odd way")


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def _block():
    threading.Event().wait()  # never set: the child runs until it is stopped


def test_the_value_comes_from_another_process():
    child = forked.start(_pid_and, {"rows": [1, 2, 3]})
    pid, value = child()
    assert forked.can_fork() and pid != os.getpid()
    assert value == {"rows": [1, 2, 3]}


def test_the_step_error_is_raised_by_the_waiting_call():
    with pytest.raises(DataError, match=r"^places\.geojson: no 'osm_id' column"):
        forked.start(_fail, "places.geojson")()


def test_an_error_that_cannot_be_pickled_comes_back_as_its_message():
    with pytest.raises(ReformAtlasError, match=r"bad\.geojson: broken in an odd way"):
        forked.start(_fail_unpicklable)()


def test_a_child_that_dies_is_a_one_line_error():
    with pytest.raises(ReformAtlasError, match=r"ended without a result \(exit code -9\)"):
        forked.start(_die)()


def test_children_not_waited_for_are_stopped_with_their_block():
    with pytest.raises(KeyError), forked.joined():
        child = forked.start(_block)
        raise KeyError("the command failed")
    assert child not in forked._RUNNING
    assert child._process.exitcode == -signal.SIGKILL
    with forked.start(_block) as other:
        pass
    assert other._process.exitcode == -signal.SIGKILL


def test_no_fork_beside_another_thread_the_step_runs_here():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.can_fork()
        pid, value = forked.start(_pid_and, 7)()
    finally:
        stop.set()
        thread.join()
    assert (pid, value) == (os.getpid(), 7)
    assert forked.deferred(_pid_and, 8)() == (os.getpid(), 8)
