"""wrk as the ingest benchmark's load generator, and a sampler of the server under load.

    write_events(path, events)          one `token<TAB>body` line per signed event
    run_wrk(url, path, ...) -> Wrk      one wrk run; its rate, latencies and failures
    Sampler(base, pid)                  /metrics' projection lag and the server's RSS,
                                        every 0.2 s, in a thread

wrk posts the pre-signed events from `connections` connections, each thread taking
every n-th line of the file. `distinct=True`: each event once, the threads stop when
theirs are used up, and any answer but `200 {"status":"accepted"}` counts as bad;
`distinct=False` cycles the file (for the bare handler, which stores nothing).
`delay_ms`: each connection waits that long after each answer (a paced load, for
latency below the peak); 0 is a closed loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PATH = "/webhooks/livekit"

_LUA = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[3])
  distinct = args[2] == "distinct"
  tokens, bodies = {}, {}
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == id then
      local tab = line:find("\t", 1, true)
      tokens[#tokens + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
    end
    i = i + 1
  end
  n, sent, bad = 0, 0, 0
end

function request()
  n = n + 1
  if n > #bodies then n = 1 end
  sent = sent + 1
  return wrk.format("POST", "@PATH@", {
    ["Content-Type"] = "application/webhook+json",
    ["Authorization"] = tokens[n],
  }, bodies[n])
end

function response(status, headers, body)
  if status ~= 200 or (distinct and not body:find('"accepted"', 1, true)) then
    bad = bad + 1
  end
  if distinct and sent >= #bodies then wrk.thread:stop() end
end
@DELAY@
function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do bad_total = bad_total + thread:get("bad") end
  io.write(string.format(
    'RESULT {"requests":%d,"us":%d,"p50":%d,"p99":%d,"max":%d,"non2xx":%d,' ..
    '"errors":%d,"bad":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    bad_total))
end
"""


@dataclass(frozen=True)
class Wrk:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non2xx: int
    errors: int
    bad: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def write_events(path: Path, events: list[tuple[bytes, str]]) -> None:
    with path.open("wb") as out:
        for body, token in events:
            assert b"\n" not in body and b"\t" not in body
            out.write(token.encode() + b"\t" + body + b"\n")


def run_wrk(
    base: str,
    events: Path,
    *,
    distinct: bool,
    seconds: float,
    connections: int = 32,
    threads: int = 2,
    delay_ms: int = 0,
) -> Wrk:
    delay = f"function delay() return {delay_ms} end\n" if delay_ms > 0 else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA.replace("@PATH@", PATH).replace("@DELAY@", delay))
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        script.name,
        base + PATH,
        "--",
        str(events),
        "distinct" if distinct else "cycle",
        str(threads),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    finally:
        Path(script.name).unlink()
    match = re.search(r"^RESULT (.*)$", done.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk said:\n{done.stdout}\n{done.stderr}")
    r = json.loads(match.group(1))
    return Wrk(
        requests=r["requests"],
        seconds=r["us"] / 1e6,
        p50_ms=r["p50"] / 1000,
        p99_ms=r["p99"] / 1000,
        max_ms=r["max"] / 1000,
        non2xx=r["non2xx"],
        errors=r["errors"],
        bad=r["bad"],
    )


def family(pid: int) -> list[int]:
    """`pid` and every process descended from it (the server and its projector child)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(child) for child in task.read_text().split()]
    return found


def rss_parts(pid: int) -> list[float]:
    """The resident memory of `pid` and of each of its descendants, in MB."""
    parts = []
    for member in family(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    parts.append(int(line.split()[1]) / 1024)
    return parts


def rss_mb(pid: int) -> float:
    """The resident memory of `pid` and its descendants, in MB."""
    return sum(rss_parts(pid)) or float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds `pid` has used (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuSplit:
    """CPU seconds over a span: the server process's own, and its children's."""

    server: float = 0.0
    children: float = 0.0

    @classmethod
    def measure(cls, pid: int) -> dict[int, float]:
        used = {}
        for member in family(pid):
            with contextlib.suppress(OSError):
                used[member] = cpu_seconds(member)
        return used

    @classmethod
    def between(cls, pid: int, before: dict[int, float], after: dict[int, float]) -> CpuSplit:
        spent = {p: after[p] - before.get(p, 0.0) for p in after}
        return cls(spent.get(pid, 0.0), sum(v for p, v in spent.items() if p != pid))


def lag(base: str) -> tuple[float, float]:
    """(rows, seconds) the projection is behind, as /metrics says now."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    rows = re.search(r"^hudur_projection_lag_rows (\S+)$", text, re.MULTILINE)
    seconds = re.search(r"^hudur_projection_lag_seconds (\S+)$", text, re.MULTILINE)
    assert rows is not None and seconds is not None, "no projection lag in /metrics"
    return float(rows.group(1)), float(seconds.group(1))


def caught_up_after(base: str, bound: float = 60.0) -> float:
    """Seconds until the projection is fully caught up (rows behind: 0)."""
    began = time.perf_counter()
    while lag(base)[0] > 0:
        if time.perf_counter() - began > bound:
            return float("inf")
        time.sleep(0.05)
    return time.perf_counter() - began


@dataclass
class Sampler:
    """Every `every` seconds: the projection's lag (rows, seconds) and the RSS."""

    base: str
    pid: int
    every: float = 0.2
    rows: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    rss: list[list[float]] = field(default_factory=list)  # each sample's, by process

    def __enter__(self) -> Sampler:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            rows, seconds = lag(self.base)
            self.rows.append(rows)
            self.seconds.append(seconds)
            self.rss.append(rss_parts(self.pid))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]
