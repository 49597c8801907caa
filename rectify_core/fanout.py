"""Work shared with helper processes: one Python process uses one processor, so work that
is Python's own (reading a large table, sending thousands of digests) goes faster when
fresh interpreters on the other processors take parts of it.

The calling process does parts itself while helpers do others; whichever is free takes
the next part, and the results come back in the parts' order: all at once (`share`, for
parts that are all at hand), or one by one as they are done (`stream`, for parts read as
they go, such as a large table's rows a chunk at a time). A helper is a fresh
interpreter running this module (`python -m rectify_core.fanout`), given the function,
its arguments and part after part as pickles over its standard input, giving results back
over its standard output; it never imports the caller's own script, so nothing of the
caller runs twice. A part a helper did not give back (it could not start, or it failed)
is done by the calling process, which then meets any error itself."""

from __future__ import annotations

import contextlib
import itertools
import marshal
import math
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
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


class Plain:
    """A value made only of plain types (str, int, float, None, bytes, lists, tuples,
    dicts): one that goes to a helper by `marshal`, several times cheaper than pickle for a
    chunk of a table's rows (this process pays for sending each part). A value marshal
    cannot take (a date, say) goes by pickle. The helper gets a Plain back; `.value` is it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        try:
            return _unmarshal, (marshal.dumps(self.value),)
        except ValueError:  # not plain: as pickle would
            return Plain, (self.value,)


def _unmarshal(data: bytes) -> Plain:
    return Plain(marshal.loads(data))


def stream(do: Callable[..., Result], parts: Iterable[Part], helpers: int, *args: Any,
           name: str = "rectify-helper", early: bool = False) -> Generator[Result, None, None]:
    """do(part, *args) for each part, yielded in the parts' order as they are done, with up
    to `helpers` helper processes doing parts beside this one. Parts are taken from `parts`
    here, in this thread, only as there is room: each helper holds at most `HELD`, and at
    most `AHEAD` results wait for an earlier one. The helpers start when a second part comes
    (one part is done here alone), or at once when `early` (many parts are expected: the
    helpers start while the first is being made). `do` must be a module-level function and
    its arguments picklable; the helpers' threads here are named `name`-0, -1…"""
    if helpers < 1:
        yield from (do(part, *args) for part in parts)
        return
    flow = _Flow(do, args, helpers, name) if early else None
    try:
        parts = iter(parts)
        first = next(parts, _END)
        second = next(parts, _END) if first is not _END else _END
        if second is _END:  # nothing to share
            if first is not _END:
                yield do(first, *args)
            return
        flow = flow or _Flow(do, args, helpers, name)
        yield from flow.run(itertools.chain([first, second], parts))
    finally:
        if flow is not None:
            flow.close()


_END = object()
AHEAD = 8  # results: how far this process may run ahead of a helper's slower part
HELD = 2  # parts a helper holds at once: one it does, the next waiting in its pipe


class _Flow:
    """`stream`'s parts in flight: given to helpers, or done here when none has room."""

    def __init__(self, do: Callable[..., Any], args: tuple[Any, ...], helpers: int, name: str) -> None:
        self.do, self.args = do, args
        self.changed = threading.Condition()  # guards results and every helper's `given`
        self.results: dict[int, Any] = {}
        self.helpers = [_Helper(self, f"{name}-{n}") for n in range(helpers)]

    def run(self, parts: Iterator[Any]) -> Generator[Any, None, None]:
        done = 0  # the next result to yield
        taken = 0  # parts taken so far
        for taken, part in enumerate(parts, start=1):
            helper = self._free()
            if helper is not None:
                helper.give(taken - 1, part)
            else:
                self._keep(taken - 1, self.do(part, *self.args))
            self._redo_orphans()
            while done in self.results or taken - done > AHEAD:
                done = yield from self._next_result(done)
        while done < taken:
            done = yield from self._next_result(done)

    def _next_result(self, done: int) -> Generator[Any, None, int]:
        """Result `done` once it is in (a part a helper could not give back is done here),
        yielded; the number of the next."""
        with self.changed:
            while done not in self.results and not self._orphaned():
                self.changed.wait()
        self._redo_orphans()
        if done in self.results:
            yield self.results.pop(done)
            return done + 1
        return done

    def _free(self) -> _Helper | None:
        with self.changed:
            room = [h for h in self.helpers if h.alive and len(h.given) < (HELD if h.warm else 1)]
            return min(room, key=lambda h: len(h.given)) if room else None

    def _keep(self, i: int, result: Any) -> None:
        with self.changed:
            self.results[i] = result
            self.changed.notify_all()

    def _orphaned(self) -> bool:
        return any(h.given and not h.alive for h in self.helpers)

    def _redo_orphans(self) -> None:
        """The parts of helpers that failed, done here (meeting any error they raise)."""
        for helper in self.helpers:
            while True:
                with self.changed:
                    if helper.alive or not helper.given:
                        break
                    i, part = next(iter(helper.given.items()))
                    del helper.given[i]
                self._keep(i, self.do(part, *self.args))

    def close(self) -> None:
        for helper in self.helpers:
            helper.stop()


class _Helper:
    """One helper process of a `stream`: a thread here starts it and writes it parts, a
    second reads its results back, in the order given."""

    def __init__(self, flow: _Flow, name: str) -> None:
        self.flow = flow
        self.given: dict[int, Any] = {}  # parts given and not yet given back, oldest first
        self.alive = True
        self.warm = False  # until its first result: one part at a time (it may be slow to start)
        self._used = False
        self.child: subprocess.Popen[bytes] | None = None
        self._waiting: queue.SimpleQueue[tuple[int, Any] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, name=name, daemon=True)
        self._reader: threading.Thread | None = None
        self._writer.start()

    def give(self, i: int, part: Any) -> None:
        with self.flow.changed:
            self.given[i] = part
        self._used = True
        self._waiting.put((i, part))

    def _end_if_idle(self) -> None:
        if (self.given or not self._used) and self.child is not None:
            self.child.kill()

    def _write(self) -> None:
        self.child = _start()
        if self.child is None:
            return self._fail()
        assert self.child.stdin is not None and self.child.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.child.stdout,),
                                        name=f"{self._writer.name}-back", daemon=True)
        self._reader.start()
        try:
            _send(self.child.stdin, (self.flow.do, self.flow.args))
            while (given := self._waiting.get()) is not None:
                _send(self.child.stdin, given[1])
        except Exception:  # gone, or a part that cannot travel: whatever it is,
            self._fail()  # what the helper had is done by the calling process, which meets any error
        finally:
            with contextlib.suppress(OSError):
                self.child.stdin.close()  # the helper ends once it has given back what it has

    def _read(self, results: IO[bytes]) -> None:
        try:
            while True:
                result = _receive(results)
                with self.flow.changed:
                    i = next(iter(self.given))
                    del self.given[i]
                    self.flow.results[i] = result
                    self.warm = True
                    self.flow.changed.notify_all()
        except Exception:  # the helper ended or failed: never leave the caller waiting
            self._fail()
            if self.child is not None:
                self.child.kill()  # a helper whose results cannot be read is of no more use

    def _fail(self) -> None:
        with self.flow.changed:
            self.alive = False
            self.flow.changed.notify_all()

    def stop(self) -> None:
        """No more parts. A helper still holding some (the caller stopped early), or never
        given one, is ended: nothing it would do is wanted."""
        self._waiting.put(None)
        if sys.is_finalizing() or threading.current_thread() in (self._writer, self._reader):
            # an abandoned stream, collected on one of this helper's own threads or as the
            # interpreter exits (its threads frozen): they may hold a pipe's lock, so the
            # helper is ended without waiting for anything
            if self.child is not None:
                self.child.kill()
            return
        self._end_if_idle()
        self._writer.join()
        self._end_if_idle()  # started meanwhile
        if self._reader is not None:
            self._reader.join()
        if self.child is not None:
            for pipe in (self.child.stdin, self.child.stdout):
                with contextlib.suppress(OSError):
                    if pipe is not None:
                        pipe.close()
            self.child.wait()


def _start() -> subprocess.Popen[bytes] | None:
    """A helper process with wide pipes, or None where none can start."""
    if not sys.executable:  # an interpreter embedded in another program: no Python to start
        return None
    try:
        child = subprocess.Popen(_command(), stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_environment())
    except OSError:
        return None  # no processes here: this process does them all
    assert child.stdin is not None and child.stdout is not None
    for pipe in (child.stdin, child.stdout):
        _widen(pipe)
    return child


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
        child = _start()
        if child is None:
            return  # this process does them all
        assert child.stdin is not None and child.stdout is not None
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
    closes its end. A thread gives the results back, so the next part is begun while a
    large result still waits for the caller to read it."""
    do, args = _receive(given)
    results: queue.SimpleQueue[Any] = queue.SimpleQueue()
    sender = threading.Thread(target=_send_all, args=(back, results), daemon=True)
    sender.start()
    try:
        while True:
            try:
                part = _receive(given)
            except EOFError:
                return
            results.put(do(part, *args))
    finally:  # what was done is given back, even when a part fails
        results.put(_END)
        sender.join()


def _send_all(back: IO[bytes], results: queue.SimpleQueue[Any]) -> None:
    while (result := results.get()) is not _END:
        _send(back, result)


if __name__ == "__main__":
    results = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else writes to standard output cannot break the results' stream
    _serve(sys.stdin.buffer, results)
