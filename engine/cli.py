"""The `hudur` console script (CONTRACT 2)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from aiohttp import web
from standardwebhooks.webhooks import EmptyWebhookSecretError

from engine.app import create_app
from engine.logging import configure_logging
from engine.migrate_child import migrate
from engine.notify.listen import DEFAULT_PORT, default_secret, listener_app
from engine.operations.rebuild import RebuildReport, rebuild
from engine.projector import Projector
from engine.projector_child import follow
from engine.settings import Settings
from engine.simulate.runner import Refused, SimulationError, simulate, table, teacher_token
from engine.sweeps import run_sweep
from rules.errors import NotFound
from store.database import Database

log = structlog.get_logger("hudur.cli")


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(migrate(settings.database_url))
    print(f"hudur: database at {settings.database_url} is at the newest revision")
    return 0


def migrate_in_child(settings: Settings) -> int:
    """`serve`'s migration in a process of its own (engine/migrate_child.py); its exit
    code (0: the database is at the newest revision)."""
    env = {**os.environ, "HUDUR_DATABASE_URL": settings.database_url}
    command = [sys.executable, "-m", "engine.migrate_child"]
    return subprocess.run(command, env=env, check=False).returncode


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else runs: a busy port must stop
    `serve` before it migrates, logs `serving` or starts a sweeper. OSError if not."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    try:
        sock = listen(settings.host, settings.port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"hudur: cannot listen on {settings.host}:{settings.port}: {reason}", file=sys.stderr)
        return 1
    if (code := migrate_in_child(settings)) != 0:
        return code
    if settings.uses_dev_livekit_credentials:
        log.warning(
            "dev_livekit_credentials",
            message="HUDUR_LIVEKIT_API_KEY/SECRET are the public dev defaults: anyone can "
            "forge webhooks. Set real ones before exposing this service.",
        )
    log.info("serving", host=settings.host, port=sock.getsockname()[1])
    # The live projector may run in a child process (engine/projector_child.py).
    app = create_app(settings, projector_in_child=settings.projector_process)
    # The ~150,000 objects of the imports and the app live as long as the process:
    # out of the collector's sight, a full collection under load no longer walks them
    # (it took ~100 ms, straight into the intake's tail latency).
    gc.freeze()
    web.run_app(app, sock=sock, print=None, access_log=None)
    return 0


async def _rebuild(settings: Settings, session_id: int | None) -> RebuildReport:
    database = Database(settings.database_url)
    try:
        async with database.uow() as uow:
            report = await rebuild(
                uow,
                now=datetime.now(UTC),
                allow_as_of=settings.allow_as_of,
                session_id=session_id,
            )
            await uow.commit()
    finally:
        await database.dispose()
    log.info(
        "rebuilt",
        session_id=session_id,
        events=report.events,
        evidence=report.evidence,
        sessions=len(report.sessions),
    )
    return report


def cmd_project(settings: Settings, args: argparse.Namespace) -> int:
    if args.follow:
        asyncio.run(follow(settings))
    else:
        asyncio.run(_catch_up(settings))
    return 0


async def _catch_up(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        projector = Projector(
            lambda: database, clock=lambda: datetime.now(UTC), allow_as_of=settings.allow_as_of
        )
        await projector.catch_up()
    finally:
        await database.dispose()


def cmd_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    try:
        report = asyncio.run(_rebuild(settings, args.session))
    except NotFound as exc:
        print(f"hudur: {exc.message}", file=sys.stderr)
        return 1
    print(f"hudur: {report.summary()}")
    return 0


def cmd_sweep(settings: Settings, args: argparse.Namespace) -> int:
    try:
        lines = asyncio.run(run_sweep(settings, args.as_of, args.academy))
    except ValueError as exc:
        print(f"hudur: --as-of {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


def service_url(host: str, port: int) -> str:
    """Where `serve` with this HUDUR_HOST/HUDUR_PORT answers: a wildcard bind address is
    reached on loopback, an IPv6 literal in brackets."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def cmd_listen(settings: Settings, args: argparse.Namespace) -> int:
    secret = args.secret or (settings.service_token and default_secret(settings.service_token))
    if not secret:
        print("hudur: listen needs --secret, or HUDUR_SERVICE_TOKEN to derive one", file=sys.stderr)
        return 2
    try:
        app = listener_app(secret, sys.stdout, full=args.json)
    except (ValueError, EmptyWebhookSecretError) as exc:  # not base64, or empty
        print(
            f"hudur: --secret is not a Standard Webhooks secret: {type(exc).__name__}",
            file=sys.stderr,
        )
        return 2
    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        print(
            f"hudur: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    url = f"{service_url(args.host, sock.getsockname()[1])}/"
    print(f"Ready. Listening for Hudur's notifications on {url}", flush=True)
    if not args.secret:
        print("Signing secret: derived from HUDUR_SERVICE_TOKEN (simulate uses the same)")
    print(f"Send a day's messages here:  hudur simulate --notify {url}\n", flush=True)
    web.run_app(app, sock=sock, print=None, access_log=None)
    return 0


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.service_token:
        print(
            "hudur: simulate needs HUDUR_SERVICE_TOKEN (make run writes one to .env)",
            file=sys.stderr,
        )
        return 2
    url = args.url or service_url(settings.host, settings.port)
    notify = None
    if args.notify:
        notify = (args.notify, args.notify_secret or default_secret(settings.service_token))
    try:
        outcomes = asyncio.run(
            simulate(
                url,
                sessions=args.sessions,
                seed=args.seed,
                service_token=settings.service_token,
                api_key=settings.livekit_api_key,
                api_secret=settings.livekit_api_secret,
                progress=sys.stderr if sys.stderr.isatty() else None,
                yes=args.yes,
                notify=notify,
            )
        )
    except Refused as exc:
        print(f"hudur: simulate refused to run against {url}: {exc}", file=sys.stderr)
        return 1
    except (SimulationError, OSError) as exc:
        print(f"hudur: simulation against {url} failed: {exc}", file=sys.stderr)
        return 1
    print(table(outcomes))
    if settings.jwt_secret:
        lesson = outcomes[0]
        token = teacher_token(lesson, settings.jwt_secret)
        print(
            f"\nOpen {lesson.session_code} as its teacher:\n"
            f"  {url}/sessions/{lesson.session_id}/attendance?token={token}"
        )
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "simulate": cmd_simulate,
    "listen": cmd_listen,
    "migrate": cmd_migrate,
    "rebuild": cmd_rebuild,
    "project": cmd_project,
    "sweep": cmd_sweep,
}


def _positive(text: str) -> int:
    """An argparse type: an integer from 1 up (ids, counts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hudur", description="Hudur attendance engine")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP service with its sweeper (migrates first)")
    sub.add_parser("migrate", help="bring the database schema to the newest revision")
    project_parser = sub.add_parser(
        "project", help="project the stored webhooks not yet projected (serve runs it)"
    )
    project_parser.add_argument(
        "--follow", action="store_true", help="keep projecting as webhooks arrive, until stopped"
    )
    rebuild_parser = sub.add_parser(
        "rebuild", help="recompute all derived evidence and verdicts from the stored webhooks"
    )
    rebuild_parser.add_argument("--session", type=int, help="only this session id")
    sweep_parser = sub.add_parser("sweep", help="run one sweep and print the transitions it made")
    sweep_parser.add_argument(
        "--as-of", metavar="TIME", help="sweep as of this ISO 8601 time (default: now)"
    )
    sweep_parser.add_argument(
        "--academy",
        metavar="ID",
        type=_positive,
        help="sweep this academy only (default: every academy)",
    )
    simulate_parser = sub.add_parser(
        "simulate", help="play a realistic academy day of signed LiveKit webhooks"
    )
    simulate_parser.add_argument(
        "--url",
        help="the running service (default: HUDUR_HOST and HUDUR_PORT, from the environment "
        "or .env, as `serve` reads them)",
    )
    simulate_parser.add_argument(
        "--sessions", type=_positive, default=10, help="lessons in the day (1 or more)"
    )
    simulate_parser.add_argument("--seed", type=int, default=1, help="the same seed, the same day")
    simulate_parser.add_argument(
        "--notify",
        metavar="URL",
        help="register URL as the simulated academy's notification endpoint first "
        "(e.g. where `hudur listen` listens)",
    )
    simulate_parser.add_argument(
        "--notify-secret",
        metavar="WHSEC",
        help="its signing secret (default: the one `hudur listen` derives from "
        "HUDUR_SERVICE_TOKEN)",
    )
    simulate_parser.add_argument(
        "--yes",
        action="store_true",
        help="run even where other academies have sessions on the simulated day",
    )
    listen_parser = sub.add_parser(
        "listen", help="print Hudur's notifications as they arrive, verified (Stripe-CLI style)"
    )
    listen_parser.add_argument("--host", default="127.0.0.1", help="where to listen")
    listen_parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    listen_parser.add_argument(
        "--secret",
        metavar="WHSEC",
        help="the endpoint's signing secret (default: derived from HUDUR_SERVICE_TOKEN)",
    )
    listen_parser.add_argument(
        "--json", action="store_true", help="print each message whole, as one JSON line"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format)
    return COMMANDS[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
