"""Write a set of output files so that a folder holds the complete old set or the complete new one.

:func:`atomic_output_dir` is how every command writes its output folder;
:func:`temp_sibling` is the private folder beside any path that a writer fills before
moving its result into place (both named ``.<name>.tmp-<pid>-<random>``, and both
removed by a later run when the process that made them is gone).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import glob
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from geo.errors import DataError, os_reason


@contextlib.contextmanager
def atomic_output_dir(out: str | os.PathLike) -> Iterator[Path]:
    """Give a temporary folder whose files replace those of ``out`` as one set, or not at all.

    Files are written into a hidden sibling folder of ``out``
    (``.<name>.tmp-<pid>-<random>``). On success that folder receives hard links to
    every other entry of ``out`` (files already there that the new set does not
    replace are kept), and is then swapped with ``out`` in one atomic step
    (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames). So ``out``
    holds either the complete previous set or the complete new one, never a mix.
    On any exception (and on SIGINT/SIGTERM turned into ``KeyboardInterrupt``) the
    temporary folder is removed and ``out`` is left as it was (not even created).
    Temporary folders of this naming left by killed runs are removed first.

    Raises
    ------
    DataError
        ``out`` is a file or a dangling symbolic link, its parent folder cannot be
        written, or a new file's name is taken in ``out`` by a folder (or the reverse).
    """
    out = _output_target(Path(out))
    parent = out.parent
    stack = contextlib.ExitStack()
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = stack.enter_context(temp_sibling(out))
    except OSError as err:
        blocker = next((a for a in (parent, *parent.parents) if a.exists() and not a.is_dir()), None)
        if blocker is not None:
            msg = f"{blocker}: is a file, not a folder; choose an output folder inside a folder"
            raise DataError(msg) from err
        msg = (
            f"{parent}: cannot create the output next to {out.name} ({os_reason(err)}); "
            "choose an output folder whose parent folder is writable"
        )
        raise DataError(msg) from err
    with stack:
        yield tmp
        _commit(tmp, out)


@contextlib.contextmanager
def temp_sibling(target: str | os.PathLike) -> Iterator[Path]:
    """Give a new private folder beside ``target``, removed on exit whatever happens.

    The folder is ``.<name>.tmp-<pid>-<random>`` in the folder of ``target``, so a
    result written into it can be moved onto ``target`` in one rename (same file
    system). Such folders left by killed processes (their process id no longer
    running) are removed first (:func:`remove_stale_temps`). On any exception, also
    ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM where the caller turns it into one), the
    folder and everything in it is removed.

    Raises
    ------
    OSError
        The folder cannot be created (the caller names the fix).
    """
    target = Path(target)
    remove_stale_temps(target.parent, target.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _output_target(out: Path) -> Path:
    """Return the folder to write: ``out`` itself, or where its symbolic link points."""
    if out.is_symlink() and not out.exists():
        msg = f"{out}: a symbolic link to nothing ({os.readlink(out)}); remove it or choose another output folder"
        raise DataError(msg)
    if out.exists() and not out.is_dir():
        msg = f"{out}: output path exists and is not a folder; choose another output folder"
        raise DataError(msg)
    target = out.resolve() if out.is_symlink() else Path(os.path.abspath(out))
    here = Path.cwd().resolve()
    if target.parent == target or target == here or target in here.parents:
        # the root (every entry of the file system would be linked into the new set), or the
        # working folder or one holding it (swapped away under the shell that runs the command)
        msg = f"{out}: not a folder to write outputs into; choose a folder of its own such as ./out"
        raise DataError(msg)
    return target


def _commit(tmp: Path, out: Path) -> None:
    """Make ``out`` the new set in ``tmp`` plus the entries of ``out`` it does not replace."""
    if not out.exists():
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        os.rename(tmp, out)
        return
    _check_replaceable(tmp, out)
    _link_others(out, tmp)
    tmp.chmod(stat.S_IMODE(out.stat().st_mode))
    if _exchange(tmp, out):
        return  # tmp now holds the previous set, removed by the caller
    old = tmp.with_name(tmp.name.replace(".tmp-", ".old-", 1))
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(tmp: Path, out: Path) -> None:
    """Raise before anything moves if a new entry cannot take the place of an old one."""
    for item in sorted(tmp.rglob("*")):
        target = out / item.relative_to(tmp)
        if not (target.exists() or target.is_symlink()):
            continue
        if item.is_dir() != (target.is_dir() and not target.is_symlink()):
            what = "folder" if target.is_dir() else "file"
            msg = (
                f"{target}: a {what} is in the way of the new output of that name; move or "
                "remove it, or choose another output folder"
            )
            raise DataError(msg)
    if not os.access(out, os.W_OK | os.X_OK):
        msg = f"{out}: the output folder is not writable; make it writable or choose another"
        raise DataError(msg)


def _link_others(out: Path, tmp: Path) -> None:
    """Hard-link (copy where links fail) every entry of ``out`` that ``tmp`` lacks."""
    for entry in out.iterdir():
        target = tmp / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if target.is_dir():
                _link_others(entry, target)
            else:
                shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        elif not (target.exists() or target.is_symlink()):
            if entry.is_symlink():
                os.symlink(os.readlink(entry), target)
            else:
                _link_or_copy(entry, target)


def _link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux ``renameat2(RENAME_EXCHANGE)``; False if unsupported.

    Python has no binding for it (``os.rename`` cannot swap two folders), so it is
    called through ctypes.
    """
    libc = _libc()
    if libc is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False  # old kernel or a file system without exchange: two renames instead
    raise OSError(err, os.strerror(err), str(b))


@functools.cache
def _libc() -> ctypes.CDLL | None:
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.renameat2  # noqa: B018 (glibc >= 2.28)
    except (OSError, AttributeError):
        return None
    return libc


#: Temporary folders older than this are stale even when their process id is unknown.
STALE_TEMP_SECONDS = 3600


def remove_stale_temps(parent: Path, name: str) -> None:
    """Remove ``.<name>.tmp-*`` / ``.<name>.old-*`` folders in ``parent`` whose process is gone."""
    try:
        entries = list(parent.glob(f".{glob.escape(name)}.[to][ml][pd]-*"))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink() and _is_stale(entry, name):
            shutil.rmtree(entry, ignore_errors=True)


def _is_stale(entry: Path, name: str) -> bool:
    rest = entry.name[len(name) + 1 :]
    if not rest.startswith((".tmp-", ".old-")):
        return False
    pid = rest[5:].split("-", 1)[0]
    if pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False  # alive, another user's
        return False
    try:  # a folder of the older naming (no pid): stale after an hour
        return time.time() - entry.stat().st_mtime > STALE_TEMP_SECONDS
    except OSError:
        return False
