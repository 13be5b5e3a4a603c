"""`make run`'s `.env` (engine/dotenv.py): fresh secrets, or the missing ones added."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from engine.dotenv import NEEDED, keys_in, main, write_env
from engine.settings import Settings


class TestWriteEnv:
    def test_a_missing_file_is_written_with_every_needed_setting(self, tmp_path: Path) -> None:
        """No `.env`: one with every needed setting, readable by its owner only."""
        path = tmp_path / ".env"
        assert list(NEEDED) == write_env(path)
        assert set(NEEDED) == keys_in(path.read_text())
        assert 0o600 == stat.S_IMODE(path.stat().st_mode)

    def test_a_file_with_only_a_port_gets_the_secrets_and_keeps_its_port(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`.env` holding only HUDUR_PORT: the secrets are added, the port stays, and
        the settings then read both (what simulate needs: a service token)."""
        path = tmp_path / ".env"
        path.write_text("HUDUR_PORT=9123")
        assert list(NEEDED) == write_env(path)
        assert path.read_text().startswith("HUDUR_PORT=9123\n")
        monkeypatch.chdir(tmp_path)
        for name in (*NEEDED, "HUDUR_PORT"):
            monkeypatch.delenv(name, raising=False)
        settings = Settings()
        assert (9123, True) == (settings.port, settings.allow_as_of)
        assert settings.service_token and settings.jwt_secret

    def test_settings_already_there_are_kept_as_they_are(self, tmp_path: Path) -> None:
        """A token and `HUDUR_ALLOW_AS_OF=false` of the operator's own are not replaced;
        only what is missing is added, and a complete file is left untouched."""
        path = tmp_path / ".env"
        path.write_text("# mine\nexport HUDUR_SERVICE_TOKEN=mine\nHUDUR_ALLOW_AS_OF=false\n")
        added = write_env(path)
        assert [n for n in NEEDED if n not in ("HUDUR_SERVICE_TOKEN", "HUDUR_ALLOW_AS_OF")] == added
        text = path.read_text()
        assert text.startswith("# mine\nexport HUDUR_SERVICE_TOKEN=mine\nHUDUR_ALLOW_AS_OF=false\n")
        assert 1 == text.count("HUDUR_SERVICE_TOKEN") == text.count("HUDUR_ALLOW_AS_OF")
        assert [] == write_env(path)
        assert text == path.read_text()

    def test_the_command_says_what_it_added(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`python -m engine.dotenv .env` names the settings it added to a file."""
        path = tmp_path / ".env"
        path.write_text("HUDUR_PORT=9123\n")
        monkeypatch.setattr("sys.argv", ["dotenv", str(path)])
        main()
        assert f"hudur: added {', '.join(NEEDED)} to {path}\n" == capsys.readouterr().out


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
class TestMakeRun:
    def test_make_run_fills_in_an_existing_env_file(self, tmp_path: Path) -> None:
        """`.env` already there (holding only HUDUR_PORT): `make run` still runs the
        dotenv step, which adds what it lacks, before migrating."""
        root = Path(__file__).resolve().parents[2]
        shutil.copy(root / "Makefile", tmp_path / "Makefile")
        shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
        (tmp_path / ".env").write_text("HUDUR_PORT=9123\n")
        venv = tmp_path / "venv"
        venv.mkdir()
        (venv / ".installed").touch()  # newer than pyproject.toml: install is done
        planned = subprocess.run(
            ["make", "-n", "run", f"VENV={venv}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.splitlines()
        assert [f"{venv}/bin/python -m engine.dotenv .env"] == [
            line for line in planned if "engine.dotenv" in line
        ]
        assert planned.index(f"{venv}/bin/python -m engine.dotenv .env") < planned.index(
            f"{venv}/bin/hudur migrate"
        )
