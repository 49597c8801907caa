"""A large table's rows read by several processes at once: reading a 100,000-row 台账 is
Python's own work, a row at a time, and one process uses one processor.

The calling process reads chunks itself while helper processes read others; whichever is
free takes the next chunk, and the results come back in the chunks' order, exactly as one
process would have made them. A helper is a fresh interpreter running this module
(`python -m rectify_core.importers.parallel`), given chunks and giving back results as
pickles over its standard input and output; it never imports the caller's own script, so
nothing of the caller runs twice. A chunk a helper did not give back (it could not start,
or it failed) is read by the calling process, which then meets any error itself. A small
table or a machine with one processor is read in the calling process alone."""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from rectify_core.errors import ConfigError

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")

PARALLEL_FROM = 20_000  # rows: below this, starting a process costs more than it saves
MOST = 4  # processes: past this the calling process is busy enough taking their results
ENV = "RECTIFY_IMPORT_PROCESSES"


def processes() -> int:
    """How many processes may read one table: RECTIFY_IMPORT_PROCESSES, else one for
    each processor this process may run on (up to MOST)."""
    raw = os.environ.get(ENV)
    if raw:
        try:
            count = int(raw)
        except ValueError:
            count = 0
        if count < 1:
            raise ConfigError(f"环境变量 {ENV}", "读取大表格的进程数", f"应为正整数，实际为 {raw!r}")
        return count
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, _quota(CPU_MAX), MOST))


CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # a container's share of the processors (cgroup v2)


def _quota(cpu_max: Path) -> int:
    """The processors a container's quota allows ("200000 100000": 2), else no bound: a
    container sees all the host's processors but may use only its share of them."""
    try:
        quota, period = cpu_max.read_text(encoding="ascii").split()[:2]
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, ZeroDivisionError):  # none, "max", or unreadable
        return MOST


def map_chunks(read: Callable[..., Result], chunks: list[Chunk], size: int, *args: Any) -> list[Result]:
    """[read(chunk, *args) for chunk in chunks], shared with helper processes when the
    chunks hold `size` rows or more. `read` must be a module-level function and its
    arguments picklable. Each chunk is let go once it is read."""
    allowed = processes()  # a wrong setting is said whatever the table's size
    helpers = allowed - 1 if size >= PARALLEL_FROM else 0
    shared = _Shared(read, chunks, args)
    threads = [threading.Thread(target=shared.helper, name=f"rectify-read-{n}", daemon=True)
               for n in range(min(helpers, len(chunks)))]
    for thread in threads:
        thread.start()
    try:
        while (i := shared.take()) is not None:
            shared.keep(i, read(chunks[i], *args))
    finally:
        shared.stopped = True  # on an error here: the helpers finish the chunk they have, and stop
        for thread in threads:
            thread.join()
    for i in range(len(chunks)):
        if i not in shared.results:  # a helper's that it did not give back
            shared.keep(i, read(chunks[i], *args))
    return [shared.results[i] for i in range(len(chunks))]


class _Shared:
    """The chunks, handed out one at a time to this process and to helpers' threads."""

    def __init__(self, read: Callable[..., Any], chunks: list[Any], args: tuple[Any, ...]) -> None:
        self.read, self.chunks, self.args = read, chunks, args
        self.results: dict[int, Any] = {}
        self.stopped = False
        self._next = itertools.count()  # one number each, whichever thread asks

    def take(self) -> int | None:
        i = next(self._next)
        return i if i < len(self.chunks) and not self.stopped else None

    def keep(self, i: int, result: Any) -> None:
        self.results[i] = result
        self.chunks[i] = None

    def helper(self) -> None:
        """In a thread: start a helper process and keep it fed, the next chunk waiting in
        its pipe while it reads one, until none are left."""
        if not sys.executable:  # an interpreter embedded in another program: no Python to start
            return
        try:
            child = subprocess.Popen(_command(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_environment())
        except OSError:
            return  # no processes here: this process reads them all
        assert child.stdin is not None and child.stdout is not None
        for pipe in (child.stdin, child.stdout):
            _widen(pipe)
        given: list[int] = []
        try:
            _send(child.stdin, (self.read, self.args))
            while given or not self.stopped:
                if len(given) < 2 and (i := self.take()) is not None:
                    _send(child.stdin, self.chunks[i])
                    given.append(i)
                    continue
                if not given:
                    break
                self.keep(given.pop(0), _receive(child.stdout))
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            pass  # the helper failed: the chunks it had are read by the calling process
        finally:
            for pipe in (child.stdin, child.stdout):
                with contextlib.suppress(OSError):  # a broken pipe: the helper is gone already
                    pipe.close()
            child.wait()


def _command() -> list[str]:
    return [sys.executable, "-m", __name__]


def _environment() -> dict[str, str]:
    """The caller's environment, with rectify_core importable however the caller found it."""
    here = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here if not path else f"{here}{os.pathsep}{path}"}


_LENGTH = 8  # bytes: each message is its length, then its pickle


def _widen(pipe: IO[bytes]) -> None:
    """A pipe that holds a whole chunk or result, so each goes in one write and comes out
    in one read: a thread here waits for the interpreter's lock after each (Linux)."""
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE)
    except (ImportError, AttributeError, OSError):
        pass  # elsewhere, or above the system's own bound: the default pipe, only slower


_PIPE = 1 << 20  # Linux's default bound for an unprivileged process


def _send(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(_LENGTH, "little") + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    head = stream.read(_LENGTH)
    if len(head) < _LENGTH:
        raise EOFError
    size = int.from_bytes(head, "little")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def _serve(given: IO[bytes], back: IO[bytes]) -> None:
    """A helper: the function and its arguments, then chunk after chunk until the caller
    closes its end."""
    gc.disable()  # a short life making many small objects
    read, args = _receive(given)
    while True:
        try:
            chunk = _receive(given)
        except EOFError:
            return
        _send(back, read(chunk, *args))


if __name__ == "__main__":
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else writes to standard output cannot break the results' stream
    _serve(sys.stdin.buffer, results)
