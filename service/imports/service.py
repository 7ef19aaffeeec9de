"""Roster import use cases: preview an upload, commit (or send for approval), approve, reject,
revert, and read batches. Services flush, never commit: the edge owns the transaction, so an
import writes its enterprises, designations, figures, plan and audit events all at once. The
one exception is asked for by the edge: `commit(checkpoint=session.commit)` makes the batch's
`running` marker durable before the long write, so a process killed mid-commit leaves a batch
that the next opener marks `failed` (see `fail_stale_batches`). `import_now` (preview and
commit in one pass) keeps its writes under a savepoint, to drop them at the first row error."""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import heapq
import operator
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlmodel import Session

from importers import annotate, offload, roster
from importers import template as template_builder
from importers.errors import ImportFileError, RowError
from importers.safety import Limits
from importers.vocab import Vocabulary
from service.access.actor import SYSTEM, Actor
from service.audit import service as audit_service
from service.audit.models import AuditEvent
from service.bulk import RawJSON, insert_rows, reserve_ids
from service.db import (
    PLANNER_STATS_ROWS,
    refresh_planner_statistics,
    utcnow,
)
from service.enterprises import service as enterprise_service
from service.enterprises.models import AnnualFigures, Enterprise, EnterpriseSubsector
from service.errors import FieldError, LedgerError, not_found
from service.imports import guess as guessing
from service.imports import lines as lines_store
from service.imports import plan as plan_core
from service.imports.guess import CodeSet, GuessedPart
from service.imports.lines import Line
from service.imports.models import CHUNK_LINES, ImportBatch, ImportBatchChunk
from service.imports.packing import pack, unpack
from service.ladder import compliance
from service.ladder.models import Designation
from service.reference import service as reference_service
from service.reference.models import District, Tier
from service.requestid import current_request_id

# (phase, done, total): phase is "read", "validated" or "written"; total 0 when unknown.
Progress = Callable[[str, int, int], None]
SEE_ALL_BATCHES = frozenset({"system", "admin", "manager"})
CHUNK = 1000
LINE_PAGE_MAX = 500
# A running batch of another host whose row nobody holds is taken for dead after this long.
STALE_AFTER = timedelta(minutes=10)

_E = Enterprise.__table__  # type: ignore[attr-defined]
_F = AnnualFigures.__table__  # type: ignore[attr-defined]
_D = Designation.__table__  # type: ignore[attr-defined]
_C = ImportBatchChunk.__table__  # type: ignore[attr-defined]
_A = AuditEvent.__table__  # type: ignore[attr-defined]
_B = ImportBatch.__table__  # type: ignore[attr-defined]

# Progress of running commits, for the page's progress bar (per process; the work is in-request).
_progress: dict[int, dict[str, Any]] = {}
_progress_lock = threading.Lock()
# Tokens of the commits this process is running now: a `running` batch of this process whose
# token is not here was left behind by a commit that raised.
_live_runs: set[str] = set()


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while an import builds or writes its rows.

    A preview or commit allocates millions of small acyclic containers (parsed rows, plan
    lines, payload dicts, result rows); each allocation burst sets off collections, and the
    full ones walk every live object again: a third of a 10 000-row preview's CPU, more as the
    roster grows. Reference counting still frees all of it; the few cycles made meanwhile are
    collected when the last running import ends (concurrent imports share the pause)."""
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


def _report(batch_id: int | None, progress: Progress | None) -> Progress:
    def report(phase: str, done: int, total: int) -> None:
        if batch_id is not None:
            with _progress_lock:
                _progress[batch_id] = {"phase": phase, "done": done, "total": total}
        if progress is not None:
            progress(phase, done, total)

    return report


# Previews under way, by (user id, the upload page's id for this upload): the page polls them
# while its upload request runs (per process, like `_progress`; there is no batch yet).
_previews: dict[tuple[int, str], dict[str, Any]] = {}


@contextlib.contextmanager
def watched_preview(user_id: int, upload_id: str) -> Iterator[Progress]:
    """A progress callback for one upload's preview, readable by `preview_progress` until the
    preview ends."""
    key = (user_id, upload_id)

    def progress(phase: str, done: int, total: int) -> None:
        with _progress_lock:
            _previews[key] = {"phase": phase, "done": done, "total": total}

    progress("read", 0, 0)
    try:
        yield progress
    finally:
        with _progress_lock:
            _previews.pop(key, None)


def preview_progress(user_id: int, upload_id: str) -> dict[str, Any]:
    """Where this user's upload stands: `running` with its phase and rows, or `unknown` (not
    begun yet, already done, or another user's)."""
    with _progress_lock:
        live = _previews.get((user_id, upload_id))
    if live is None:
        return {"status": "unknown", "phase": "", "done": 0, "total": 0}
    return {"status": "running", **live}


def progress_of(batch: ImportBatch) -> dict[str, Any]:
    """Where a batch's work stands: live figures while a commit runs, else from its status."""
    with _progress_lock:
        live = _progress.get(batch.id or 0)
    if live is not None and batch.status in ("previewed", "running"):
        return {"status": "running", **live}
    total = batch.rows
    done_phase = {"committed": "written", "reverted": "written"}.get(batch.status, "validated")
    return {"status": batch.status, "phase": done_phase, "done": total, "total": total}


# ---- undo records and chunks (the lines' own storage is in `lines`) ------------------------


def _dumps(value: Any) -> str:
    # The text json.dumps(value, ensure_ascii=False, separators=(",", ":")) writes, in a
    # third of the time: a commit encodes every chunk's undo record.
    return orjson.dumps(value).decode()


def _packed(value: Any) -> bytes:
    """An undo record as its chunk stores it; `_loads` reads it back."""
    return pack(_dumps(value).encode())


def _loads(blob: bytes | None) -> Any:
    return orjson.loads(unpack(blob)) if blob else None


def _chunk_rows(
    session: Session, batch_id: int, *, actions: Sequence[str] = ()
) -> Iterator[tuple[int, bytes, bytes | None]]:
    """(chunk id, lines, undo) in row order, one chunk in memory at a time; with `actions`,
    only chunks holding such lines."""
    stmt = sa.select(_C.c.id).where(_C.c.batch_id == batch_id).order_by(_C.c.seq)
    counts = {"create": _C.c.creates, "update": _C.c.updates}
    counts |= {"unchanged": _C.c.unchanged, "error": _C.c.errors}
    if actions:
        stmt = stmt.where(sa.or_(*(counts[a] > 0 for a in actions)))
    for chunk_id in list(session.scalars(stmt)):
        blob, undo = session.execute(
            sa.select(_C.c.lines, _C.c.undo).where(_C.c.id == chunk_id)
        ).one()
        yield chunk_id, blob, undo


def _visible(actor: Actor, batch: ImportBatch) -> bool:
    # A district officer sees their district's batches and their own uploads; managers all.
    if actor.role in SEE_ALL_BATCHES:
        return True
    if actor.role == "district_officer":
        return (bool(actor.district_code) and batch.district_code == actor.district_code) or (
            actor.id is not None and batch.uploaded_by_id == actor.id
        )
    return False


def get_batch(session: Session, actor: Actor, batch_id: int) -> ImportBatch:
    """A batch in the actor's scope; outside it answers exactly like a missing one."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or not _visible(actor, batch):
        raise not_found("导入批次", "import.not_found")
    return batch


def list_batches(
    session: Session, actor: Actor, *, page: int = 1, page_size: int = 50
) -> tuple[list[ImportBatch], int]:
    stmt = sa.select(ImportBatch)
    if actor.role not in SEE_ALL_BATCHES:
        if actor.role != "district_officer":
            return [], 0
        stmt = stmt.where(
            sa.or_(
                ImportBatch.district_code == actor.district_code,
                ImportBatch.uploaded_by_id == actor.id,
            )
        )
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(ImportBatch.id.desc())  # type: ignore[union-attr]
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), total


def lines(
    session: Session, batch: ImportBatch, *, page: int = 1, page_size: int = 100, action: str = ""
) -> tuple[list[Line], int]:
    """A page of the batch's plan lines in row order (optionally of one action), and the total;
    after commit, created lines carry their new enterprise's id."""
    counts = {"create": _C.c.creates, "update": _C.c.updates}
    counts |= {"unchanged": _C.c.unchanged, "error": _C.c.errors}
    wanted = [action] if action else list(counts)
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(sum(counts[a] for a in wanted)), 0)).where(
            _C.c.batch_id == batch.id
        )
    )
    skip = (page - 1) * page_size
    out: list[Line] = []
    stmt = sa.select(_C.c.id, *(counts[a] for a in wanted)).where(_C.c.batch_id == batch.id)
    for chunk_id, *ns in session.execute(stmt.order_by(_C.c.seq)).all():
        n = sum(ns)
        if skip >= n:
            skip -= n
            continue
        blob, undo = session.execute(
            sa.select(_C.c.lines, _C.c.undo).where(_C.c.id == chunk_id)
        ).one()
        created = {row: eid for row, eid in (_loads(undo) or {}).get("created", [])}
        for line in lines_store.decode(blob):
            if action and line.action != action:
                continue
            if skip:
                skip -= 1
                continue
            if line.enterprise_id is None:
                line.enterprise_id = created.get(line.row)
            out.append(line)
            if len(out) >= page_size:
                return out, int(total or 0)
    return out, int(total or 0)


def row_errors(batch: ImportBatch) -> list[RowError]:
    return [RowError(**e) for e in batch.errors]


# ---- preview --------------------------------------------------------------------------------


def file_error(exc: ImportFileError) -> LedgerError:
    """A refused file: 422 with the importer's stable code and its Chinese message."""
    return LedgerError(exc.code, "文件无法导入", 422, exc.message)


def _row_dict(e: RowError) -> dict[str, Any]:
    return {
        "row": e.row,
        "column": e.column,
        "value": e.value,
        "code": e.code,
        "message": e.message,
        "column_number": e.column_number,
    }


def _text_lengths() -> dict[str, int]:
    out = {}
    for prefix, table in (("", _E), ("designation.", _D)):
        for c in table.columns:
            length = getattr(c.type, "length", None)
            if isinstance(length, int):
                out[prefix + c.name] = length
    return out


def _resolve_district(session: Session, actor: Actor, district: str | None) -> str | None:
    """A district code from a code or any name the importer knows; officers get their own."""
    code: str | None = None
    if district:
        text = district.strip()
        if session.get(District, text) is not None:
            code = text
        else:
            from importers.normalize import DistrictMatcher

            code = DistrictMatcher(reference_service.vocabulary(session).districts).match(text)
        if code is None:
            raise LedgerError(
                "validation.failed",
                "提交的数据有误",
                422,
                f"区县“{text[:40]}”不存在",
                [FieldError("district", "district.unknown", f"区县“{text[:40]}”不存在", text)],
            )
    if actor.role == "district_officer":
        if code is not None and code != actor.district_code:
            raise LedgerError(
                "access.district_forbidden",
                "无权操作其他区县的企业",
                403,
                "区县用户只能导入本区县的企业名单",
            )
        return actor.district_code
    return code


@_gc_paused()
def preview(
    session: Session,
    actor: Actor,
    *,
    filename: str,
    data: bytes,
    today: date,
    district: str | None = None,
    data_year: int | None = None,
    sheet: str | None = None,
    limits: Limits | None = None,
    uploads_dir: Path | None = None,
    progress: Progress | None = None,
) -> ImportBatch:
    """Parse and check an upload, compare it with the ledger, and keep the plan as a batch
    (status previewed). Nothing in the ledger changes. A refused file raises a 422."""
    return _preview(
        session,
        actor,
        filename=filename,
        data=data,
        today=today,
        district=district,
        data_year=data_year,
        sheet=sheet,
        limits=limits,
        uploads_dir=uploads_dir,
        progress=progress,
        writer=None,
    )


@_gc_paused()
def import_now(
    session: Session,
    actor: Actor,
    *,
    filename: str,
    data: bytes,
    today: date,
    district: str | None = None,
    data_year: int | None = None,
    sheet: str | None = None,
    limits: Limits | None = None,
    uploads_dir: Path | None = None,
    skip_invalid: bool = False,
    requires_approval: bool = False,
    progress: Progress | None = None,
) -> ImportBatch:
    """Preview and commit in one pass, for a caller that reviews nothing in between
    (`roster import --commit`). The batch, its lines, its audit trail and the ledger end as
    `preview` then `commit` would leave them, but each part of the roster is written as soon
    as it is planned, while the reader reads the next part: the plan is not stored, read back,
    decoded and checked against the ledger a second time, and the writing overlaps the reading.

    A roster with errors (unless `skip_invalid`) writes nothing: what was written before the
    first error showed up is rolled back to a savepoint, and the batch is returned previewed,
    with its errors, as `preview` returns it. A committed batch comes back `committed`. A file
    refused half-way leaves only its refusal. A district officer's import that needs approval
    is previewed and sent for approval, as `commit` does."""
    # An officer's import that needs approval is only previewed here, then sent.
    approval = requires_approval and actor.role == "district_officer"
    writer = None if approval else _Writer(session, actor, skip_invalid=skip_invalid)
    with _sqlite_cache(session, ONE_PASS_CACHE_KIB):
        batch = _preview(
            session,
            actor,
            filename=filename,
            data=data,
            today=today,
            district=district,
            data_year=data_year,
            sheet=sheet,
            limits=limits,
            uploads_dir=uploads_dir,
            progress=progress,
            writer=writer,
        )
    if approval and (skip_invalid or not batch.error_rows):
        return commit(
            session, actor, batch.id or 0, skip_invalid=skip_invalid, requires_approval=True
        )
    if batch.status == "committed" and batch.created >= PLANNER_STATS_ROWS:
        refresh_planner_statistics(session.connection())
    return batch


class _Writer:
    """The writing half of `import_now`: holds the savepoint its writes are made under, and
    writes each planned part, in the caller's transaction, as `commit` writes a stored chunk."""

    def __init__(self, session: Session, actor: Actor, *, skip_invalid: bool) -> None:
        self.session = session
        self.actor = actor
        self.skip_invalid = skip_invalid
        self.mode = "skip_invalid" if skip_invalid else "all_or_nothing"
        self.tiers = {t.code: t for t in session.scalars(sa.select(Tier))}
        self.now = utcnow()
        self.batch: ImportBatch | None = None
        self.savepoint: Any = None
        self.written = 0

    def open(self, batch: ImportBatch) -> None:
        """Insert the batch (its id names the writes' source) under a savepoint."""
        self.savepoint = self.session.begin_nested()
        batch.status = "running"
        self.session.add(batch)
        self.session.flush()
        self.batch = batch

    def live(self, has_errors: bool) -> bool:
        """Whether parts are still written: not once an error shows up in an all-or-nothing
        import, and then everything written so far, the batch too, is rolled back."""
        if self.batch is not None and has_errors and not self.skip_invalid:
            self.close()
        return self.batch is not None

    def close(self) -> None:
        if self.savepoint is not None and self.savepoint.is_active:
            self.savepoint.rollback()
        self.batch = None
        self.savepoint = None

    def write(
        self,
        lines: Sequence[Line],
        current: dict[str, dict[str, Any]],
        report: Progress,
    ) -> bytes | None:
        """Write a part's created and updated lines; returns the chunk's undo record."""
        assert self.batch is not None
        todo = [line for line in lines if line.action in ("create", "update")]
        if not todo:
            return None
        undo = _write_lines(
            self.session, self.actor, self.batch, todo, current, self.tiers, self.now
        )
        self.written += len(todo)
        report("written", self.written, 0)
        return _packed(undo)


def _preview(
    session: Session,
    actor: Actor,
    *,
    filename: str,
    data: bytes,
    today: date,
    district: str | None,
    data_year: int | None,
    sheet: str | None,
    limits: Limits | None,
    uploads_dir: Path | None,
    progress: Progress | None,
    writer: _Writer | None,
) -> ImportBatch:
    report = _report(None, progress)
    district_code = _resolve_district(session, actor, district)
    year = data_year or today.year - 1
    if not 1949 <= year <= today.year:
        raise LedgerError(
            "validation.failed",
            "提交的数据有误",
            422,
            f"数据年度应在1949至{today.year}之间",
            [FieldError("data_year", "out_of_range", f"应在1949至{today.year}之间", year)],
        )
    fail_stale_batches(session)
    vocab = reference_service.vocabulary(session)
    writable: frozenset[str] | None = None
    if actor.role == "district_officer":
        writable = frozenset({actor.district_code or ""})
    elif district_code is not None:
        writable = frozenset({district_code})
    tiers = {
        t.code: plan_core.TierInfo(t.code, t.name, t.validity_years)
        for t in reference_service.tiers(session)
    }
    lengths = _text_lengths()
    sha = hashlib.sha256(data).hexdigest()

    # Plan a part of rows at a time against the ledger as it stands, while the next part is
    # read (in a child process for a large file), and keep only the chunk's compressed lines:
    # memory stays a part deep. The batch row is written once the whole file has been read,
    # so a file refused half-way leaves nothing behind but the refusal's audit entry.
    chunks: list[tuple[Any, ...]] = []
    codes: set[str] = set()
    found_districts: set[str] = set()
    parse_errors: list[RowError] = []
    parse_warnings: list[RowError] = []
    plan_errors: list[RowError] = []
    plan_warnings: list[RowError] = []
    error_rows_due: list[int] = []  # a heap of rows with parse errors, not yet given a line
    counts = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
    read = validated = 0
    found: roster.Found | None = None
    summary: roster.ParsedRoster | None = None
    base = plan_core.Context(
        data_year=year,
        tiers=tiers,
        district_names={d.code: d.name for d in vocab.districts},
        lengths=lengths,
        writable_districts=writable,
    )
    reader_plans = writer is not None and len(data) >= OFFLOAD_BYTES
    ctx: plan_core.Context | None = None
    # The last part and its keys, planned once the next part comes.
    held: tuple[roster.Part | GuessedPart, guessing.Keys] | None = None

    def plan_part(item: roster.Part | GuessedPart, keys: guessing.Keys, upto: int) -> None:
        assert ctx is not None
        guess = item if isinstance(item, GuessedPart) else None
        current = enterprise_service.snapshot(session, keys.codes, years=keys.years)
        # The reader planned a guessed part's new enterprises: the rest are planned here.
        here = item.known if isinstance(item, GuessedPart) else item.rows
        lines: list[Line] = []
        if here:
            plan = plan_core.build(here, current, ctx)
            plan_errors.extend(plan.errors)
            plan_warnings.extend(plan.warnings)
            lines = [lines_store.from_plan(line) for line in plan.lines]
        if guess is not None:
            guessed = guess.lines
            raced = [line.row for line in guessed if line.credit_code in current]
            if raced:
                raise _raced(raced)
            plan_errors.extend(guess.errors)
            plan_warnings.extend(guess.warnings)
            lines += guessed
        erred = []
        while error_rows_due and error_rows_due[0] <= upto:
            erred.append(heapq.heappop(error_rows_due))
        chunk_lines = lines + [Line(row, "error") for row in erred]
        if not chunk_lines:
            return
        chunk_lines.sort(key=lambda line: line.row)
        n = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
        for line in chunk_lines:
            n[line.action] += 1
        for k, v in n.items():
            counts[k] += v
        undo = None
        if writer is not None and writer.live(bool(parse_errors or plan_errors)):
            undo = writer.write(chunk_lines, current, report)
        # The reader's chunk is this very chunk when nothing was planned again here.
        same = guess is not None and not here and erred == guess.error_rows
        chunks.append(
            (
                len(chunks),
                chunk_lines[0].row,
                chunk_lines[-1].row,
                n["create"],
                n["update"],
                n["unchanged"],
                n["error"],
                guess.blob if same and guess is not None else lines_store.encode(chunk_lines),
                undo,
            )
        )

    try:
        how = None
        if reader_plans:
            how = guessing.Guessing(base, CodeSet(enterprise_service.all_credit_codes(session)))
        for item in _read_roster(data, filename, vocab, year, sheet, limits, how):
            if isinstance(item, roster.Part | GuessedPart):
                keys = item.keys if isinstance(item, GuessedPart) else guessing.keys(item)
                seen = {e.row for e in keys.errors}  # a row is judged once, in one part
                for row in seen:
                    heapq.heappush(error_rows_due, row)
                parse_errors += keys.errors
                parse_warnings += keys.warnings
                read += len(keys.codes) + len(seen)
                report("read", read, 0)
                if held is not None:
                    plan_part(*held, held[1].last_row)
                    validated += len(held[1].codes)
                    report("validated", validated, 0)
                held = item, keys
                codes.update(keys.codes)
                found_districts.update(keys.districts)
            elif isinstance(item, roster.Found):
                found = item
                if writer is not None:
                    writer.open(_new_batch(actor, filename, sha, data, district_code, year, item))
                ctx = plan_core.with_header(base, item)
            else:
                summary = item
        assert found is not None
        assert summary is not None
        empty = roster.Part([], [], [])
        plan_part(*(held or (empty, guessing.keys(empty))), 1 << 62)
        held = None
    except ImportFileError as exc:
        if writer is not None:
            writer.close()
        # Kept like a failed login: the edge commits this entry before the 422 leaves.
        audit_service.record(
            session,
            actor,
            action="import.refused",
            entity="import_batch",
            entity_repr=f"拒收的名单：{_clean_name(filename)}"[:300],
            changes={
                "file": [None, _clean_name(filename)],
                "code": [None, exc.code],
                "bytes": [None, len(data)],
            },
            source="import",
        )
        raise file_error(exc) from None
    report("read", summary.data_rows, summary.data_rows)
    report("validated", summary.data_rows, summary.data_rows)

    stored_name = ""
    if uploads_dir is not None:
        uploads_dir.mkdir(parents=True, exist_ok=True)
        suffix = ".csv" if filename.lower().endswith(".csv") else ".xlsx"
        stored_name = uuid.uuid4().hex + suffix
        (uploads_dir / stored_name).write_bytes(data)
    if writer is not None and writer.live(bool(parse_errors or plan_errors)):
        batch = writer.batch
    else:
        # Nothing written (a preview, or an import with errors): the chunks keep no undo.
        chunks = [(*chunk[:-1], None) for chunk in chunks]
        batch = _new_batch(actor, filename, sha, data, district_code, year, found)
        session.add(batch)
    assert batch is not None
    batch.stored_name = stored_name
    batch.rows = summary.data_rows
    batch.skipped_rows = summary.skipped_rows
    session.flush()
    batch_id = batch.id or 0
    now = batch.created_at
    insert_rows(
        session,
        _C,
        _CHUNK_COLS,
        ((batch_id, *chunk, now, now) for chunk in chunks),
        chunk=20,
    )
    chunks.clear()

    errors = sorted([*parse_errors, *plan_errors], key=lambda e: (e.row, e.column_number or 0))
    warnings = sorted(
        [*parse_warnings, *plan_warnings], key=lambda e: (e.row, e.column_number or 0)
    )
    error_rows = sorted({e.row for e in errors})

    # Absent: the district's active enterprises this roster does not list (never deleted).
    absent_district = district_code
    if absent_district is None:
        absent_district = found_districts.pop() if len(found_districts) == 1 else None
    absent: list[dict[str, Any]] = []
    if absent_district is not None:
        absent = [
            {"id": i, "credit_code": c, "name": n}
            for i, c, n in enterprise_service.active_in_district(session, absent_district)
            if c not in codes
        ]

    same = session.scalar(
        sa.select(ImportBatch.id)
        .where(ImportBatch.sha256 == sha, ImportBatch.status == "committed")
        .order_by(ImportBatch.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )
    notices = list(summary.notices)
    if same is not None:
        unchanged = not counts["create"] and not counts["update"]
        notices.insert(0, f"文件内容与批次{same}相同" + ("，无变化" if unchanged else ""))
    batch.created = counts["create"]
    batch.updated = counts["update"]
    batch.unchanged = counts["unchanged"]
    batch.error_rows = len(error_rows)
    batch.errors = [_row_dict(e) for e in errors]
    batch.warnings = [_row_dict(e) for e in warnings]
    batch.notices = notices
    batch.absent = absent
    batch.same_as_batch_id = same
    session.add(batch)
    session.flush()
    _audit(
        session,
        actor,
        [
            _event(
                actor,
                "import.preview",
                batch,
                changes={
                    "filename": [None, batch.filename],
                    "sha256": [None, sha],
                    "rows": [None, batch.rows],
                    "errors": [None, batch.error_rows],
                },
            )
        ],
    )
    if batch.status == "running":
        assert writer is not None
        _mark_committed(session, actor, batch, mode=writer.mode, now=writer.now)
        writer.savepoint.commit()
        report("written", writer.written, writer.written)
    return batch


def _new_batch(
    actor: Actor,
    filename: str,
    sha: str,
    data: bytes,
    district_code: str | None,
    year: int,
    found: roster.Found,
) -> ImportBatch:
    return ImportBatch(
        uploaded_by_id=actor.id,
        uploaded_by_name=actor.name,
        uploaded_by_role=actor.role,
        filename=_clean_name(filename),
        sha256=sha,
        size=len(data),
        district_code=district_code,
        data_year=year,
        sheet=found.sheet[:100],
        header_row=found.header_row,
        status="previewed",
    )


_CHUNK_COLS = (
    "batch_id",
    "seq",
    "first_row",
    "last_row",
    "creates",
    "updates",
    "unchanged",
    "errors",
    "lines",
    "undo",
    "created_at",
    "updated_at",
)


# The reader's fork server imports the planning `import_now` has the reader do.
offload.preload(guessing.__name__)

# Files this large are read in a child process while this one plans (a 100 000-row roster is
# about 14 MB): below it, starting the child would cost more than the overlap saves.
OFFLOAD_BYTES = 1 << 20


def _read_roster(
    data: bytes,
    filename: str,
    vocab: Vocabulary,
    data_year: int,
    sheet: str | None,
    limits: Limits | None,
    guessing_how: guessing.Guessing | None,
) -> Iterator[roster.Found | roster.Part | GuessedPart | roster.ParsedRoster]:
    """The roster's items, read in a child process for a large file. With `guessing_how` the
    child also plans parts as new (`GuessedPart`): for `import_now`, whose own process is busy
    writing, not for a preview, which waits on the reading."""
    read: Callable[..., Iterator[Any]] = roster.stream
    if len(data) >= OFFLOAD_BYTES:
        read = offload.stream
        if guessing_how is not None:
            read = functools.partial(
                offload.stream, after_part=guessing.guess, after_part_arg=guessing_how
            )
    return read(
        data,
        filename,
        vocab,
        data_year=data_year,
        sheet=sheet,
        limits=limits,
        part_rows=CHUNK_LINES,
    )


def _clean_name(filename: str) -> str:
    # Kept as given (shown escaped), but without control characters and within the column.
    return "".join(ch if ch.isprintable() else "_" for ch in filename)[:300]


# ---- audit rows in bulk ---------------------------------------------------------------------


# ---- audit rows in bulk ---------------------------------------------------------------------

_AUDIT_COLS = (
    "at",
    "actor_id",
    "actor_name",
    "actor_role",
    "action",
    "entity",
    "entity_id",
    "entity_repr",
    "enterprise_id",
    "changes",
    "source",
    "request_id",
    "created_at",
    "updated_at",
)


def _event(
    actor: Actor,
    action: str,
    batch: ImportBatch,
    *,
    changes: dict[str, Any] | RawJSON,
    entity: str = "import_batch",
    entity_id: Any = None,
    entity_repr: str = "",
    enterprise_id: int | None = None,
    at: datetime | None = None,
) -> tuple[Any, ...]:
    """One audit row (in `_AUDIT_COLS` order) with the fields `audit.service.record` writes; an
    import writes one per enterprise, so they go in as plain tuples in one executemany."""
    now = at or utcnow()
    return (
        now,
        actor.id,
        actor.name,
        actor.role,
        action,
        entity,
        str(batch.id if entity_id is None else entity_id),
        (entity_repr or f"导入批次{batch.id}：{batch.filename}")[:300],
        enterprise_id,
        changes,
        f"import:{batch.id}",
        current_request_id() or "",
        now,
        now,
    )


def _audit(session: Session, actor: Actor, events: Iterable[tuple[Any, ...]]) -> None:
    del actor  # each event carries its actor
    audit_service.mark_pending(session)  # as the ORM's flush notes an added one
    insert_rows(session, _A, _AUDIT_COLS, events)


# ---- a commit's durable marker, and what the next opener does with a dead one --------------


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" where /proc is not available):
    with the pid, it names one process even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    return "" if fields[0] == "Z" else fields[19]  # a zombie is dead


_HOST = socket.gethostname()[:100]


def _runner_token() -> str:
    return f"{_HOST}|{os.getpid()}|{_process_start(os.getpid())}|{uuid.uuid4().hex}"


def _runner_alive(runner: str) -> bool | None:
    """Whether the process named by `runner` still runs that commit: True, False, or None
    when it ran on another host (then only its row lock and its age tell)."""
    try:
        host, pid_text, start, _token = runner.split("|")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != _HOST:
        return None
    if pid == os.getpid():
        return runner in _live_runs
    if not Path("/proc").is_dir():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    now_start = _process_start(pid)
    return bool(now_start) and now_start == start


def fail_stale_batches(session: Session, *, now: datetime | None = None) -> list[int]:
    """Mark `failed` (audited) every running batch whose commit is dead: killed, or raised
    after its marker was committed. Its writes were one transaction, so the ledger never saw
    them. A commit in progress holds its batch row (PostgreSQL: skipped by SKIP LOCKED; SQLite:
    its write lock serialises us behind it) and its process is alive, so it is left alone.
    Called by preview, commit and at start-up (`tierledger` commands); flushes, never commits."""
    now = now or utcnow()
    stmt = (
        sa.select(ImportBatch.id, ImportBatch.runner, ImportBatch.updated_at)
        .where(ImportBatch.status == "running")
        .with_for_update(skip_locked=True)
    )
    failed: list[int] = []
    for batch_id, runner, updated_at in session.execute(stmt).all():
        alive = _runner_alive(runner)
        if alive or (alive is None and updated_at > now - STALE_AFTER):
            continue
        result = session.execute(
            sa.update(ImportBatch)
            .where(
                ImportBatch.id == batch_id,  # type: ignore[arg-type]
                ImportBatch.status == "running",  # type: ignore[arg-type]
                ImportBatch.runner == runner,  # type: ignore[arg-type]
            )
            .values(status="failed", updated_at=now, result={"reason": "导入中断，未写入任何数据"})
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            continue
        batch = session.get(ImportBatch, batch_id)
        if batch is None:
            continue
        session.refresh(batch)
        failed.append(batch_id)
        _audit(
            session,
            SYSTEM,
            [
                _event(
                    SYSTEM,
                    "import.fail",
                    batch,
                    changes={
                        "status": ["running", "failed"],
                        "runner": [runner, None],
                        "reason": [None, "导入进程中断，事务已回滚"],
                    },
                    at=now,
                )
            ],
        )
    return failed


# ---- commit, approval -----------------------------------------------------------------------


def _has_errors(batch: ImportBatch) -> LedgerError:
    shown = batch.errors[:200]
    return LedgerError(
        "import.has_errors",
        "名单有错误，未导入",
        422,
        f"共有{batch.error_rows}行有错误，全部改正后再导入；或选择只导入正确的行",
        [
            FieldError(
                f"第{e['row']}行" + (f"“{e['column']}”" if e["column"] else ""),
                e["code"],
                e["message"],
                e["value"],
            )
            for e in shown
        ],
        extra={"batch_id": batch.id},
    )


def _not_committable(batch: ImportBatch) -> LedgerError:
    names = {
        "rejected": "已被驳回",
        "reverted": "已撤销",
        "failed": "导入失败",
        "pending_approval": "正在等待审批",
        "committed": "已导入",
    }
    return LedgerError(
        "import.wrong_status",
        "该批次不能执行此操作",
        409,
        f"批次{batch.id}{names.get(batch.status, batch.status)}",
        extra={"batch_id": batch.id, "status": batch.status},
    )


def commit(
    session: Session,
    actor: Actor,
    batch_id: int,
    *,
    skip_invalid: bool = False,
    requires_approval: bool = False,
    progress: Progress | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> ImportBatch:
    """Write a previewed batch: all or nothing unless `skip_invalid`. A district officer's
    batch waits for a manager when the deployment asks for approval. Committing a committed
    batch again returns it unchanged (two clicks, two workers: one write).

    `checkpoint` is the edge's commit: called once the batch is marked `running`, so that
    marker is durable before the long write (a process killed then leaves a batch that the
    next opener marks failed); without it everything is one transaction."""
    fail_stale_batches(session)
    batch = get_batch(session, actor, batch_id)
    if batch.status == "committed":
        return batch
    if batch.status != "previewed":
        raise _not_committable(batch)
    if batch.error_rows and not skip_invalid:
        raise _has_errors(batch)
    mode = "skip_invalid" if skip_invalid else "all_or_nothing"
    if requires_approval and actor.role == "district_officer":
        if not _claim(session, batch, "previewed", "pending_approval"):
            session.refresh(batch)
            raise _not_committable(batch)
        session.refresh(batch)
        batch.mode = mode
        session.add(batch)
        session.flush()
        _audit(
            session, actor, [_event(actor, "import.submit", batch, changes={"mode": [None, mode]})]
        )
        return batch
    return _apply(
        session,
        actor,
        batch,
        mode=mode,
        expected="previewed",
        progress=progress,
        checkpoint=checkpoint,
    )


def approve(
    session: Session,
    actor: Actor,
    batch_id: int,
    *,
    progress: Progress | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> ImportBatch:
    """A manager commits an officer's batch; nobody approves their own upload."""
    batch = get_batch(session, actor, batch_id)
    if batch.status == "committed":
        return batch
    if batch.status != "pending_approval":
        raise _not_committable(batch)
    if actor.id is not None and actor.id == batch.uploaded_by_id:
        raise LedgerError(
            "import.self_approval", "不能审批自己上传的名单", 403, "请由其他管理员审批"
        )
    batch.decided_by_id = actor.id
    batch.decided_by_name = actor.name
    return _apply(
        session,
        actor,
        batch,
        mode=batch.mode,
        expected="pending_approval",
        progress=progress,
        checkpoint=checkpoint,
    )


def reject(session: Session, actor: Actor, batch_id: int, *, reason: str = "") -> ImportBatch:
    batch = get_batch(session, actor, batch_id)
    if batch.status not in ("pending_approval", "previewed"):
        raise _not_committable(batch)
    before = batch.status
    if not _claim(session, batch, before, "rejected"):
        session.refresh(batch)
        raise _not_committable(batch)
    session.refresh(batch)
    batch.decided_by_id = actor.id
    batch.decided_by_name = actor.name
    batch.result = {"reason": reason[:500]}
    session.add(batch)
    session.flush()
    _audit(
        session,
        actor,
        [
            _event(
                actor,
                "import.reject",
                batch,
                changes={"status": [before, "rejected"], "reason": [None, reason[:500]]},
            )
        ],
    )
    return batch


CANCELLED_REASON = "上传人取消，未导入"


def cancel(session: Session, actor: Actor, batch_id: int) -> ImportBatch:
    """暂不导入: whoever may upload closes a previewed batch, as a rejection with its reason, so
    it leaves the open list and no one commits the stale preview later. A batch awaiting
    approval is the approver's to reject."""
    batch = get_batch(session, actor, batch_id)
    if batch.status != "previewed":
        raise _not_committable(batch)
    return reject(session, actor, batch_id, reason=CANCELLED_REASON)


def _claim(session: Session, batch: ImportBatch, expected: str, status: str) -> bool:
    """Move a batch on atomically: of two concurrent requests exactly one wins the row."""
    result = session.execute(
        sa.update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.status == expected)  # type: ignore[arg-type]
        .values(status=status, updated_at=utcnow())
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _stale(rows: list[int]) -> LedgerError:
    return _conflict(
        rows,
        "import.stale_preview",
        "台账已变化，请重新预览",
        "预览之后，第{rows}行对应的企业已被修改：请重新预览",
    )


def _raced(rows: list[int]) -> LedgerError:
    return _conflict(
        rows,
        "import.concurrent_create",
        "台账在导入期间已变化，请重新导入",
        "导入期间，第{rows}行的企业已由他人录入台账：本次导入未写入任何数据，请重新导入",
    )


def _conflict(rows: list[int], code: str, title: str, detail: str) -> LedgerError:
    shown = "、".join(str(r) for r in rows[:20]) + ("等" if len(rows) > 20 else "")
    return LedgerError(code, title, 409, detail.format(rows=shown), extra={"rows": rows[:200]})


def _decode(values: dict[str, Any]) -> dict[str, Any]:
    return plan_core.from_json_values(values)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _grouped_update(
    session: Session,
    table: sa.Table,
    rows: list[tuple[int, dict[str, Any]]],
    *,
    version: bool = False,
) -> None:
    """UPDATE many rows, one executemany per set of columns; `version` rows carry the version
    they were planned against and move it on by one."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_id, values in rows:
        key = tuple(sorted(k for k in values if not k.startswith("_")))
        params = {f"p_{k}": v for k, v in values.items() if not k.startswith("_")}
        params["p_id"] = row_id
        if version:
            params["p_version"] = values["_version"]
        groups.setdefault(key, []).append(params)
    for columns, params in groups.items():
        stmt = sa.update(table).where(table.c.id == sa.bindparam("p_id"))
        sets: dict[str, Any] = {c: sa.bindparam(f"p_{c}") for c in columns}
        if version:
            stmt = stmt.where(table.c.version == sa.bindparam("p_version"))
            sets["version"] = table.c.version + 1
        for chunk in _chunks(params):
            result = session.execute(stmt.values(sets), list(chunk))
            if (
                version
                and session.get_bind().dialect.supports_sane_multi_rowcount
                and result.rowcount != len(chunk)  # type: ignore[attr-defined]
            ):
                raise _stale([])


_ENTERPRISE_BASE = {
    "chain_position": None,
    "main_products": "",
    "established_on": None,
    "address": "",
    "legal_representative": "",
    "contact_person": "",
    "contact_phone": "",
    "is_key": False,
    "key_reason": "",
    "status": "active",
    "notes": "",
    "version": 1,
}
_DESIGNATION_BASE = {
    "batch": "",
    "document_no": "",
    "valid_until": None,
    "status": "valid",
    "reason": "",
    "revoked_on": None,
}


def _insert_dicts(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Dicts of varying keys: one executemany per key set, every row with every column."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    last_keys: Any = None
    last_group: list[dict[str, Any]] = []
    for values in rows:
        # Rows of one kind mostly share their keys: compared as a set view, in C, instead of
        # sorting every row's keys.
        if values.keys() == last_keys:
            last_group.append(values)
            continue
        key = tuple(sorted(values))
        last_keys = frozenset(key)
        last_group = groups.setdefault(key, [])
        last_group.append(values)
    for key, group in groups.items():
        pick = operator.itemgetter(*key)
        params = (
            [pick(values) for values in group] if len(key) > 1 else [(v[key[0]],) for v in group]
        )
        insert_rows(session, table, key, params)


def _apply(
    session: Session,
    actor: Actor,
    batch: ImportBatch,
    *,
    mode: str,
    expected: str,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None,
) -> ImportBatch:
    batch_id = batch.id or 0
    report = _report(batch_id, progress)
    runner = _runner_token()
    # The durable marker: claimed atomically (of two concurrent commits one wins the row).
    claimed = session.execute(
        sa.update(ImportBatch)
        .where(ImportBatch.id == batch_id, ImportBatch.status == expected)  # type: ignore[arg-type]
        .values(status="running", runner=runner, updated_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(batch)
        if batch.status == "committed":
            return batch
        raise _not_committable(batch)
    _live_runs.add(runner)
    try:
        if checkpoint is not None:
            checkpoint()
            # A new transaction: hold the batch row again (PostgreSQL keeps it locked to the
            # end, so `fail_stale_batches` elsewhere skips it) unless someone failed it meanwhile.
            held = session.execute(
                sa.update(ImportBatch)
                .where(
                    ImportBatch.id == batch_id,  # type: ignore[arg-type]
                    ImportBatch.status == "running",  # type: ignore[arg-type]
                    ImportBatch.runner == runner,  # type: ignore[arg-type]
                )
                .values(updated_at=utcnow())
            )
            if held.rowcount != 1:  # type: ignore[attr-defined]
                session.refresh(batch)
                raise _not_committable(batch)
        with _sqlite_cache(session, COMMIT_CACHE_KIB):
            written = _write(session, actor, batch, mode=mode, report=report)
        if (written.created or 0) >= PLANNER_STATS_ROWS:
            refresh_planner_statistics(session.connection())
        return written
    finally:
        _live_runs.discard(runner)


# SQLite page cache while a commit writes (KiB): the enterprise table's five indexes and unique
# key take new rows in random order, and with SQLite's default 2 MB cache each insert reread
# index pages. 100 000 enterprises into a ledger of 100 000, CPU: 6.2 s with 2 MB, 3.2 s with
# 32 MB, 3.1 s with 64 MB; 64 MB also raised the bench's peak RSS by 16 MB (the memory stays
# with the process), 32 MB left it where it was. Per connection, and put back after.
COMMIT_CACHE_KIB = 32768
# `import_now` writes while the reader process still holds its sheet (~250 MB at 100 000 rows),
# so its cache is smaller. The bench's peak for both processes (RSS summed), 100 000 rows: 499 MB
# with 32 MB of cache, 494–501 MB with 16 MB, 487–491 MB with 8 MB; its time was within the
# run-to-run noise (±25 % on this machine) each time.
ONE_PASS_CACHE_KIB = 8192


@contextlib.contextmanager
def _sqlite_cache(session: Session, kib: int) -> Iterator[None]:
    """A larger SQLite page cache for this connection while the block runs; other databases
    size their own buffers."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
    conn.exec_driver_sql(f"PRAGMA cache_size={-int(kib)}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")


@_gc_paused()
def _write(
    session: Session, actor: Actor, batch: ImportBatch, *, mode: str, report: Progress
) -> ImportBatch:
    """Apply the stored plan a chunk at a time: check each line against the ledger it was
    planned on, insert and update in bulk, audit one event per enterprise, keep what revert
    needs in the chunk. One transaction (the caller's): all of it, or none."""
    batch_id = batch.id or 0
    now = utcnow()
    total = batch.created + batch.updated
    tiers = {t.code: t for t in session.scalars(sa.select(Tier))}
    report("written", 0, total)
    written = 0
    for chunk_id, blob, _undo in _chunk_rows(session, batch_id, actions=("create", "update")):
        todo = [line for line in lines_store.decode(blob) if line.action in ("create", "update")]
        del blob
        years = sorted({y for line in todo for y in line.payload.get("years", [])})
        codes = [line.credit_code for line in todo]
        current = enterprise_service.snapshot(session, codes, years=years)
        stale = [
            line.row
            for line in todo
            if plan_core.fingerprint(current.get(line.credit_code), line.payload.get("years", []))
            != line.fingerprint
        ]
        if stale:
            raise _stale(stale)
        undo = _write_lines(session, actor, batch, todo, current, tiers, now)
        session.execute(
            sa.update(_C).where(_C.c.id == chunk_id).values(undo=_packed(undo), updated_at=now)
        )
        written += len(todo)
        report("written", written, total)
    _mark_committed(session, actor, batch, mode=mode, now=now)
    report("written", total, total)
    return batch


def _write_lines(
    session: Session,
    actor: Actor,
    batch: ImportBatch,
    todo: list[Line],
    current: dict[str, dict[str, Any]],
    tiers: dict[str, Tier],
    now: datetime,
) -> dict[str, Any]:
    """Write lines planned against `current` (the ledger as it stands) and audit one event
    per enterprise; returns the undo record their chunk keeps for revert."""
    undo = _write_chunk(session, todo, current, tiers, source=f"import:{batch.id}", now=now)
    ids = dict(undo.pop("_ids"))
    _audit(
        session,
        actor,
        (
            _event(
                actor,
                "import.create" if line.action == "create" else "import.update",
                batch,
                changes=RawJSON(line.diffs_json or "{}"),
                entity="enterprise",
                entity_id=ids[line.credit_code],
                entity_repr=line.name,
                enterprise_id=ids[line.credit_code],
                at=now,
            )
            for line in todo
        ),
    )
    return undo


def _mark_committed(
    session: Session, actor: Actor, batch: ImportBatch, *, mode: str, now: datetime
) -> None:
    batch_id = batch.id or 0
    session.execute(
        sa.update(ImportBatch)
        .where(ImportBatch.id == batch_id)  # type: ignore[arg-type]
        .values(
            status="committed",
            runner="",
            mode=mode,
            committed_at=now,
            committed_by_id=actor.id,
            committed_by_name=actor.name,
            decided_by_id=batch.decided_by_id,
            decided_by_name=batch.decided_by_name,
            updated_at=now,
        )
    )
    session.expire_all()  # Core wrote behind the ORM's back
    session.refresh(batch)
    _audit(
        session,
        actor,
        [
            _event(
                actor,
                "import.commit",
                batch,
                changes={
                    "mode": [None, mode],
                    "created": [None, batch.created],
                    "updated": [None, batch.updated],
                    "unchanged": [None, batch.unchanged],
                    "skipped_error_rows": [None, batch.error_rows],
                },
                at=now,
            )
        ],
    )
    session.flush()


def _write_chunk(
    session: Session,
    todo: list[Line],
    current: dict[str, dict[str, Any]],
    tiers: dict[str, Tier],
    *,
    source: str,
    now: datetime,
) -> dict[str, Any]:
    """Write one chunk's lines; returns its undo record (and the enterprise ids, as `_ids`)."""
    creates = [line for line in todo if line.action == "create"]
    ids: dict[str, int] = {code: cur["id"] for code, cur in current.items()}
    undo: dict[str, Any] = {
        "created": [],
        "enterprises": [],
        "figures": [],
        "figures_created": [],
        "designations": [],
        "designations_created": [],
    }
    if creates:
        # Ids given, not read back (no RETURNING in an executemany): 0.3 s of 100 000 rows.
        new_ids = reserve_ids(session, _E, len(creates))
        stamp = {"created_at": now, "updated_at": now}
        _insert_dicts(
            session,
            _E,
            [
                _ENTERPRISE_BASE
                | line.payload["enterprise"]  # its dates and decimals as text: bulk takes them
                | {"id": eid, "credit_code": line.credit_code}
                | stamp
                for line, eid in zip(creates, new_ids, strict=True)
            ],
        )
        ids.update(zip([line.credit_code for line in creates], new_ids, strict=True))
        undo["created"] = [[line.row, eid] for line, eid in zip(creates, new_ids, strict=True)]

    updates: list[tuple[int, dict[str, Any]]] = []
    for line in todo:
        if line.action != "update" or "enterprise" not in line.payload:
            continue
        cur = current[line.credit_code]
        values = _decode(line.payload["enterprise"])
        updates.append((cur["id"], values | {"updated_at": now, "_version": cur["version"]}))
        before = {k: plan_core.to_json(cur[k]) for k in values}
        before |= {"version": cur["version"], "updated_at": cur["updated_at"].isoformat()}
        undo["enterprises"].append([line.row, cur["id"], before, cur["version"] + 1])
    _grouped_update(session, _E, updates, version=True)

    fig_inserts: list[dict[str, Any]] = []
    fig_updates: list[tuple[int, dict[str, Any]]] = []
    des_inserts: list[dict[str, Any]] = []
    des_updates: list[tuple[int, dict[str, Any]]] = []
    for line in todo:
        eid = ids[line.credit_code]
        cur = current.get(line.credit_code)
        for year, spec in line.payload.get("figures", {}).items():
            if spec["id"] is None:
                fig_inserts.append(
                    spec["set"]  # decimals as text, as bulk takes them
                    | {
                        "enterprise_id": eid,
                        "year": int(year),
                        "source": source,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                if line.action == "update":
                    undo["figures_created"].append([line.row, eid, int(year)])
            else:
                values = _decode(spec["set"])
                old = cur["figures"][int(year)] if cur else {}
                fig_updates.append((spec["id"], values | {"source": source, "updated_at": now}))
                before = {k: plan_core.to_json(old[k]) for k in values}
                before |= {"source": old["source"], "updated_at": old["updated_at"].isoformat()}
                undo["figures"].append([line.row, spec["id"], before])
        spec = line.payload.get("designation")
        if spec:
            values = _decode(spec["set"])
            if spec["id"] is None:
                tier = tiers[values["tier_code"]]
                des_inserts.append(
                    _DESIGNATION_BASE
                    | values
                    | {
                        "enterprise_id": eid,
                        "authority": tier.designated_by,
                        "source": source,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                if line.action == "update":
                    undo["designations_created"].append(
                        [line.row, eid, values["tier_code"], spec["set"]["designated_on"]]
                    )
            else:
                old = next(d for d in (cur or {}).get("designations", []) if d["id"] == spec["id"])
                des_updates.append((spec["id"], values | {"updated_at": now}))
                before = {k: plan_core.to_json(old[k]) for k in values}
                before["updated_at"] = old["updated_at"].isoformat()
                undo["designations"].append([line.row, spec["id"], before])
    _insert_dicts(session, _F, fig_inserts)
    for row, did in zip(des_inserts, reserve_ids(session, _D, len(des_inserts)), strict=True):
        row["id"] = did  # for their designate events, without reading them back
    _insert_dicts(session, _D, des_inserts)
    if des_inserts:
        # Each enterprise is on one line of a batch, so its designations with this source are
        # the ones just inserted: they get their designate events and anomaly checks now. A
        # created enterprise's is its whole ladder; the others' ladders are read.
        created = {eid for _row, eid in undo["created"]}
        first = [d for d in des_inserts if d["enterprise_id"] in created]
        if first:
            compliance.record_first_designations(session, first, source=source)
        if len(first) < len(des_inserts):
            compliance.record_bulk_designations(
                session,
                sorted({d["enterprise_id"] for d in des_inserts} - created),
                source=source,
            )
    _grouped_update(session, _F, fig_updates)
    _grouped_update(session, _D, des_updates)
    undo["_ids"] = list(ids.items())
    return undo


# ---- revert ---------------------------------------------------------------------------------


@_gc_paused()
def revert(session: Session, actor: Actor, batch_id: int) -> ImportBatch:
    """Undo a committed batch: enterprises it created go if nothing touched them since, fields it
    changed go back unless edited since, its figures and designations go. What is kept is
    reported in `result`."""
    batch = get_batch(session, actor, batch_id)
    if batch.status != "committed":
        raise _not_committable(batch)
    if not _claim(session, batch, "committed", "reverted"):
        session.refresh(batch)
        raise _not_committable(batch)
    session.refresh(batch)
    source = f"import:{batch.id}"
    stamp = batch.committed_at or utcnow()
    who: dict[int, tuple[str, str]] = {}
    created: list[tuple[int, int]] = []
    ent_undo: list[tuple[int, int, dict[str, Any], int]] = []
    fig_undo: dict[int, list[tuple[int, dict[str, Any] | None]]] = {}
    des_undo: dict[int, list[tuple[int, dict[str, Any] | None]]] = {}
    fig_keys: list[tuple[int, int, int]] = []
    des_keys: list[tuple[int, int, str, str]] = []
    for _chunk_id, blob, undo_blob in _chunk_rows(
        session, batch.id or 0, actions=("create", "update")
    ):
        u = _loads(undo_blob) or {}
        for line in lines_store.decode(blob):
            if line.action in ("create", "update"):
                who[line.row] = (line.credit_code, line.name)
        created += [(row, eid) for row, eid in u.get("created", [])]
        ent_undo += [(row, eid, before, v) for row, eid, before, v in u.get("enterprises", [])]
        for row, fid, before in u.get("figures", []):
            fig_undo.setdefault(row, []).append((fid, before))
        for row, did, before in u.get("designations", []):
            des_undo.setdefault(row, []).append((did, before))
        for row, fid in u.get("figures_new", []):  # batches planned before chunks
            fig_undo.setdefault(row, []).append((fid, None))
        for row, did in u.get("designations_new", []):
            des_undo.setdefault(row, []).append((did, None))
        fig_keys += [tuple(k) for k in u.get("figures_created", [])]  # type: ignore[misc]
        des_keys += [tuple(k) for k in u.get("designations_created", [])]  # type: ignore[misc]

    # Rows this batch created under enterprises it only updated: found again by their keys.
    eids_with_new = sorted({k[1] for k in fig_keys} | {k[1] for k in des_keys})
    fig_by_key: dict[tuple[int, int], int] = {}
    des_by_key: dict[tuple[int, str, str], int] = {}
    for chunk in _chunks(eids_with_new):
        for fid, eid, year in session.execute(
            sa.select(_F.c.id, _F.c.enterprise_id, _F.c.year).where(
                _F.c.enterprise_id.in_(chunk), _F.c.source == source
            )
        ):
            fig_by_key[(eid, year)] = fid
        for did, eid, tier, on in session.execute(
            sa.select(_D.c.id, _D.c.enterprise_id, _D.c.tier_code, _D.c.designated_on).where(
                _D.c.enterprise_id.in_(chunk), _D.c.source == source
            )
        ):
            des_by_key[(eid, tier, on.isoformat())] = did
    for row, eid, year in fig_keys:
        fid = fig_by_key.get((eid, year))
        if fid is not None:
            fig_undo.setdefault(row, []).append((fid, None))
    for row, eid, tier, on in des_keys:
        did = des_by_key.get((eid, tier, on))
        if did is not None:
            des_undo.setdefault(row, []).append((did, None))

    eids = [eid for _r, eid in created] + [eid for _r, eid, _b, _v in ent_undo]
    ent_state: dict[int, tuple[int, datetime]] = {}
    for chunk in _chunks(eids):
        for eid, version, updated_at in session.execute(
            sa.select(_E.c.id, _E.c.version, _E.c.updated_at).where(_E.c.id.in_(chunk))
        ):
            ent_state[eid] = (version, updated_at)
    fig_state = _stamps(session, _F, [f for fs in fig_undo.values() for f, _b in fs])
    des_state = _stamps(session, _D, [d for ds in des_undo.values() for d, _b in ds])
    # The values being undone, so each entry reads {field: [imported, restored]} like any other
    # change (RELIABILITY 23), not a placeholder: one read per chunk of what is restored.
    now_e = _rows_by_id(session, _E, [eid for _r, eid, _b, _v in ent_undo])
    now_f = _rows_by_id(session, _F, list(fig_state))
    now_d = _rows_by_id(session, _D, list(des_state))
    touched = _touched_since(session, [eid for _r, eid in created], source, stamp)

    kept: list[dict[str, Any]] = []
    delete_enterprises: list[int] = []
    delete_figures: list[int] = []
    delete_designations: list[int] = []
    restore_e: list[tuple[int, dict[str, Any]]] = []
    restore_f: list[tuple[int, dict[str, Any]]] = []
    restore_d: list[tuple[int, dict[str, Any]]] = []
    events: list[tuple[Any, ...]] = []
    now = utcnow()

    def keep(row: int, why: str) -> None:
        code, name = who.get(row, ("", ""))
        kept.append({"row": row, "credit_code": code, "name": name, "reason": why})

    def event(row: int, eid: int | None, changes: dict[str, Any]) -> None:
        events.append(
            _event(
                actor,
                "import.revert",
                batch,
                changes=changes,
                entity="enterprise",
                entity_id=eid or "",
                entity_repr=who.get(row, ("", ""))[1],
                enterprise_id=eid,
                at=now,
            )
        )

    for row, eid in created:
        state = ent_state.get(eid)
        if state is None:
            continue  # already gone
        if eid in touched or state[0] != 1 or state[1] != stamp:
            keep(row, "导入后已被修改或补充了信息，企业保留")
            continue
        delete_enterprises.append(eid)
        event(row, eid, {"created": [True, None]})

    updated_rows = {row: (eid, before, v) for row, eid, before, v in ent_undo}
    for row in sorted(set(updated_rows) | set(fig_undo) | set(des_undo)):
        changed: dict[str, Any] = {}
        eid_for_event: int | None = None
        if row in updated_rows:
            eid, before, version = updated_rows[row]
            eid_for_event = eid
            state = ent_state.get(eid)
            if state is None or state[0] != version or state[1] != stamp:
                keep(row, "导入后企业档案已被修改，保留修改后的内容")
            else:
                restored = _decode(dict(before))
                restore_e.append((eid, restored))
                changed.update(_undone(now_e.get(eid, {}), restored))
        for fid, before in fig_undo.get(row, []):
            fig_stamp = fig_state.get(fid)
            if fig_stamp is None:
                continue
            if fig_stamp != stamp:
                keep(row, "导入后年度数据已被修改，保留修改后的数据")
            elif before is None:
                delete_figures.append(fid)
                changed.update(_undone(now_f.get(fid, {}), None, key="{field}:{year}"))
            else:
                restored = _decode(before)
                restore_f.append((fid, restored))
                changed.update(_undone(now_f.get(fid, {}), restored, key="{field}:{year}"))
        for did, before in des_undo.get(row, []):
            des_stamp = des_state.get(did)
            if des_stamp is None:
                continue
            if des_stamp != stamp:
                keep(row, "导入后认定记录已被修改，保留修改后的记录")
            elif before is None:
                delete_designations.append(did)
                changed.update(_undone(now_d.get(did, {}), None, key="designation.{field}"))
            else:
                restored = _decode(before)
                restore_d.append((did, restored))
                changed.update(_undone(now_d.get(did, {}), restored, key="designation.{field}"))
        if changed:
            event(row, eid_for_event, changed)

    _grouped_update(session, _E, restore_e)
    _grouped_update(session, _F, restore_f)
    _grouped_update(session, _D, restore_d)
    for table, col, id_list in (
        (_D, _D.c.id, delete_designations),
        (_F, _F.c.id, delete_figures),
        (_D, _D.c.enterprise_id, delete_enterprises),
        (_F, _F.c.enterprise_id, delete_enterprises),
        (EnterpriseSubsector.__table__, None, delete_enterprises),  # type: ignore[attr-defined]
        (_E, _E.c.id, delete_enterprises),
    ):
        column = col if col is not None else table.c.enterprise_id
        for chunk in _chunks(id_list):
            session.execute(sa.delete(table).where(column.in_(chunk)))
    kept.sort(key=lambda k: k["row"])
    batch.reverted_at = now
    batch.reverted_by_name = actor.name
    batch.result = {
        "removed_enterprises": len(delete_enterprises),
        "restored_enterprises": len(restore_e),
        "removed_figures": len(delete_figures),
        "restored_figures": len(restore_f),
        "removed_designations": len(delete_designations),
        "restored_designations": len(restore_d),
        "kept": kept,
    }
    session.add(batch)
    session.flush()
    events.append(
        _event(
            actor,
            "import.revert_batch",
            batch,
            changes={"status": ["committed", "reverted"], "kept": [None, len(kept)]},
            at=now,
        )
    )
    _audit(session, actor, events)
    session.flush()
    session.expire_all()
    session.refresh(batch)
    return batch


# Bookkeeping columns: how a row is filed, not what it says; never part of a change.
_NOT_VALUES = frozenset(
    {"id", "enterprise_id", "year", "version", "source", "created_at", "updated_at"}
)


def _rows_by_id(session: Session, table: sa.Table, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(ids):
        for row in session.execute(sa.select(table).where(table.c.id.in_(chunk))).mappings():
            out[row["id"]] = dict(row)
    return out


def _undone(
    current: dict[str, Any], restored: dict[str, Any] | None, *, key: str = "{field}"
) -> dict[str, list[Any]]:
    """{field: [value now, value after the revert]} for what a revert changes on one row;
    `restored` None: the import created the row and the revert deletes it."""
    fields = restored if restored is not None else current
    out: dict[str, list[Any]] = {}
    for name, value in fields.items():
        if name in _NOT_VALUES:
            continue
        old = audit_service.display(current.get(name))
        new = None if restored is None else audit_service.display(value)
        if old != new:
            out[key.format(field=name, year=current.get("year"))] = [old, new]
    return out


def _stamps(session: Session, table: sa.Table, ids: Sequence[int]) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for chunk in _chunks(ids):
        for row_id, stamp in session.execute(
            sa.select(table.c.id, table.c.updated_at).where(table.c.id.in_(chunk))
        ):
            out[row_id] = stamp
    return out


def _touched_since(
    session: Session, enterprise_ids: Sequence[int], source: str, since: datetime
) -> set[int]:
    """Created enterprises something else has touched: audited by another hand, or holding
    figures, designations or subsectors this batch did not write."""
    out: set[int] = set()
    sub = EnterpriseSubsector.__table__  # type: ignore[attr-defined]
    for chunk in _chunks(enterprise_ids):
        out.update(
            session.scalars(
                sa.select(_A.c.enterprise_id).where(
                    _A.c.enterprise_id.in_(chunk), _A.c.source != source, _A.c.at >= since
                )
            )
        )
        for table in (_F, _D):
            out.update(
                session.scalars(
                    sa.select(table.c.enterprise_id).where(
                        table.c.enterprise_id.in_(chunk), table.c.source != source
                    )
                )
            )
        out.update(
            session.scalars(sa.select(sub.c.enterprise_id).where(sub.c.enterprise_id.in_(chunk)))
        )
    return out


# ---- files: the error workbook, the template ------------------------------------------------


def stored_file(batch: ImportBatch, uploads_dir: Path) -> bytes:
    if not batch.stored_name:
        raise not_found("上传的文件", "import.file_not_found")
    path = uploads_dir / batch.stored_name
    if not path.is_file():
        raise not_found("上传的文件", "import.file_not_found")
    return path.read_bytes()


def error_workbook(batch: ImportBatch, uploads_dir: Path, *, limits: Limits | None = None) -> bytes:
    """The user's own file with the bad cells marked, to fix and upload again."""
    original = stored_file(batch, uploads_dir)
    name = batch.filename if batch.filename.lower().endswith(".csv") else "roster.xlsx"
    try:
        return annotate.mark(
            original,
            row_errors(batch),
            filename=name,
            sheet=batch.sheet,
            header_row=batch.header_row,
            warnings=[RowError(**w) for w in batch.warnings],
            limits=limits,
        )
    except ImportFileError as exc:
        raise file_error(exc) from None


def template(session: Session, actor: Actor, *, today: date, district: str | None = None) -> bytes:
    """The roster template; with a district (an officer's always theirs, when asked), prefilled
    with its current enterprises for a round-trip update."""
    district_code = _resolve_district(session, actor, district) if district else None
    vocab = reference_service.vocabulary(session)
    year = today.year - 1
    rows: list[dict[str, Any]] = []
    if district_code is not None:
        codes = [c for _i, c, _n in enterprise_service.active_in_district(session, district_code)]
        current = enterprise_service.snapshot(session, codes, years=[year])
        ranks = {t.code: t.rank for t in reference_service.tiers(session)}
        for code in codes:
            cur = current[code]
            row: dict[str, Any] = {
                "name": cur["name"],
                "credit_code": code,
                "district": cur["district_code"],
                "subsector": cur["subsector_code"],
                "chain_position": cur["chain_position"],
                "main_products": cur["main_products"],
                "established_on": cur["established_on"],
                "address": cur["address"],
                "legal_representative": cur["legal_representative"],
                "contact_person": cur["contact_person"],
                "contact_phone": cur["contact_phone"],
                "key_enterprise": cur["is_key"],
                "notes": cur["notes"],
            }
            valid = [
                d
                for d in cur["designations"]
                if d["status"] == "valid"
                and (d["valid_until"] is None or d["valid_until"] >= today)
            ]
            if valid:
                best = max(valid, key=lambda d: (ranks.get(d["tier_code"], 0), d["designated_on"]))
                row |= {
                    "tier": best["tier_code"],
                    "designation_batch": best["batch"],
                    "designated_on": best["designated_on"],
                    "valid_until": best["valid_until"],
                    "document_number": best["document_no"],
                }
            fig = cur["figures"].get(year)
            if fig:
                row |= {
                    k: fig[k]
                    for k in plan_core.MONEY_FIELDS
                    | {"employees", "rd_staff", "ip_class1", "ip_class2"}
                    if fig.get(k) is not None
                }
            rows.append(row)
    return template_builder.build(vocab, rows=rows, data_year=year)
