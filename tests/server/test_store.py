"""The coordinator's SQLite store: migrations, transactions, append-only history, privacy rules."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from server.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Level,
    Practice,
    Release,
    ReleasedCell,
    RoundState,
    Scope,
    Store,
    StoreError,
    SuppressedCell,
)
from tests.langs import in_english

REF = date(2025, 12, 31)
MANIFEST = "ab" * 32


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "coordinator.db", clock=FakeClock()) as s:
        for i in range(6):
            s.register_practice(Practice(f"p{i}", cluster="c1", region="r1"))
        yield s


def cell(indicator="dm-hba1c", stratum="all", num=12, den=40, n=6) -> ReleasedCell:
    return ReleasedCell(indicator, stratum, num, den, noise_sd=1.5, contributing_practices=n)


def running_round(store: Store, round_id: str, cluster: str = "c1") -> None:
    store.create_round(
        round_id, cluster=cluster, region="r1", reference_date=REF, manifest_hash=MANIFEST
    )
    store.set_round_state(round_id, RoundState.RUNNING)


def cluster_release(round_id: str, cells, suppressed=(), cluster="c1", **extras) -> Release:
    return Release(
        level=Level.CLUSTER,
        unit=cluster,
        round_ids=(round_id,),
        reference_date=REF,
        manifest_hash=MANIFEST,
        cells=tuple(cells),
        suppressed=tuple(suppressed),
        extras=extras,
    )


def table_counts(store: Store) -> dict[str, int]:
    conn = sqlite3.connect(store.path)
    try:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "releases",
                "release_rounds",
                "release_cells",
                "suppressed_cells",
            )
        }
    finally:
        conn.close()


def test_migrates_from_empty_and_reopens_idempotently(tmp_path):
    path = tmp_path / "sub" / "c.db"
    with Store.open(path) as first:
        assert first.schema_version == SCHEMA_VERSION == MIGRATIONS[-1][0]
        first.register_practice(Practice("p1", "c1", "r1", "f" * 64))
    with Store.open(path) as again:
        assert again.schema_version == SCHEMA_VERSION
        assert again.practice("p1").cert_fingerprint == "f" * 64
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_refuses_newer_schema_and_non_database_files(tmp_path, monkeypatch):
    in_english(monkeypatch)
    path = tmp_path / "c.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this klynge"):
        Store.open(path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"junk\.db"):
        Store.open(junk)


def _version_1_store(path) -> None:
    """A store as version 1 of the schema left it: a released cluster round and a log row."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        for statement in MIGRATIONS[0][2]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO rounds VALUES ('R1', 'c1', 'r1', ?, ?, 'released', 'then', 'then', NULL)",
            (REF.isoformat(), MANIFEST),
        )
        conn.execute(
            "INSERT INTO releases VALUES (1, 'cluster', 'c1', ?, ?, 'then', '{}')",
            (REF.isoformat(), MANIFEST),
        )
        conn.execute("INSERT INTO release_rounds VALUES (1, 'R1')")
        conn.execute(
            "INSERT INTO release_cells VALUES (1, 'dm-hba1c', 'all', 12, 40, 1.5, 5, '{}')"
        )
        conn.execute(
            "INSERT INTO transparency_log VALUES (1, ?, ?, '{}', 'then')", ("0" * 64, "a" * 64)
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_a_version_1_store_loses_its_unused_transparency_log_and_keeps_its_releases(tmp_path):
    path = tmp_path / "c.db"
    _version_1_store(path)
    with Store.open(path) as new:
        assert new.schema_version == SCHEMA_VERSION == 4
        assert new.latest_release(Level.CLUSTER, "c1").release.cells == (cell(n=5),)
        [old_round] = new.rounds()
        assert old_round.scope is Scope.CLUSTER and old_round.unit == "c1"  # migration 3
        tables = {r[0] for r in new._conn.execute("SELECT name FROM sqlite_schema")}
    assert not {t for t in tables if t.startswith("transparency_log")}
    assert {"releases_no_update", "suppressed_cells_no_delete"} <= tables


def test_failed_migration_leaves_previous_version(tmp_path, monkeypatch):
    in_english(monkeypatch)
    import server.store as module

    broken = (*MIGRATIONS, (SCHEMA_VERSION + 1, "broken", ("CREATE TABLE x (a)", "NOT SQL")))
    Store.open(tmp_path / "c.db").close()
    monkeypatch.setattr(module, "MIGRATIONS", broken)
    monkeypatch.setattr(module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match=f"migration {SCHEMA_VERSION + 1} failed"):
        Store.open(tmp_path / "c.db")
    monkeypatch.undo()
    with Store.open(tmp_path / "c.db") as s:
        assert s.schema_version == SCHEMA_VERSION
        with pytest.raises(StoreError, match="no such table: x"):
            s._conn.execute("SELECT * FROM x")


def test_foreign_keys_are_enforced(store):
    with pytest.raises(sqlite3.IntegrityError), store.atomic() as conn:
        conn.execute("INSERT INTO release_rounds (release_id, round_id) VALUES (99, 'nope')")


def test_round_lifecycle_and_final_states(store):
    running_round(store, "R1")
    with pytest.raises(StoreError, match="already exists"):
        store.create_round("R1", cluster="c1", region="r1", reference_date=REF, manifest_hash="x")
    with pytest.raises(StoreError, match="needs a reason"):
        store.set_round_state("R1", RoundState.ABORTED)
    aborted = store.set_round_state("R1", RoundState.ABORTED, abort_reason="below minimum")
    assert aborted.state is RoundState.ABORTED and aborted.abort_reason == "below minimum"
    with pytest.raises(StoreError, match="cannot go from aborted"):
        store.set_round_state("R1", RoundState.RUNNING)


def test_restart_aborts_unfinished_rounds(store):
    running_round(store, "R1")
    store.create_round("R2", cluster="c1", region="r1", reference_date=REF, manifest_hash=MANIFEST)
    running_round(store, "R3")
    store.record_release(cluster_release("R3", [cell()]))
    assert store.abort_unfinished("coordinator restarted") == ["R1", "R2"]
    assert store.round("R3").state is RoundState.RELEASED
    assert {r.id for r in store.rounds(state=RoundState.ABORTED)} == {"R1", "R2"}


def test_release_round_trip_with_suppression(store):
    running_round(store, "R1")
    cells = [cell(), cell("copd-spiro", "age65+", num=None, den=8, n=6)]
    suppressed = [SuppressedCell("copd-spiro", "age65+", "numerator", "count below 5")]
    release_id = store.record_release(cluster_release("R1", cells, suppressed, rounding=5))
    stored = store.release(release_id)
    assert stored.release.cells == tuple(sorted(cells, key=lambda c: c.indicator_id))
    assert stored.release.suppressed == tuple(suppressed)
    assert stored.release.extras == {"rounding": 5}
    assert store.round("R1").state is RoundState.RELEASED
    assert store.latest_release(Level.CLUSTER, "c1").id == release_id


def test_failed_release_write_leaves_nothing_behind(store):
    running_round(store, "R1")
    before = table_counts(store)
    # Make the *database* fail late: a negative noise sd violates a CHECK after
    # the release row, its round links and the first cell were inserted.
    bad = cluster_release("R1", [cell(), ReleasedCell("x", "y", 1, 2, -1.0, 6)])
    with pytest.raises(StoreError, match="rejected by the schema"):
        store.record_release(bad)
    assert table_counts(store) == before
    assert store.round("R1").state is RoundState.RUNNING  # not marked released
    # and the round can still be released properly afterwards
    store.record_release(cluster_release("R1", [cell()]))


def test_atomic_groups_writes_and_rolls_back_together(store):
    running_round(store, "R1")
    before = table_counts(store)
    with pytest.raises(RuntimeError), store.atomic():
        store.record_release(cluster_release("R1", [cell()]))
        store.register_practice(Practice("p9", cluster="c1", region="r1"))
        raise RuntimeError("crash before commit")
    assert table_counts(store) == before
    assert store.round("R1").state is RoundState.RUNNING
    assert store.practice("p9") is None


@pytest.mark.parametrize(
    ("cells", "suppressed", "message"),
    [
        ([cell(num=None)], [], "numerator is missing but not listed"),
        ([cell()], [SuppressedCell("dm-hba1c", "all", "numerator", "small")], "has a value"),
        ([cell(n=4)], [], "needs at least 5"),
        ([cell(), cell()], [], "appears twice"),
        ([cell()], [SuppressedCell("other", "all", "rate", "small")], "not in it"),
        ([], [], "has no cells"),
    ],
    ids=["null-unexplained", "suppressed-with-value", "too-few", "duplicate", "stray", "empty"],
)
def test_release_rules(store, cells, suppressed, message):
    running_round(store, "R1")
    with pytest.raises(StoreError, match=message):
        store.record_release(cluster_release("R1", cells, suppressed))
    assert table_counts(store)["releases"] == 0


def test_suppressed_cell_with_too_few_practices_is_allowed(store):
    running_round(store, "R1")
    both = [
        SuppressedCell("dm-hba1c", "all", "numerator", "fewer than 5 practices"),
        SuppressedCell("dm-hba1c", "all", "denominator", "fewer than 5 practices"),
    ]
    few = cell(num=None, den=None, n=2)
    # the same cell with its counts is refused: fewer than 5 practices may not be shown
    with pytest.raises(StoreError, match="needs at least 5"):
        store.record_release(cluster_release("R1", [cell(n=2)]))
    release_id = store.record_release(cluster_release("R1", [few], both))
    stored = store.release(release_id)
    assert stored is not None
    assert stored.release.cells == (few,)
    assert set(stored.release.suppressed) == set(both)
    assert store.round("R1").state is RoundState.RELEASED


def test_per_practice_breakdown_is_refused(store):
    running_round(store, "R1")
    with pytest.raises(StoreError, match="per-practice data is never stored"):
        store.record_release(cluster_release("R1", [cell()], breakdown={"p3": 7}))
    nested = ReleasedCell("dm", "all", 1, 9, 1.0, 6, extras={"detail": [{"p0": 1}]})
    with pytest.raises(StoreError, match=r"extras\.detail\[0\]"):
        store.record_release(cluster_release("R1", [nested]))


def test_cluster_release_checks_its_round(store):
    running_round(store, "R1")
    with pytest.raises(StoreError, match="of cluster c1"):
        store.record_release(cluster_release("R1", [cell()], cluster="c2"))
    with pytest.raises(StoreError, match="does not exist"):
        store.record_release(cluster_release("R404", [cell()]))
    store.record_release(cluster_release("R1", [cell()]))
    with pytest.raises(StoreError, match="is released, not running"):
        store.record_release(cluster_release("R1", [cell()]))


def test_region_release_sums_released_cluster_rounds(store):
    running_round(store, "R1", cluster="c1")
    running_round(store, "R2", cluster="c2")
    store.record_release(cluster_release("R1", [cell()]))
    region = Release(Level.REGION, "r1", ("R1", "R2"), REF, MANIFEST, (cell(n=12),))
    with pytest.raises(StoreError, match="R2 is running, not released"):
        store.record_release(region)
    store.record_release(cluster_release("R2", [cell()], cluster="c2"))
    region_id = store.record_release(region)
    assert store.release(region_id).release.round_ids == ("R1", "R2")
    assert [r.id for r in store.releases(round_id="R2")] == [2, region_id]
    assert store.latest_release(Level.REGION, "r1").id == region_id


def test_history_is_append_only(store):
    running_round(store, "R1")
    store.record_release(cluster_release("R1", [cell()]))
    for statement in (
        "UPDATE release_cells SET numerator = 0",
        "DELETE FROM releases",
        "UPDATE release_rounds SET round_id = 'R9'",
        "DELETE FROM release_cells",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.atomic() as conn:
            conn.execute(statement)


def region_round(store: Store, round_id: str, region: str = "r1") -> None:
    store.create_round(
        round_id,
        cluster="",
        region=region,
        reference_date=REF,
        manifest_hash=MANIFEST,
        scope=Scope.REGION,
    )
    store.set_round_state(round_id, RoundState.RUNNING)


def region_release(round_ids, cells, region="r1", **extras) -> Release:
    return Release(
        level=Level.REGION,
        unit=region,
        round_ids=tuple(round_ids),
        reference_date=REF,
        manifest_hash=MANIFEST,
        cells=tuple(cells),
        extras=extras,
    )


def test_a_region_wide_round_is_released_alone_at_region_level(store):
    region_round(store, "W1")
    [found] = store.rounds(scope=Scope.REGION)
    assert found.cluster == "" and found.unit == "r1"
    release_id = store.record_release(region_release(["W1"], [cell()], scope="region"))
    assert store.round("W1").state is RoundState.RELEASED
    assert store.releases(level=Level.REGION, unit="r1", round_id="W1")[0].id == release_id
    # a region-wide round names no cluster, a cluster round always does
    with pytest.raises(StoreError, match="names its cluster"):
        store.create_round(
            "W2",
            cluster="c1",
            region="r1",
            reference_date=REF,
            manifest_hash=MANIFEST,
            scope=Scope.REGION,
        )
    with pytest.raises(StoreError, match="names its cluster"):
        store.create_round(
            "C9", cluster="", region="r1", reference_date=REF, manifest_hash=MANIFEST
        )


def test_a_region_wide_round_is_never_folded_into_a_regional_aggregate(store):
    running_round(store, "R1")
    store.record_release(cluster_release("R1", [cell()]))
    region_round(store, "W1")
    before = table_counts(store)
    with pytest.raises(StoreError, match="mixes cluster rounds and a region-wide round"):
        store.record_release(region_release(["R1", "W1"], [cell()]))
    with pytest.raises(StoreError, match="released alone, at region level"):
        store.record_release(cluster_release("W1", [cell()]))
    assert table_counts(store) == before
    assert store.round("W1").state is RoundState.RUNNING
