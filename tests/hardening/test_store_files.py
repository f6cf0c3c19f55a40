"""The store's files: private to their user, never created or changed by a read, and followed when replaced.

Read commands run as a user runs them: ``otel-worklog`` as a subprocess. A read-only directory or
file means nothing to root, so when the suite runs as root the reading command runs without the
capabilities that bypass file permissions (``setpriv``), as any other user would.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog._internal.query.readers import StoreReader
from tests.cli.scenario import REPO, fill_store, run_cli

pytestmark = pytest.mark.timeout(120)

#: The capabilities that let root ignore file permissions.
_PERMISSION_BYPASS = "-dac_override,-dac_read_search,-fowner"


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which files are world-readable unless created otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_a_new_store_is_private_to_its_user(tmp_path: Path) -> None:
    path = tmp_path / "data" / "otel-worklog" / "worklog.db"
    wl.configure(store=str(path))
    with wl.workspace("#w"), wl.bot("b"):
        wl.info("tool arguments live here")
    assert wl.force_flush()
    wal, shm = path.with_name("worklog.db-wal"), path.with_name("worklog.db-shm")
    assert wal.exists() and shm.exists()  # the store is open: its WAL files exist
    assert {p.name: oct(mode(p)) for p in (path, wal, shm)} == {p.name: "0o600" for p in (path, wal, shm)}
    assert oct(mode(path.parent)) == "0o700"
    assert oct(mode(tmp_path / "data")) == "0o755"  # directories above are made as usual


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file in ``directory``: its content hash and modification time."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir())
    }


def another_apps_database(path: Path, *, wal: bool) -> None:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.commit()
    conn.close()


READ_COMMANDS = [("logs",), ("explain",), ("how", "rate limit"), ("escalations",), ("export",), ("insights",)]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=[a[0] for a in READ_COMMANDS])
@pytest.mark.parametrize("journal", ["rollback", "wal"])
def test_a_read_command_never_changes_another_apps_database(
    tmp_path: Path, args: tuple[str, ...], journal: str
) -> None:
    other = tmp_path / "other.db"
    another_apps_database(other, wal=journal == "wal")
    before = snapshot(tmp_path)
    done = run_cli(*args, store=other)
    assert done.returncode == 1, done
    assert done.stderr.count("\n") == 1 and "not a work-log store" in done.stderr, done.stderr
    assert snapshot(tmp_path) == before  # no new table, no WAL switch, no new file


@pytest.mark.parametrize("content", [b"", b"name,total\nA,12.5\n" * 20], ids=["empty file", "csv file"])
def test_a_file_that_is_not_a_store_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    other = tmp_path / "other.db"
    other.write_bytes(content)
    before = snapshot(tmp_path)
    done = run_cli("logs", store=other)
    assert done.returncode == 1 and "not a work-log store" in done.stderr, done
    assert snapshot(tmp_path) == before


def test_the_app_never_writes_into_another_apps_database(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    other = tmp_path / "other.db"
    another_apps_database(other, wal=False)
    before = snapshot(tmp_path)
    wl.configure(store=str(other))
    with caplog.at_level(logging.WARNING, logger="otel_worklog"), wl.workspace("#w"):
        pass
    wl.shutdown()
    assert "not a work-log store" in caplog.text
    assert snapshot(tmp_path) == before
    (stats,) = wl.export_stats()
    assert (stats.exported, stats.failed) == (0, 1), stats


def as_a_user(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    """``otel-worklog ARGS --store STORE``, subject to file permissions even when the suite runs as root."""
    if os.geteuid() != 0:
        return run_cli(*args, store=store)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be made to apply")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["COLUMNS"] = "200"
    command = [setpriv, f"--bounding-set={_PERMISSION_BYPASS}", sys.executable]
    command += ["-m", "otel_worklog._internal.cli", *args, "--store", str(store)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("filled") / "worklog.db"
    fill_store(path)
    wl.shutdown()
    return path


def test_a_read_only_copy_of_a_store_is_read(filled: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(filled, copy)
    copy.chmod(0o444)
    done = as_a_user("logs", store=copy)
    assert done.returncode == 0, done.stderr
    assert "#general" in done.stdout and "#project-x" in done.stdout
    assert copy.read_bytes() == filled.read_bytes()


def test_a_store_in_a_read_only_directory_is_read(filled: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(filled, media / "worklog.db")
    media.chmod(0o555)
    try:
        done = as_a_user("logs", store=media / "worklog.db")
        listed = sorted(p.name for p in media.iterdir())
    finally:
        media.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert "#general" in done.stdout and "#project-x" in done.stdout
    assert listed == ["worklog.db"]


def sessions_at(path: Path) -> list[str]:
    with StoreReader(path) as reader:
        return sorted(s.workspace_id or "" for s in reader.sessions(limit=100))


@pytest.mark.parametrize("how", ["deleted", "deleted with its WAL files"])
def test_a_store_deleted_under_the_app_is_started_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    path = tmp_path / "worklog.db"
    wl.configure(store=str(path))
    with wl.workspace("#first"):
        pass
    assert wl.force_flush()
    path.unlink()
    if how != "deleted":
        for suffix in ("-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    with caplog.at_level(logging.WARNING, logger="otel_worklog"), wl.workspace("#second"):
        pass
    assert wl.force_flush()
    assert "was deleted or replaced" in caplog.text
    assert sessions_at(path) == ["#second"]
    assert oct(mode(path)) == "0o600"


def test_a_store_replaced_under_the_app_is_followed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path, other = tmp_path / "worklog.db", tmp_path / "restored.db"
    wl.configure(store=str(other))
    with wl.workspace("#restored"):
        pass
    wl.shutdown()
    wl.configure(store=str(path))
    with wl.workspace("#first"):
        pass
    assert wl.force_flush()
    os.replace(other, path)  # a backup restored over the store while the app runs
    with caplog.at_level(logging.WARNING, logger="otel_worklog"), wl.workspace("#second"):
        pass
    assert wl.force_flush()
    assert "was deleted or replaced" in caplog.text
    assert sessions_at(path) == ["#restored", "#second"]
