"""The engine: its operations, the app, the HTTP API, the pages, the CLI."""

import sys

# structlog imports `rich`, when it is installed, only to draw tracebacks on a console;
# the service never needs it, and it is ~5 MB of every process (`hudur serve` and its
# projector child: issue 11's RSS bound). It is installed here only as a test tool's
# dependency (schemathesis' command line), which the tests do not use.
sys.modules.setdefault("rich", None)  # type: ignore[arg-type]  # None: "not importable"
