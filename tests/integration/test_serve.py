"""`hudur serve` refusing a port it cannot have."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from engine import cli


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
