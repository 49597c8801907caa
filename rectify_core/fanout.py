"""Work shared with helper processes: one Python process uses one processor, so work that
is Python's own (reading a large table, sending thousands of digests) goes faster when
fresh interpreters on the other processors take parts of it.

The calling process does parts itself while helpers do others; whichever is free takes
the next part, and the results come back in the parts' order. A helper is a fresh
interpreter running this module (`python -m rectify_core.fanout`), given the function,
its arguments and part after part as pickles over its standard input, giving results back
over its standard output; it never imports the caller's own script, so nothing of the
caller runs twice. A part a helper did not give back (it could not start, or it failed)
is done by the calling process, which then meets any error itself."""

from __future__ import annotations

import contextlib
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

Part = TypeVar("Part")
Result = TypeVar("Result")

CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # a container's share of the processors (cgroup v2)


def processors(most: int) -> int:
    """The processors this process may run on (its affinity, a container's quota), up to `most`."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, _quota(CPU_MAX, most), most))


def _quota(cpu_max: Path, most: int) -> int:
    """The processors a container's quota allows ("200000 100000": 2), else `most`: a
    container sees all the host's processors but may use only its share of them."""
    try:
        quota, period = cpu_max.read_text(encoding="ascii").split()[:2]
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, ZeroDivisionError):  # none, "max", or unreadable
        return most


def share(do: Callable[..., Result], parts: list[Part], helpers: int, *args: Any,
          name: str = "rectify-helper") -> list[Result]:
    """[do(part, *args) for part in parts], with up to `helpers` helper processes doing
    parts beside this one. `do` must be a module-level function and its arguments
    picklable. Each part is let go once it is done. The helpers' threads here are named
    `name`-0, -1…"""
    shared = _Shared(do, parts, args)
    threads = [threading.Thread(target=shared.helper, name=f"{name}-{n}", daemon=True)
               for n in range(min(helpers, len(parts)))]
    for thread in threads:
        thread.start()
    try:
        while (i := shared.take()) is not None:
            shared.keep(i, do(parts[i], *args))
    finally:
        shared.stopped = True  # on an error here: the helpers finish the part they have, and stop
        for thread in threads:
            thread.join()
    for i in range(len(parts)):
        if i not in shared.results:  # a helper's that it did not give back
            shared.keep(i, do(parts[i], *args))
    return [shared.results[i] for i in range(len(parts))]


class _Shared:
    """The parts, handed out one at a time to this process and to helpers' threads."""

    def __init__(self, do: Callable[..., Any], parts: list[Any], args: tuple[Any, ...]) -> None:
        self.do, self.parts, self.args = do, parts, args
        self.results: dict[int, Any] = {}
        self.stopped = False
        self._next = itertools.count()  # one number each, whichever thread asks

    def take(self) -> int | None:
        i = next(self._next)
        return i if i < len(self.parts) and not self.stopped else None

    def keep(self, i: int, result: Any) -> None:
        self.results[i] = result
        self.parts[i] = None

    def helper(self) -> None:
        """In a thread: start a helper process and keep it fed, the next part waiting in
        its pipe while it does one, until none are left."""
        if not sys.executable:  # an interpreter embedded in another program: no Python to start
            return
        try:
            child = subprocess.Popen(_command(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_environment())
        except OSError:
            return  # no processes here: this process does them all
        assert child.stdin is not None and child.stdout is not None
        for pipe in (child.stdin, child.stdout):
            _widen(pipe)
        given: list[int] = []
        try:
            _send(child.stdin, (self.do, self.args))
            while given or not self.stopped:
                if len(given) < 2 and (i := self.take()) is not None:
                    _send(child.stdin, self.parts[i])
                    given.append(i)
                    continue
                if not given:
                    break
                self.keep(given.pop(0), _receive(child.stdout))
        except (OSError, EOFError, ValueError, pickle.UnpicklingError):
            pass  # the helper failed: the parts it had are done by the calling process
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
    """A pipe that holds a whole part or result, so each goes in one write and comes out
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
    """A helper: the function and its arguments, then part after part until the caller
    closes its end."""
    do, args = _receive(given)
    while True:
        try:
            part = _receive(given)
        except EOFError:
            return
        _send(back, do(part, *args))


if __name__ == "__main__":
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else writes to standard output cannot break the results' stream
    _serve(sys.stdin.buffer, results)
