"""`roster.stream` run in a child process, so that the caller plans one part while the child
reads the next: on a 100 000-row roster the reading (vetting, python-calamine, normalising)
and the caller's planning each take about half the work, and a machine has two cores.

The child gets the file's bytes and the vocabulary, and sends back what the stream yields,
pickled, one item at a time over a pipe. A file the child refuses is refused here with the same
code and message. A child that dies (killed, out of memory, a reader aborting the process on a
hostile file) refuses the file with READER_FAILED instead of taking the caller down with it.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import queue
import resource
import threading
import traceback
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from importers import errors as E
from importers import roster
from importers.errors import ImportFileError
from importers.roster import Found, Part
from importers.safety import Limits
from importers.vocab import Vocabulary

# A fork server forks each child from a clean process that has imported the importer once: no
# copy of the caller's threads, locks or database connections, and no import time per file.
_CONTEXT = multiprocessing.get_context("forkserver")
_PRELOAD = ["importers.roster", "python_calamine", "openpyxl"]
_CONTEXT.set_forkserver_preload(_PRELOAD)


def preload(*modules: str) -> None:
    """Have the fork server import these too (the modules of an `after_part`), so no child
    imports them per file; effective until the fork server starts, at the first `stream`."""
    _PRELOAD.extend(m for m in modules if m not in _PRELOAD)
    _CONTEXT.set_forkserver_preload(_PRELOAD)


# The reader's address space (RLIMIT_AS). A 100 000-row, 20-column roster reads within 300 MB
# here (and fails at 200 MB), so the largest roster the limits allow (200 000 rows) has room
# several times over. Past it the reader fails, not the machine: python-calamine allocates a
# sheet's whole rectangle (a vetted sheet may still be 200 000 rows by 512 columns) and aborts
# when it cannot (RELIABILITY: "parse in a child process with a memory limit").
MEMORY_LIMIT = 2 << 30
# Messages (parts of rows) the caller may have waiting: each costs the caller its pickled size.
AHEAD = 2


def stream(
    data: bytes,
    filename: str,
    vocab: Vocabulary,
    *,
    data_year: int,
    sheet: str | None = None,
    limits: Limits | None = None,
    engine: roster.Engine = "calamine",
    part_rows: int = roster.PART_ROWS,
    memory_limit: int = MEMORY_LIMIT,
    after_part: Callable[[Found, Part, Any], Any] | None = None,
    after_part_arg: Any = None,
) -> Iterator[Any]:
    """What `roster.stream` yields for these arguments, read in a child process whose address
    space is capped at `memory_limit` bytes.

    With `after_part` (a module-level function, named to the child by reference), the child
    yields `after_part(found, part, after_part_arg)` in place of each part: work the caller
    would do on the part, done while the caller is busy with the one before."""
    receive, send = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(
        target=_run,
        args=(
            send,
            data,
            filename,
            vocab,
            data_year,
            sheet,
            limits,
            engine,
            part_rows,
            memory_limit,
            after_part,
            after_part_arg,
        ),
        name="tierledger-roster-reader",
        daemon=True,
    )
    child.start()
    send.close()  # the child holds the only writing end: its death closes the pipe
    # A thread takes the child's messages off the pipe as they come, up to AHEAD of them, so
    # the child does not stall on every part the caller is slow with (a pipe holds 64 KB, a
    # part is ~1 MB): the two sides even out each other's slower parts.
    inbox: queue.Queue[bytes | None] = queue.Queue(maxsize=AHEAD)
    pump = threading.Thread(
        target=_pump, args=(receive, inbox), name="tierledger-roster-pump", daemon=True
    )
    pump.start()
    try:
        while True:
            item = _receive(inbox, child)
            kind = item[0]
            if kind == "item":
                yield item[1]
            elif kind == "refused":
                raise ImportFileError(item[1], item[2])
            elif kind == "failed":
                raise RuntimeError(f"the roster reader failed:\n{item[1]}")
            else:  # "end"
                return
    finally:
        _stop(child)  # its end of the pipe closes with it: the pump reads the end and stops
        while pump.is_alive():  # it may be waiting for room in the inbox
            with contextlib.suppress(queue.Empty):
                inbox.get(timeout=0.1)
        receive.close()


def _pump(conn: Connection, inbox: queue.Queue[bytes | None]) -> None:
    """Move each message from the pipe to `inbox`, then None once the pipe is closed."""
    try:
        while True:
            inbox.put(conn.recv_bytes())
    except (EOFError, OSError):
        inbox.put(None)


def _receive(inbox: queue.Queue[bytes | None], child: Any) -> tuple[Any, ...]:
    raw = inbox.get()
    if raw is None:  # the pipe closed before the child said it was done: it died
        child.join(5)
        raise ImportFileError(
            E.READER_FAILED,
            f"读取文件时读取进程意外退出（退出码 {child.exitcode}），文件可能已损坏或结构异常："
            "请用 Excel 打开后另存为新的 .xlsx 文件再上传",
        )
    return pickle.loads(raw)


def _stop(child: Any) -> None:
    child.join(0.5)
    if child.is_alive():  # the caller gave up early: the child is still reading
        child.terminate()
        child.join(5)
    if child.is_alive():
        child.kill()
        child.join()
    with contextlib.suppress(ValueError):
        child.close()


def _run(
    conn: Connection,
    data: bytes,
    filename: str,
    vocab: Vocabulary,
    data_year: int,
    sheet: str | None,
    limits: Limits | None,
    engine: roster.Engine,
    part_rows: int,
    memory_limit: int,
    after_part: Callable[[Found, Part, Any], Any] | None,
    after_part_arg: Any,
) -> None:
    def send(*message: Any) -> None:
        conn.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    # The child lives for one file and makes millions of small acyclic objects: cyclic
    # collection would only walk them again and again (the caller pauses it for the same reason).
    gc.disable()
    cap = memory_limit
    try:
        cap = _cap_memory(memory_limit)
        found: Found | None = None
        for item in roster.stream(
            data,
            filename,
            vocab,
            data_year=data_year,
            sheet=sheet,
            limits=limits,
            engine=engine,
            part_rows=part_rows,
        ):
            if isinstance(item, Found):
                found = item
            elif after_part is not None and isinstance(item, Part):
                assert found is not None  # the stream announces its header first
                item = after_part(found, item, after_part_arg)
            send("item", item)
        send("end")
    except ImportFileError as exc:
        send("refused", exc.code, exc.message)
    except MemoryError:
        del data  # room to say why
        send(
            "refused",
            E.READER_FAILED,
            f"读取这个文件需要的内存超过上限（{cap >> 20} MB），文件可能结构异常："
            "请用 Excel 打开后另存为新的 .xlsx 文件再上传，或分成几个文件上传",
        )
    except (BrokenPipeError, ConnectionResetError):
        pass  # the caller stopped listening
    except BaseException:
        send("failed", traceback.format_exc())
    finally:
        conn.close()


def _cap_memory(limit: int) -> int:
    """Lower this process's address-space limit to `limit`, never raising one it inherited
    (a caller may already run under a tighter one); returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    for inherited in (soft, hard):
        if inherited != resource.RLIM_INFINITY:
            limit = min(limit, inherited)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit
