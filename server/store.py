"""The coordinator's SQLite store: registry, rounds, releases, suppressed cells.

Rules this module enforces (and the round orchestration must respect):

- **Never a per-practice vector.** Only aggregates are stored: released cells
  of at least `min_contributing_practices` practices, and suppressed cells as
  NULL with a reason. No table has a column for one practice's value, and a
  release whose extras are keyed by a registered practice id is refused. The
  coordinator may be curious; what it stores is what a reviewer may read.
- **All or nothing.** Every write runs in one transaction (`BEGIN IMMEDIATE`);
  a release whose cells, suppressions or rounds do not check out leaves
  nothing behind. Group several writes with `with store.atomic():`.
- **Published is published.** Releases are append-only: triggers refuse
  UPDATE and DELETE, so not even a bug here can rewrite history. The
  transparency log is not here: it is `privacy.transparency`'s file.
- **A damaged or full disk is one clear error.** Every SQLite failure other
  than a constraint (a file that is not a database, a malformed page, a full
  disk) becomes a `StoreError` naming the file; the transaction it happened
  in is rolled back, so the store stays as it was. `open` runs SQLite's quick
  integrity check, so a damaged store is refused at start-up, not mid-round.
- **The log's last head, for start-up.** `record_log_head` keeps the size and
  root of every tree head the coordinator signed (not a second chain: just
  what it promised), so a log file cut back or replaced under a stopped
  coordinator is refused when it starts (`server.coordinator`).
- **Schema migrations from day one.** `PRAGMA user_version` is the schema
  version; `MIGRATIONS` are applied in order, each in its own transaction, so
  a crash mid-upgrade leaves the previous version intact. A database newer
  than this code is refused, never downgraded.

Migrations are Python tuples of statements rather than .sql files so they ship
inside the package without package-data rules, and so a trigger body's
semicolons need no SQL splitter. A migration, once shipped, is never edited:
stores in the field ran it as it was.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from common.canonical import canonical_bytes
from common.errors import KlyngeError
from privacy.layout import RoundScope as Scope  # what a round sums; one enum
from server.store_text import say

# -- schema ------------------------------------------------------------------

_APPEND_ONLY = (
    "releases",
    "release_rounds",
    "release_cells",
    "suppressed_cells",
)


def _append_only(table: str) -> tuple[str, str]:
    return (
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    )


MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "registry, rounds, releases, suppressed cells, transparency log",
        (
            """CREATE TABLE practices (
                id TEXT PRIMARY KEY,
                cluster TEXT NOT NULL,
                region TEXT NOT NULL,
                cert_fingerprint TEXT
                    CHECK (cert_fingerprint IS NULL OR length(cert_fingerprint) = 64),
                registered_at TEXT NOT NULL
            ) STRICT""",
            "CREATE INDEX practices_by_cluster ON practices(cluster)",
            """CREATE TABLE rounds (
                id TEXT PRIMARY KEY,
                cluster TEXT NOT NULL,
                region TEXT NOT NULL,
                reference_date TEXT NOT NULL,
                manifest_hash TEXT NOT NULL,
                state TEXT NOT NULL
                    CHECK (state IN ('pending', 'running', 'released', 'aborted')),
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                abort_reason TEXT,
                CHECK ((state = 'aborted') = (abort_reason IS NOT NULL))
            ) STRICT""",
            "CREATE INDEX rounds_by_cluster ON rounds(cluster, reference_date)",
            """CREATE TABLE releases (
                id INTEGER PRIMARY KEY,
                level TEXT NOT NULL CHECK (level IN ('cluster', 'region')),
                unit TEXT NOT NULL,
                reference_date TEXT NOT NULL,
                manifest_hash TEXT NOT NULL,
                created_at TEXT NOT NULL,
                extras TEXT NOT NULL CHECK (json_valid(extras))
            ) STRICT""",
            "CREATE INDEX releases_by_unit ON releases(level, unit, reference_date)",
            """CREATE TABLE release_rounds (
                release_id INTEGER NOT NULL REFERENCES releases(id),
                round_id TEXT NOT NULL REFERENCES rounds(id),
                PRIMARY KEY (release_id, round_id)
            ) STRICT""",
            """CREATE TABLE release_cells (
                release_id INTEGER NOT NULL REFERENCES releases(id),
                indicator_id TEXT NOT NULL,
                stratum TEXT NOT NULL,
                numerator INTEGER,
                denominator INTEGER,
                noise_sd REAL NOT NULL CHECK (noise_sd >= 0),
                contributing_practices INTEGER NOT NULL CHECK (contributing_practices >= 0),
                extras TEXT NOT NULL CHECK (json_valid(extras)),
                PRIMARY KEY (release_id, indicator_id, stratum)
            ) STRICT""",
            """CREATE TABLE suppressed_cells (
                release_id INTEGER NOT NULL,
                indicator_id TEXT NOT NULL,
                stratum TEXT NOT NULL,
                cell TEXT NOT NULL CHECK (cell IN ('numerator', 'denominator', 'rate')),
                reason TEXT NOT NULL CHECK (length(reason) > 0),
                PRIMARY KEY (release_id, indicator_id, stratum, cell),
                FOREIGN KEY (release_id, indicator_id, stratum)
                    REFERENCES release_cells(release_id, indicator_id, stratum)
            ) STRICT""",
            """CREATE TABLE transparency_log (
                seq INTEGER PRIMARY KEY,
                prev_hash TEXT NOT NULL,
                entry_hash TEXT NOT NULL UNIQUE,
                entry TEXT NOT NULL CHECK (json_valid(entry)),
                appended_at TEXT NOT NULL
            ) STRICT""",
            *(
                stmt
                for table in (*_APPEND_ONLY, "transparency_log")
                for stmt in _append_only(table)
            ),
        ),
    ),
    (
        2,
        "drop the transparency_log table: nothing wrote it; the log is privacy.transparency's file",
        (
            "DROP TRIGGER IF EXISTS transparency_log_no_update",
            "DROP TRIGGER IF EXISTS transparency_log_no_delete",
            "DROP TABLE IF EXISTS transparency_log",
        ),
    ),
    (
        3,
        "the transparency log's signed heads, so a cut-back log is refused at start-up",
        (
            """CREATE TABLE log_heads (
                tree_size INTEGER PRIMARY KEY CHECK (tree_size >= 0),
                root TEXT NOT NULL CHECK (length(root) = 64),
                recorded_at TEXT NOT NULL
            ) STRICT""",
            *_append_only("log_heads"),
        ),
    ),
    (
        4,
        "rounds.scope: a cluster round, or a region-wide round (cluster '', region its unit)",
        (
            """ALTER TABLE rounds ADD COLUMN scope TEXT NOT NULL DEFAULT 'cluster'
                CHECK (scope IN ('cluster', 'region'))""",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
_MIN_SQLITE = (3, 37, 0)  # STRICT tables


class StoreError(KlyngeError):
    """A store that cannot be opened, or a write that breaks one of the store's rules."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


def _damaged(path: Path, exc: sqlite3.Error) -> StoreError:
    reason = str(exc)
    if "full" in reason:
        return StoreError(str(path), say("disk_full", detail=reason))
    return StoreError(str(path), say("damaged", detail=reason))


@contextmanager
def _sqlite_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's failures into StoreErrors naming the file; constraint violations pass
    through (the store turns those into its own messages)."""
    try:
        yield
    except sqlite3.IntegrityError:
        raise
    except sqlite3.Error as exc:
        raise _damaged(path, exc) from None


class _Cursor:
    """A cursor whose failures are StoreErrors (see `_sqlite_errors`)."""

    def __init__(self, cursor: sqlite3.Cursor, path: Path) -> None:
        self._cursor = cursor
        self._path = path

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    def fetchone(self) -> Any:
        with _sqlite_errors(self._path):
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with _sqlite_errors(self._path):
            return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class _Connection:
    """sqlite3.Connection whose failures are StoreErrors (see `_sqlite_errors`)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.raw = connection
        self._path = path

    def execute(self, sql: str, args: Sequence[Any] = ()) -> _Cursor:
        with _sqlite_errors(self._path):
            return _Cursor(self.raw.execute(sql, args), self._path)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> _Cursor:
        with _sqlite_errors(self._path):
            return _Cursor(self.raw.executemany(sql, rows), self._path)

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def close(self) -> None:
        self.raw.close()


# -- records -----------------------------------------------------------------


class RoundState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RELEASED = "released"
    ABORTED = "aborted"


_NEXT_STATES: dict[RoundState, frozenset[RoundState]] = {
    RoundState.PENDING: frozenset({RoundState.RUNNING, RoundState.ABORTED}),
    RoundState.RUNNING: frozenset({RoundState.RELEASED, RoundState.ABORTED}),
    RoundState.RELEASED: frozenset(),
    RoundState.ABORTED: frozenset(),
}


class Level(StrEnum):
    CLUSTER = "cluster"
    REGION = "region"


@dataclass(frozen=True)
class Practice:
    id: str
    cluster: str
    region: str
    cert_fingerprint: str | None = None
    registered_at: str = ""


@dataclass(frozen=True)
class Round:
    id: str
    cluster: str  # "" for a region-wide round
    region: str
    reference_date: date
    manifest_hash: str
    state: RoundState
    created_at: str
    updated_at: str
    abort_reason: str | None = None
    scope: Scope = Scope.CLUSTER

    @property
    def unit(self) -> str:
        """The cluster, or the region of a region-wide round."""
        return self.region if self.scope is Scope.REGION else self.cluster


@dataclass(frozen=True)
class ReleasedCell:
    """One indicator × stratum of a release; None means suppressed (and says why elsewhere)."""

    indicator_id: str
    stratum: str
    numerator: int | None
    denominator: int | None
    noise_sd: float
    contributing_practices: int
    extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuppressedCell:
    indicator_id: str
    stratum: str
    cell: str  # "numerator", "denominator" or "rate"
    reason: str


@dataclass(frozen=True)
class Release:
    """What a cluster round (or the sum of a region's cluster rounds) releases."""

    level: Level
    unit: str  # the cluster id or region id
    round_ids: tuple[str, ...]
    reference_date: date
    manifest_hash: str
    cells: tuple[ReleasedCell, ...]
    suppressed: tuple[SuppressedCell, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredRelease:
    id: int
    created_at: str
    release: Release


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _json(value: Mapping[str, Any], where: str) -> str:
    try:
        return canonical_bytes(value).decode("utf-8")
    except ValueError as exc:
        raise StoreError(where, str(exc)) from exc


# -- the store ---------------------------------------------------------------


class Store:
    """One SQLite file; safe to share between threads (one connection behind a lock)."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        *,
        clock: Callable[[], datetime],
        min_contributing_practices: int,
    ) -> None:
        self._conn = _Connection(connection, path)
        self.path = path
        self._clock = clock
        self._min_practices = min_contributing_practices
        self._lock = threading.RLock()
        self._depth = 0

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        clock: Callable[[], datetime] = _utc_now,
        min_contributing_practices: int = 5,
        create: bool = True,
    ) -> Store:
        """Open (creating if needed, unless `create` is False: a command that only reads must
        not leave an empty store behind) and migrate to `SCHEMA_VERSION`."""
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise StoreError(str(path), say("old_sqlite", version=sqlite3.sqlite_version))
        if min_contributing_practices < 1:
            raise StoreError("min_contributing_practices", "must be at least 1")
        path = Path(path)
        if path.exists() and not path.is_file():
            raise StoreError(str(path), say("not_a_file"))
        if not create and not path.exists():
            raise StoreError(str(path), say("missing"))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(str(path), say("unreadable", detail=exc)) from None
        if mode != "wal":
            conn.close()
            raise StoreError(str(path), say("no_wal", mode=mode))
        store = cls(conn, path, clock=clock, min_contributing_practices=min_contributing_practices)
        try:
            store._check_integrity()
            store._migrate()
        except BaseException:
            conn.close()
            raise
        return store

    def _check_integrity(self) -> None:
        try:
            rows = self._conn.execute("PRAGMA quick_check").fetchall()
        except StoreError as exc:
            raise StoreError(str(self.path), say("unreadable_because", reason=exc.reason)) from None
        problems = [str(r[0]) for r in rows if r[0] != "ok"]
        if problems:
            raise StoreError(str(self.path), say("integrity", detail=problems[0][:120]))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # transactions and migrations ------------------------------------------------

    @contextmanager
    def atomic(self) -> Iterator[_Connection]:
        """One transaction around everything inside; nested uses join the outer one."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if outer and self._conn.in_transaction:
                    with suppress(sqlite3.Error):  # SQLite may have rolled back already
                        self._conn.raw.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                try:
                    self._conn.execute("COMMIT")
                except StoreError:
                    if self._conn.in_transaction:
                        with suppress(sqlite3.Error):
                            self._conn.raw.execute("ROLLBACK")
                    raise

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        try:
            current = self.schema_version
        except StoreError as exc:
            raise StoreError(str(self.path), say("not_a_store", reason=exc.reason)) from exc
        if current > SCHEMA_VERSION:
            raise StoreError(
                str(self.path), say("newer_schema", current=current, supported=SCHEMA_VERSION)
            )
        for version, _description, statements in MIGRATIONS:
            if version <= current:
                continue
            try:
                with self.atomic() as conn:
                    # Re-read inside the write lock: another process may have migrated.
                    if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
                        continue
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {int(version)}")
            except (sqlite3.DatabaseError, StoreError) as exc:
                reason = exc.reason if isinstance(exc, StoreError) else exc
                raise StoreError(
                    str(self.path), say("migration", version=version, reason=reason)
                ) from exc

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat(timespec="milliseconds")

    # registry ------------------------------------------------------------------

    def register_practice(self, practice: Practice) -> Practice:
        """Insert or update a practice (cluster, region, pinned certificate fingerprint)."""
        if not practice.id or not practice.cluster or not practice.region:
            raise StoreError("practice", "id, cluster and region must be non-empty")
        stamp = practice.registered_at or self._now()
        with self.atomic() as conn:
            conn.execute(
                """INSERT INTO practices (id, cluster, region, cert_fingerprint, registered_at)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET cluster = excluded.cluster,
                       region = excluded.region, cert_fingerprint = excluded.cert_fingerprint""",
                (practice.id, practice.cluster, practice.region, practice.cert_fingerprint, stamp),
            )
        found = self.practice(practice.id)
        assert found is not None
        return found

    def practice(self, practice_id: str) -> Practice | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id, cluster, region, cert_fingerprint, registered_at FROM practices "
                "WHERE id = ?",
                (practice_id,),
            ).fetchone()
        return Practice(*row) if row else None

    def practices(self, cluster: str | None = None) -> list[Practice]:
        query = "SELECT id, cluster, region, cert_fingerprint, registered_at FROM practices"
        args: tuple[str, ...] = ()
        if cluster is not None:
            query, args = query + " WHERE cluster = ?", (cluster,)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY id", args).fetchall()
        return [Practice(*row) for row in rows]

    # rounds --------------------------------------------------------------------

    def create_round(
        self,
        round_id: str,
        *,
        cluster: str,
        region: str,
        reference_date: date,
        manifest_hash: str,
        scope: Scope = Scope.CLUSTER,
    ) -> Round:
        """A pending round; a region-wide round (`scope` region) has `cluster` ''."""
        scope = Scope(scope)
        if not round_id or not region or not manifest_hash:
            raise StoreError("round", "id, region and manifest hash must be non-empty")
        if bool(cluster) != (scope is Scope.CLUSTER):
            raise StoreError("round", "a cluster round names its cluster; a region-wide round none")
        now = self._now()
        try:
            with self.atomic() as conn:
                conn.execute(
                    """INSERT INTO rounds (id, cluster, region, reference_date, manifest_hash,
                           state, created_at, updated_at, scope)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        round_id,
                        cluster,
                        region,
                        reference_date.isoformat(),
                        manifest_hash,
                        RoundState.PENDING.value,
                        now,
                        now,
                        scope.value,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"round {round_id}", "already exists") from exc
        return self._round_or_fail(round_id)

    def set_round_state(
        self, round_id: str, state: RoundState, *, abort_reason: str | None = None
    ) -> Round:
        """Move a round forward; released and aborted are final."""
        if (state is RoundState.ABORTED) != bool(abort_reason):
            raise StoreError(f"round {round_id}", "an abort needs a reason, and only an abort")
        with self.atomic() as conn:
            current = self._round_or_fail(round_id)
            if state not in _NEXT_STATES[current.state]:
                raise StoreError(f"round {round_id}", f"cannot go from {current.state} to {state}")
            conn.execute(
                "UPDATE rounds SET state = ?, abort_reason = ?, updated_at = ? WHERE id = ?",
                (state.value, abort_reason, self._now(), round_id),
            )
        return self._round_or_fail(round_id)

    def abort_unfinished(self, reason: str) -> list[str]:
        """Abort every pending or running round (a coordinator restart loses their state)."""
        with self.atomic() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM rounds WHERE state IN ('pending', 'running') ORDER BY id"
                )
            ]
            for round_id in ids:
                self.set_round_state(round_id, RoundState.ABORTED, abort_reason=reason)
        return ids

    def round(self, round_id: str) -> Round | None:
        with self._lock:
            row = self._conn.execute(_ROUND_COLUMNS + " WHERE id = ?", (round_id,)).fetchone()
        return _round(row) if row else None

    def rounds(
        self,
        *,
        cluster: str | None = None,
        state: RoundState | None = None,
        scope: Scope | None = None,
        region: str | None = None,
    ) -> list[Round]:
        query = _ROUND_COLUMNS + " WHERE 1 = 1"
        args: list[str] = []
        for column, value in (
            ("cluster", cluster),
            ("state", state),
            ("scope", scope),
            ("region", region),
        ):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(str(value))
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY created_at, id", args).fetchall()
        return [_round(row) for row in rows]

    def _round_or_fail(self, round_id: str) -> Round:
        found = self.round(round_id)
        if found is None:
            raise StoreError(f"round {round_id}", "does not exist")
        return found

    # releases ------------------------------------------------------------------

    def record_release(self, release: Release) -> int:
        """Store a release in one transaction, and mark its round released.

        A cluster release needs its one round `running`, and so does the
        release of a region-wide round (level region, its one round of scope
        region); a regional aggregate needs every round a `released` cluster
        round, in that region, for the same period and manifest.
        """
        where = f"release {release.level}/{release.unit}"
        with self.atomic() as conn:
            self._check_release(release, where)
            rounds = [self._round_or_fail(r) for r in release.round_ids]
            self._check_rounds(release, rounds, where)
            release_id = conn.execute(
                """INSERT INTO releases (level, unit, reference_date, manifest_hash, created_at,
                       extras) VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    Level(release.level).value,
                    release.unit,
                    release.reference_date.isoformat(),
                    release.manifest_hash,
                    self._now(),
                    _json(release.extras, f"{where}: extras"),
                ),
            ).lastrowid
            assert release_id is not None
            conn.executemany(
                "INSERT INTO release_rounds (release_id, round_id) VALUES (?, ?)",
                [(release_id, r) for r in release.round_ids],
            )
            try:
                conn.executemany(
                    """INSERT INTO release_cells (release_id, indicator_id, stratum, numerator,
                           denominator, noise_sd, contributing_practices, extras)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                    [
                        (
                            release_id,
                            c.indicator_id,
                            c.stratum,
                            c.numerator,
                            c.denominator,
                            float(c.noise_sd),
                            c.contributing_practices,
                            _json(c.extras, f"{where}: {c.indicator_id}/{c.stratum}: extras"),
                        )
                        for c in release.cells
                    ],
                )
                conn.executemany(
                    """INSERT INTO suppressed_cells (release_id, indicator_id, stratum, cell,
                           reason) VALUES (?, ?, ?, ?, ?)""",
                    [
                        (release_id, s.indicator_id, s.stratum, s.cell, s.reason)
                        for s in release.suppressed
                    ],
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(where, f"rejected by the schema: {exc}") from exc
            if release.level == Level.CLUSTER or _region_wide(rounds):
                self.set_round_state(release.round_ids[0], RoundState.RELEASED)
        return int(release_id)

    def _check_release(self, release: Release, where: str) -> None:
        try:
            Level(release.level)
        except ValueError as exc:
            raise StoreError(
                where, f"level must be cluster or region, not {release.level}"
            ) from exc
        if not release.cells:
            raise StoreError(where, "has no cells")
        if release.level == Level.CLUSTER and len(release.round_ids) != 1:
            raise StoreError(where, "a cluster release comes from exactly one round")
        if not release.round_ids or len(set(release.round_ids)) != len(release.round_ids):
            raise StoreError(where, "needs distinct round ids")
        registered = {p.id for p in self.practices()}
        _refuse_practice_keys(release.extras, registered, f"{where}: extras")
        suppressed = {(s.indicator_id, s.stratum, s.cell) for s in release.suppressed}
        cells = {}
        for cell in release.cells:
            at = f"{where}: {cell.indicator_id}/{cell.stratum}"
            if (cell.indicator_id, cell.stratum) in cells:
                raise StoreError(at, "appears twice")
            cells[cell.indicator_id, cell.stratum] = cell
            _refuse_practice_keys(cell.extras, registered, f"{at}: extras")
            for name in ("numerator", "denominator"):
                value = getattr(cell, name)
                is_suppressed = (cell.indicator_id, cell.stratum, name) in suppressed
                if value is None and not is_suppressed:
                    raise StoreError(at, f"{name} is missing but not listed as suppressed")
                if value is not None and is_suppressed:
                    raise StoreError(at, f"{name} is listed as suppressed but has a value")
                if value is not None and not isinstance(value, int):
                    raise StoreError(at, f"{name} must be an integer")
            released = cell.numerator is not None or cell.denominator is not None
            if released and cell.contributing_practices < self._min_practices:
                raise StoreError(
                    at,
                    f"{cell.contributing_practices} contributing practices; a released value "
                    f"needs at least {self._min_practices}",
                )
        for s in release.suppressed:
            if (s.indicator_id, s.stratum) not in cells:
                raise StoreError(where, f"suppressed cell {s.indicator_id}/{s.stratum} not in it")
            if s.cell not in ("numerator", "denominator", "rate") or not s.reason:
                raise StoreError(where, f"suppressed cell {s.indicator_id}/{s.stratum}: bad entry")

    def _check_rounds(self, release: Release, rounds: Sequence[Round], where: str) -> None:
        region_wide = _region_wide(rounds)
        if region_wide and (release.level != Level.REGION or len(rounds) != 1):
            raise StoreError(where, "a region-wide round is released alone, at region level")
        for r in rounds:
            if (
                r.reference_date != release.reference_date
                or r.manifest_hash != release.manifest_hash
            ):
                raise StoreError(where, f"round {r.id} is of another period or manifest")
            if release.level == Level.CLUSTER:
                if r.cluster != release.unit:
                    raise StoreError(where, f"round {r.id} is of cluster {r.cluster}")
                if r.state is not RoundState.RUNNING:
                    raise StoreError(where, f"round {r.id} is {r.state}, not running")
            else:
                if r.region != release.unit:
                    raise StoreError(where, f"round {r.id} is of region {r.region}")
                wanted = RoundState.RUNNING if region_wide else RoundState.RELEASED
                if r.state is not wanted:
                    raise StoreError(where, f"round {r.id} is {r.state}, not {wanted}")

    def release(self, release_id: int) -> StoredRelease | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT id, level, unit, reference_date, manifest_hash, created_at, extras "
                "FROM releases WHERE id = ?",
                (release_id,),
            ).fetchone()
            if row is None:
                return None
            rid, level, unit, ref, manifest, created, extras = row
            round_ids = tuple(
                r[0]
                for r in self._conn.execute(
                    "SELECT round_id FROM release_rounds WHERE release_id = ? ORDER BY round_id",
                    (rid,),
                )
            )
            cells = tuple(
                ReleasedCell(ind, stratum, num, den, sd, n, json.loads(ex))
                for ind, stratum, num, den, sd, n, ex in self._conn.execute(
                    "SELECT indicator_id, stratum, numerator, denominator, noise_sd, "
                    "contributing_practices, extras FROM release_cells WHERE release_id = ? "
                    "ORDER BY indicator_id, stratum",
                    (rid,),
                )
            )
            suppressed = tuple(
                SuppressedCell(*s)
                for s in self._conn.execute(
                    "SELECT indicator_id, stratum, cell, reason FROM suppressed_cells "
                    "WHERE release_id = ? ORDER BY indicator_id, stratum, cell",
                    (rid,),
                )
            )
        return StoredRelease(
            id=rid,
            created_at=created,
            release=Release(
                level=Level(level),
                unit=unit,
                round_ids=round_ids,
                reference_date=date.fromisoformat(ref),
                manifest_hash=manifest,
                cells=cells,
                suppressed=suppressed,
                extras=json.loads(extras),
            ),
        )

    def releases(
        self, *, level: Level | None = None, unit: str | None = None, round_id: str | None = None
    ) -> list[StoredRelease]:
        query = "SELECT DISTINCT r.id FROM releases r LEFT JOIN release_rounds rr "
        query += "ON rr.release_id = r.id WHERE 1 = 1"
        args: list[str] = []
        for column, value in (("r.level", level), ("r.unit", unit), ("rr.round_id", round_id)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(str(value))
        with self._lock:
            ids = [row[0] for row in self._conn.execute(query + " ORDER BY r.id", args)]
        return [found for i in ids if (found := self.release(i)) is not None]

    # transparency log heads ------------------------------------------------------

    def record_log_head(self, tree_size: int, root: str) -> None:
        """Remember a tree head the coordinator signed (a head already recorded is kept)."""
        with self.atomic() as conn:
            conn.execute(
                "INSERT INTO log_heads (tree_size, root, recorded_at) VALUES (?, ?, ?) "
                "ON CONFLICT(tree_size) DO NOTHING",
                (tree_size, root, self._now()),
            )

    def last_log_head(self) -> tuple[int, str] | None:
        """(size, root) of the largest tree head recorded, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT tree_size, root FROM log_heads ORDER BY tree_size DESC LIMIT 1"
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def latest_release(self, level: Level, unit: str) -> StoredRelease | None:
        """The newest release for a cluster or region: what `Fetch` serves by default."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id FROM releases WHERE level = ? AND unit = ? "
                "ORDER BY reference_date DESC, id DESC LIMIT 1",
                (Level(level).value, unit),
            ).fetchone()
        return self.release(row[0]) if row else None


_ROUND_COLUMNS = (
    "SELECT id, cluster, region, reference_date, manifest_hash, state, created_at, "
    "updated_at, abort_reason, scope FROM rounds"
)


def _round(row: tuple[Any, ...]) -> Round:
    rid, cluster, region, ref, manifest, state, created, updated, reason, scope = row
    return Round(
        rid,
        cluster,
        region,
        date.fromisoformat(ref),
        manifest,
        RoundState(state),
        created,
        updated,
        reason,
        Scope(scope),
    )


def _region_wide(rounds: Sequence[Round]) -> bool:
    """True for a region-wide round's release; mixing the two kinds in one release is refused."""
    kinds = {r.scope for r in rounds}
    if len(kinds) > 1:
        raise StoreError("release", "mixes cluster rounds and a region-wide round")
    return kinds == {Scope.REGION}


def _refuse_practice_keys(value: Any, practice_ids: set[str], where: str) -> None:
    """Refuse any mapping keyed by a registered practice id: a per-practice breakdown."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in practice_ids:
                raise StoreError(
                    where, f"keyed by practice {key!r}; per-practice data is never stored"
                )
            _refuse_practice_keys(item, practice_ids, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _refuse_practice_keys(item, practice_ids, f"{where}[{i}]")
