"""`make bench`: every speed goal's benchmark in one run, and one table of them all.

Runs, one after another (so they do not share the machine with each other):

  throughput.py  tracking: jobs/s of a forking worker and of the light path, beside bare RQ
  poll.py        live updates: open dashboards polling, beside per-card polling; twice:
                 the web server on one core, then on all of them (poll-host)
  submit.py      submits: POST /api/v1/tasks/<name>, beside a bare enqueue and an outbox

Each script prints its own report and writes its figures (--summary FILE, JSON rows of
{goal, measure, cutroom, anchor, anchor_name, ratio, target, met}; met None: a row that only
informs); this prints them as one table: Cutroom's figure beside the anchor measured in the
same run, their ratio, and whether the goal's target is met. Usage: python bench/suite.py
[--only NAME ...] [--quick]. With DATABASE_URL / REDIS_URL unset each script starts the
embedded services.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from hoststat import cpu_ticks, steal_share  # noqa: E402

SCRIPTS = {  # name: (script, its arguments, its arguments for --quick)
    # Two rounds, the second with each pair the other way round: on a shared VM whose speed
    # drifts, one round once gave the light worker 1.62x SimpleWorker.
    "throughput": ("throughput.py", ["--rounds", "2"], ["--jobs", "500"]),
    # The web server on one core, the load generator on the other; then the web server on
    # all the host's cores (as the Procfile runs it there), the load generator still on one.
    "poll": ("poll.py", [], ["--quick"]),
    "poll-host": ("poll.py", ["--server-cpus", ""], ["--quick"]),
    "submit": ("submit.py", [], ["--quick"]),
}


def run(name: str, quick: bool, folder: Path) -> tuple[list[dict], float]:
    """Run one benchmark; its summary rows (a row saying it failed if it did), and the share
    of the host's CPU the hypervisor took meanwhile."""
    script, args, quick_args = SCRIPTS[name]
    summary = folder / f"{name}.json"
    command = [sys.executable, str(HERE / script), "--summary", str(summary), *args,
               *(quick_args if quick else [])]
    print(f"\n=== {script} {' '.join(command[2:])}", flush=True)
    started, ticks = time.perf_counter(), cpu_ticks()
    done = subprocess.run(command, check=False)
    stolen = steal_share(ticks, cpu_ticks())
    print(f"=== {script}: {time.perf_counter() - started:.0f} s, exit {done.returncode}, "
          f"hypervisor steal {100 * stolen:.0f} % of the host's CPU", flush=True)
    if done.returncode != 0 or not summary.exists():
        return [{"goal": name, "measure": f"{script} failed (exit {done.returncode})",
                 "met": False}], stolen
    return json.loads(summary.read_text()), stolen


def _number(value, width: int, digits: int = 1) -> str:
    return f"{value:{width}.{digits}f}" if isinstance(value, (int, float)) else " " * width


def _met(met: bool | None) -> str:
    """yes / NO; "-" for a row that only informs (met None: no target of its own)."""
    return "-" if met is None else "yes" if met else "NO"


def table(rows: list[dict]) -> str:
    """The rows as a fixed-width table."""
    head = (f"{'goal':11} {'measure':44} {'Cutroom':>10} {'anchor':>10} {'ratio':>6}  "
            f"{'target':24} {'met':3}  anchor")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['goal']:11} {r['measure']:44} {_number(r.get('cutroom'), 10)} "
                     f"{_number(r.get('anchor'), 10)} {_number(r.get('ratio'), 6, 2)}  "
                     f"{r.get('target', ''):24} {_met(r.get('met')):3}  "
                     f"{r.get('anchor_name', '')}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SCRIPTS), help="run only these")
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cutroom-bench-suite-"))
    rows: list[dict] = []
    steal: dict[str, float] = {}  # script name: the share of the host's CPU stolen meanwhile
    for name in args.only or SCRIPTS:
        if not (HERE / SCRIPTS[name][0]).exists():
            rows.append({"goal": name, "measure": f"{SCRIPTS[name][0]}: not written yet",
                         "met": False})
            continue
        found, steal[name] = run(name, args.quick, folder)
        rows += found
    print("\n" + table(rows))
    print("\nhypervisor steal while each ran (the host's CPU taken by its neighbours): "
          + ", ".join(f"{name} {100 * share:.0f} %" for name, share in steal.items()))
    return 0 if all(r.get("met", False) is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
