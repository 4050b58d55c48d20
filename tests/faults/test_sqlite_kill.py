"""SIGKILL of the interaction log's writer on SQLite: no committed batch lost, the file opens.

The harness and its reasoning are in ``sqlite_kill.py``; ``bench/kill_cycles.py --cycles 1000``
runs the long version and writes bench/results/faults.md.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_kill import BATCH_SIZE, check_database, create_database, run_cycles

pytestmark = pytest.mark.timeout(600)


def assert_nothing_lost(run, cycles: int) -> None:
    assert run.cycles == cycles
    assert run.bad_opens == []  # every reopen: integrity_check ok, still in WAL mode
    assert run.lost == set()  # every batch reported after its commit is in the file
    assert run.partial == set()  # and every batch in the file is whole
    # The kills did land while batches were being committed, not only before the first one.
    assert run.reported > 0 and run.killed_before_first_commit < cycles


def test_the_server_pragmas_are_in_force_on_the_log_file(tmp_path):
    # What the writer child opens through storage.database.Database: WAL, synchronous NORMAL
    # (1), as docs and the report say. WAL mode is stored in the file itself.
    path = tmp_path / "log.sqlite3"
    create_database(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    check = check_database(path, set())
    assert (check.integrity, check.found, check.lost, check.partial) == ("ok", 0, [], [])
    assert BATCH_SIZE > 1  # a partial batch would be visible


def test_a_few_sigkills_of_the_log_writer_lose_no_committed_batch(tmp_path):
    run = run_cycles(tmp_path, cycles=6, seed=1, per_file=3)
    assert_nothing_lost(run, 6)


@pytest.mark.slow
def test_two_hundred_sigkills_of_the_log_writer_lose_no_committed_batch(tmp_path):
    run = run_cycles(tmp_path, cycles=200, seed=20)
    assert_nothing_lost(run, 200)
    assert run.unreported_commits >= 0  # committed but not yet reported: found, never lost


@pytest.mark.slow
def test_the_harness_sees_a_batch_reported_before_its_commit_as_lost(tmp_path):
    # The check is not vacuous: a writer that reports each batch *before* committing it is
    # caught losing "committed" batches when the kill lands inside a commit.
    run = run_cycles(tmp_path, cycles=30, seed=5, early=True)
    assert run.lost and run.bad_opens == [] and run.partial == set()
