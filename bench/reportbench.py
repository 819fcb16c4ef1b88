#!/usr/bin/env python3
"""`respa report` over a year: bench/reportgen.py writes 500,000 conversations and 5 million
messages into a temporary database, then the report of the whole year is written --runs
times; the figure is the slowest run's wall time (the requirement: 5 s or less), with its CPU
time beside it (on a busy machine the wall time includes waiting for a core).

    bench/reportbench.py --respa BUILD/src/respa [--tiny] [--runs 3] [--keep DIR] [--json FILE]

--tiny: two weeks of 30 conversations a day, for the test suite (the figures mean nothing).
"""
import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--respa", required=True)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", help="keep the database in this directory (made if need be)")
    ap.add_argument("--json")
    a = ap.parse_args()
    days, per_day, since, until = (14, 30, "2025-01-01", "2025-01-14") if a.tiny else \
        (365, 1520, "2025-01-01", "2025-12-31")
    d = a.keep or tempfile.mkdtemp(prefix="reportbench.")
    os.makedirs(d, exist_ok=True)
    db, conf, out = (os.path.join(d, n) for n in ("year.db", "year.conf", "report.html"))
    try:
        t0 = time.monotonic()
        subprocess.run([sys.executable, os.path.join(HERE, "reportgen.py"), "--db", db,
                        "--conf", conf, "--days", str(days), "--per-day", str(per_day),
                        "--start", since], check=True)
        gen_s = time.monotonic() - t0
        src = sqlite_counts(db)
        runs = []
        for _ in range(a.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            r = subprocess.run([a.respa, "report", "-c", conf, "--since", since, "--until",
                                until, "-o", out], capture_output=True, text=True)
            wall = time.monotonic() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if r.returncode != 0:
                print(f"reportbench: respa report exited {r.returncode}: {r.stderr}",
                      file=sys.stderr)
                return 1
            runs.append({"wall_s": round(wall, 3),
                         "cpu_s": round(after.ru_utime - before.ru_utime
                                        + after.ru_stime - before.ru_stime, 3)})
        with open(out) as f:
            html = f.read()
        total = html.split('data-fig="total" data-v="', 1)[1].split('"', 1)[0]
        if int(total) != src["conversations"]:
            print(f"reportbench: the report counts {total} contacts, the database "
                  f"{src['conversations']}", file=sys.stderr)
            return 1
        worst = max(runs, key=lambda x: x["wall_s"])
        print(f"{'conversations':>14} {'messages':>10} {'db MB':>7} {'generate s':>10} "
              f"{'report s':>9} {'cpu s':>6} {'html KB':>8}")
        print(f"{src['conversations']:>14} {src['messages']:>10} "
              f"{os.path.getsize(db) / 1e6:>7.0f} {gen_s:>10.1f} {worst['wall_s']:>9.2f} "
              f"{worst['cpu_s']:>6.2f} {len(html) / 1e3:>8.0f}")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"tool": "respa bench/reportbench.py", "unix_time": time.time(),
                           "params": {"days": days, "per_day": per_day, "since": since,
                                      "until": until, "tiny": a.tiny, "runs": a.runs},
                           "machine": {"nproc": os.cpu_count(), "kernel": platform.release(),
                                       "loadavg_at_start": open("/proc/loadavg").read().strip()},
                           "report": {**src, "db_bytes": os.path.getsize(db),
                                      "generate_s": round(gen_s, 1), "runs": runs,
                                      "worst_wall_s": worst["wall_s"],
                                      "worst_cpu_s": worst["cpu_s"],
                                      "html_bytes": len(html)}}, f)
                f.write("\n")
    finally:
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)
    return 0


def sqlite_counts(db: str) -> dict:
    import sqlite3
    c = sqlite3.connect(db)
    n = {"conversations": c.execute("SELECT count(*) FROM conversations").fetchone()[0],
         "messages": c.execute("SELECT count(*) FROM messages").fetchone()[0]}
    c.close()
    return n


if __name__ == "__main__":
    sys.exit(main())
