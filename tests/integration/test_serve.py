"""`hudur serve` refusing a port it cannot have, and migrating before it serves."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from engine import cli
from engine.settings import Settings
from store.database import alembic_config


class TestServeOnABusyPort:
    def test_a_busy_port_is_one_line_and_a_non_zero_exit_before_anything_runs(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Another process listens on the port: one line naming it, exit 1, and no
        migration, no `serving` line, no sweep."""
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("HUDUR_HOST", "127.0.0.1")
        monkeypatch.setenv("HUDUR_PORT", str(port))
        monkeypatch.setenv("HUDUR_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/hudur.db")
        monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)
        try:
            assert 1 == cli.main(["serve"])
        finally:
            busy.close()
        out, err = capsys.readouterr()
        assert [f"hudur: cannot listen on 127.0.0.1:{port}: Address already in use"] == (
            err.splitlines()
        )
        assert "serving" not in out
        assert not (tmp_path / "hudur.db").exists()


class TestServeMigratesFirst:
    def test_a_database_that_cannot_be_migrated_stops_it_before_it_serves(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The migration runs in a process of its own (engine/migrate_child.py): when
        it fails (here the database's path is a directory), `serve` exits with its
        code and never logs `serving`."""
        (tmp_path / "hudur.db").mkdir()
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("HUDUR_HOST", "127.0.0.1")
        monkeypatch.setenv("HUDUR_PORT", "0")
        monkeypatch.setenv("HUDUR_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/hudur.db")
        monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)
        assert 0 != cli.main(["serve"])
        out, _ = capsys.readouterr()
        assert "serving" not in out

    def test_the_migration_brings_a_new_database_to_the_newest_revision(
        self, tmp_path: Path
    ) -> None:
        """What `serve` runs before serving: a new file, migrated to Alembic's head."""
        url = f"sqlite+aiosqlite:///{tmp_path}/hudur.db"
        settings = Settings(database_url=url)
        assert 0 == cli.migrate_in_child(settings)
        heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
        with sqlite3.connect(tmp_path / "hudur.db") as connection:
            assert heads == [row[0] for row in connection.execute("SELECT * FROM alembic_version")]
