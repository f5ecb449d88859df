"""Folders hkai-qa writes: atomic swap, the build lock, fsync, scratch arrays, leftovers, core count.

An index folder (and an ONNX export folder) is never written in place. Its
files go into a hidden sibling `.NAME.building-*`, are fsynced, then swapped in:

* where the kernel can (Linux renameat2 RENAME_EXCHANGE) the new folder and the
  old one trade places in one step, so no moment lacks the path;
* elsewhere the old folder is renamed to `.NAME.old-*` first; if a crash comes
  between the two renames, `restore_retired` puts it back on the next read.

What a killed build leaves (`.NAME.building-*`, `.NAME.old-*`, scratch files)
is removed by the next successful build of the same folder, under its lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import mmap
import os
import shutil
import stat
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import IndexStoreError

if TYPE_CHECKING:
    import numpy.typing as npt

log = logging.getLogger("hkai_qa")

STAGING = "building"
RETIRED = "old"
SCRATCH = "scratch"
# Siblings a build may leave when killed; "vectors" and "export" are older or the ONNX export's names.
LEFTOVER_KINDS = (STAGING, RETIRED, SCRATCH, "vectors", "export")
# A full or read-only disk: the same build may well work later, so nothing about it is recorded.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def available_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --- names beside a folder ------------------------------------------------------------------------


def sibling(folder: Path, kind: str) -> Path:
    """A new hidden name beside `folder`: `.NAME.KIND-xxxxxxxx`."""
    return folder.parent / f".{folder.name}.{kind}-{uuid.uuid4().hex[:8]}"


def siblings(folder: Path, kind: str) -> list[Path]:
    """The `.NAME.KIND-*` entries beside `folder`, newest first."""
    prefix = f".{folder.name}.{kind}-"
    try:
        found = [p for p in folder.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return []
    return sorted(found, key=_mtime, reverse=True)


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def clean_leftovers(folder: Path) -> None:
    """Remove what killed builds of `folder` left beside it. Call it holding `build_lock(folder)`."""
    for kind in LEFTOVER_KINDS:
        for path in siblings(folder, kind):
            remove_tree(path)


# --- writing ----------------------------------------------------------------------------------------


def remove_tree(path: Path) -> None:
    """Delete `path` (a file, a link or a folder), even one made read-only; what cannot go stays."""

    def make_writable_and_retry(function: Callable, failed: str, _exc_info: object) -> None:
        parent = os.path.dirname(failed)
        try:
            os.chmod(parent, stat.S_IMODE(os.lstat(parent).st_mode) | stat.S_IRWXU)
            function(failed)
        except OSError:
            pass

    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, onerror=make_writable_and_retry)
    except OSError:
        pass


def fsync_tree(folder: Path) -> None:
    """Flush every file under `folder`, and the folders' entries, to disk before it is swapped in."""
    for path in [*folder.rglob("*"), folder]:
        if path.is_symlink():
            continue
        descriptor = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def swap_in(staging: Path, folder: Path) -> None:
    """Put `staging` at `folder`'s path and delete what was there (see the module docstring)."""
    if folder.is_dir() and not folder.is_symlink() and _exchange(staging, folder):
        remove_tree(staging)  # it now holds the old folder
    else:
        retired = sibling(folder, RETIRED)
        if folder.exists() or folder.is_symlink():
            os.replace(folder, retired)
        os.replace(staging, folder)
        remove_tree(retired)
    with contextlib.suppress(OSError):
        _fsync_folder(folder.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
exchange_supported = sys.platform.startswith("linux")  # cleared when the C library lacks renameat2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (renameat2 RENAME_EXCHANGE); False where the system cannot."""
    global exchange_supported
    if not exchange_supported:
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        exchange_supported = False
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # this file system cannot exchange: two renames instead
    raise OSError(code, os.strerror(code), str(second))


def restore_retired(folder: Path, is_complete: Callable[[Path], bool]) -> Path | None:
    """If `folder` is missing but a retired copy `.NAME.old-*` beside it is complete, rename it back.

    That is what a crash between the two renames of a swap leaves. Returns the
    copy restored, or None. A place we cannot write is left as it is.
    """
    if folder.exists() or folder.is_symlink():
        return None
    candidates = [p for p in siblings(folder, RETIRED) if p.is_dir() and is_complete(p)]
    if not candidates:
        return None
    with build_lock(folder):
        if folder.exists():  # another process finished its swap meanwhile
            return None
        try:
            os.replace(candidates[0], folder)
        except OSError as error:
            log.warning(
                "hkai-qa: %s is missing and %s holds its last index, but cannot be renamed back (%s).",
                folder,
                candidates[0].name,
                error.strerror,
            )
            return None
    log.warning("hkai-qa: %s was missing after an interrupted build; restored it from %s.", folder, candidates[0].name)
    return candidates[0]


# --- scratch arrays ------------------------------------------------------------------------------------


def scratch_array(beside: Path, shape: Sequence[int], dtype: npt.DTypeLike = np.float32) -> np.ndarray:
    """A zeroed array in a memory-mapped file beside `beside`, unlinked at once.

    Its disk blocks are reserved up front (posix_fallocate), so a full disk is an
    IndexStoreError now rather than a Bus error when a page is first written; the
    space goes when the array does, even if the build is interrupted.
    """
    shape = tuple(int(n) for n in shape)
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes == 0:
        return np.zeros(shape, dtype)
    path = sibling(beside, SCRATCH)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise write_error(error, beside.parent, nbytes, "the passage vectors") from None
    try:
        path.unlink()
        try:
            os.posix_fallocate(descriptor, 0, nbytes)
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise write_error(error, beside.parent, nbytes, "the passage vectors") from None
            os.ftruncate(descriptor, nbytes)  # no reservation on this file system: a sparse file, as before
        buffer = mmap.mmap(descriptor, nbytes)
    finally:
        os.close(descriptor)
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)


def write_error(error: OSError, where: Path, needed: int | None = None, what: str = "the index") -> IndexStoreError:
    """The one-line error for an OSError met while writing into `where`."""
    if error.errno in NO_SPACE:
        free = free_bytes(where)
        need = f"about {human_size(needed)} for {what}" if needed else f"more room for {what}"
        return IndexStoreError(
            f"not enough disk space in {where}: it needs {need} and {human_size(free)} is free. "
            "Free some space, or build elsewhere with --index; the previous index is unchanged."
        )
    if error.errno in NOT_WRITABLE:
        return IndexStoreError(
            f"cannot write {what} in {where} ({error.strerror}). "
            "Choose a folder you can write with --index; the previous index is unchanged."
        )
    return IndexStoreError(
        f"writing {what} in {where} failed ({error.strerror or error}); the previous index is unchanged."
    )


def free_bytes(where: Path) -> int:
    """Free bytes on the disk holding `where` (or its nearest existing parent)."""
    for place in (where, *where.parents):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(place).free
    return 0


def human_size(count: int) -> str:
    """`count` bytes for a person: 812 bytes, 3.1 MB."""
    if count < 1024:
        return f"{count} bytes"
    size, units = count / 1024, ["KB", "MB", "GB", "TB"]
    while size >= 1024 and len(units) > 1:
        size, units = size / 1024, units[1:]
    return f"{size:.1f} {units[0]}"


# --- the build lock --------------------------------------------------------------------------------


@dataclass
class _Holder:
    """This process's hold on one lock file: threads queue on `thread_lock`; `depth` counts nesting."""

    thread_lock: threading.RLock
    depth: int = 0


_holders: dict[str, _Holder] = {}
_holders_guard = threading.Lock()


@contextlib.contextmanager
def build_lock(folder: str | Path) -> Iterator[None]:
    """Serialise writers of one folder across processes (flock on `.NAME.lock` beside it).

    Re-entrant within a thread. The lock file is removed on release, so none is
    left behind. Where it cannot be created (a read-only folder or mount), the
    lock is shared on an existing file or skipped: readers need no lock, and a
    writer there fails with its own message when it writes.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise IndexStoreError(f"{folder} is a file, not an index folder. Remove it or choose another --index folder.")
    path = folder.parent / f".{folder.name}.lock"
    with _holders_guard:
        holder = _holders.setdefault(os.path.abspath(path), _Holder(threading.RLock()))
    with holder.thread_lock:
        if holder.depth:
            holder.depth += 1
            try:
                yield
            finally:
                holder.depth -= 1
            return
        descriptor, owned = _acquire(path)
        holder.depth = 1
        try:
            yield
        finally:
            holder.depth = 0
            if descriptor is not None:
                if owned:
                    with contextlib.suppress(OSError):
                        path.unlink()
                fcntl.flock(descriptor, fcntl.LOCK_UN)
                os.close(descriptor)


def is_being_written(folder: str | Path) -> bool:
    """Whether a writer (another process, or another thread of this one) holds `folder`'s build lock now.

    A snapshot, not a lock: a reader uses it to answer from a complete index that is
    behind its corpus instead of waiting for the writer that is bringing it up to date.
    """
    folder = Path(folder)
    try:
        descriptor = os.open(folder.parent / f".{folder.name}.lock", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False  # no lock file: nobody is writing
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)  # closing also releases a shared lock we took
    return False


def _acquire(path: Path) -> tuple[int | None, bool]:
    """(descriptor holding the lock or None, whether we may remove the file)."""
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except (NotADirectoryError, FileExistsError):
            raise IndexStoreError(f"{path.parent} is not a folder. Choose another --index folder.") from None
        except OSError as error:
            if error.errno not in NOT_WRITABLE | NO_SPACE:  # e.g. a place no file can be made, like /proc
                raise IndexStoreError(
                    f"cannot make a folder or file in {path.parent} ({error.strerror or error}). "
                    "Choose another --index folder."
                ) from None
            try:
                descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None, False  # nothing to lock on here, and nothing can be written either
            fcntl.flock(descriptor, fcntl.LOCK_SH)
            return descriptor, False
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        # The previous holder removes the file as it lets go: if ours was removed meanwhile, lock the new one.
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        held = os.fstat(descriptor)
        if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
            return descriptor, True
        os.close(descriptor)
