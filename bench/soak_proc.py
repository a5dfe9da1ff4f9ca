"""A soak worker or reconciler: the usual commands, with the soak task registered too.

Usage: python bench/soak_proc.py worker NAME | reconcile
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import soak_tasks  # noqa: E402,F401  (registers the soak task)

from webapp import create_app  # noqa: E402
from webapp.jobs.cli import run_reconciler, run_worker  # noqa: E402


def main() -> None:
    app = create_app()
    with app.app_context():
        if sys.argv[1] == "worker":
            run_worker(("soak",), name=sys.argv[2])
        else:
            run_reconciler()


if __name__ == "__main__":
    main()
