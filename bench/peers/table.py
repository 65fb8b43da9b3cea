#!/usr/bin/env python3
"""bench/peers/table.py - the one table of `make bench-peers`.

Reads what scripts/bench-peers.sh left in PEERS_DIR: earnorm-<backend>.json
(build/earnorm_bench --only <backend> --out ...), py-<backend>.json
(peers.py), node-mongodb.json (mongoose.js), and status-<name>.txt files
saying why one of them was not run. Writes OUT (build/bench-peers.json) and
prints the table (Markdown, as the README quotes it) and how each library
did each workload.

Usage: table.py PEERS_DIR OUT ROWS RUNS MONGO_RUNS
Standard library only: it runs even when the venv could not be made.
"""
import datetime
import json
import os
import sys

# (key in the runners' files, name in earnorm_bench's, shown as)
WORKLOADS = [
    ("create", "create", "create"),
    ("search_read", "search_read", "search_read"),
    ("m2o_loop", "parent_name_loop", "parent_id.name loop"),
]
SHOWN = {k: s for k, _, s in WORKLOADS}
BACKENDS = ["sqlite", "postgresql", "mongodb"]
# per backend: the runner files, each with its raw driver and its peers
RUNNERS = {"sqlite": ["py-sqlite"], "postgresql": ["py-postgresql"], "mongodb": ["py-mongodb", "node-mongodb"]}
# what each runner measures, when its file is missing (nothing silently dropped)
EXPECTED = {
    "py-sqlite": ("sqlite3", ["SQLAlchemy ORM", "SQLAlchemy Core", "Peewee"]),
    "py-postgresql": ("psycopg2", ["SQLAlchemy ORM", "SQLAlchemy Core", "Peewee"]),
    "py-mongodb": ("pymongo", ["MongoEngine"]),
    "node-mongodb": ("mongodb (node driver)", ["Mongoose"]),
}


def load(d, name):
    try:
        with open(os.path.join(d, name + ".json"), encoding="utf-8") as f:
            return json.load(f), None
    except (OSError, ValueError) as e:
        try:
            with open(os.path.join(d, "status-%s.txt" % name), encoding="utf-8") as f:
                return None, f.read().strip()
        except OSError:
            return None, "no result (%s.json: %s)" % (name, e.strerror if isinstance(e, OSError) else "not JSON")


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu}


def ms(v):
    return "%.0f" % v if v >= 100 else "%.1f" % v


def main():
    d, out, rows, runs, mongo_runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    table = []
    how = {}
    earnorm_files = {b: load(d, "earnorm-" + b) for b in BACKENDS}
    for wl, eo_key, _ in WORKLOADS:
        for backend in BACKENDS:
            eo, eo_err = earnorm_files[backend]
            if eo is not None:
                r = eo.get("results", {}).get("%s.%s" % (backend, eo_key))
                earnorm = ({"orm_ms": r["orm_ms"], "raw_ms": r["raw_ms"], "ratio": round(r["ratio"], 2)} if r
                           else {"error": "no %s.%s in its bench.json" % (backend, eo_key)})
            else:
                earnorm = {"error": eo_err}
            for runner in RUNNERS[backend]:
                res, err = load(d, runner)
                raw_name, peer_names = EXPECTED[runner]
                if res is None:
                    raw = {"name": raw_name, "error": err}
                    peers = [{"name": p, "error": err} for p in peer_names]
                else:
                    raw = res["raw"]
                    peers = res["peers"]
                rv = raw.get(wl) if "error" not in raw else raw["error"]
                raw_cell = {"name": raw["name"]}
                if isinstance(rv, (int, float)):
                    raw_cell["ms"] = rv
                    raw_cell["runs"] = raw.get(wl + "_runs")
                else:
                    raw_cell["error"] = rv or "no result"
                for p in peers:
                    pv = p.get(wl) if "error" not in p else p["error"]
                    cell = {"name": p["name"]}
                    if isinstance(pv, (int, float)):
                        cell["ms"] = pv
                        cell["runs"] = p.get(wl + "_runs")
                        if "ms" in raw_cell:
                            cell["ratio"] = round(pv / raw_cell["ms"], 2)
                    else:
                        cell["error"] = pv or "no result"
                    if "how" in p:
                        how[p["name"]] = p["how"]
                        cell["how"] = p["how"].get(wl)
                    table.append({"workload": wl, "backend": backend, "earnorm": earnorm, "raw": raw_cell,
                                  "peer": cell})
                if "how" in raw:
                    how[raw["name"]] = raw["how"]
    loads = []
    try:
        loads = [float(x) for x in open(os.path.join(d, "loadavg.txt"), encoding="utf-8").read().split()]
    except (OSError, ValueError):
        pass
    now = datetime.datetime.now(datetime.timezone.utc)
    doc = {"rows": rows, "runs": runs, "mongodb_runs": mongo_runs, "date": now.strftime("%Y-%m-%d %H:%M UTC"),
           "machine": machine(),
           "loadavg_1min": {"min": min(loads), "max": max(loads)} if loads else None, "table": table, "how": how}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)

    m = doc["machine"]
    print("EarnORM vs its peers: %d rows, best of %d runs (%d on MongoDB), %s, %s cores, %s%s" % (
        rows, runs, mongo_runs, doc["date"], m["nproc"], m["cpu"],
        ", load average %.1f-%.1f" % (min(loads), max(loads)) if loads else ""))
    print()
    print("| workload | backend | EarnORM / raw C | raw driver | raw ms | peer | peer ms | peer / raw |")
    print("|---|---|---|---|---:|---|---:|---:|")
    last = last_sub = None
    for r in table:
        e, raw, p = r["earnorm"], r["raw"], r["peer"]
        group = (r["workload"], r["backend"])
        sub = group + (raw["name"],)
        cells = ["", "", "", "", ""]
        if group != last:
            cells[0], cells[1] = SHOWN[r["workload"]], r["backend"]
            cells[2] = ("%.2f (%s / %s ms)" % (e["ratio"], ms(e["orm_ms"]), ms(e["raw_ms"])) if "ratio" in e
                        else e["error"])
        if sub != last_sub:
            cells[3] = raw["name"]
            cells[4] = ms(raw["ms"]) if "ms" in raw else raw["error"]
        last, last_sub = group, sub
        if "ms" in p:
            pc, rc = ms(p["ms"]), ("%.2f" % p["ratio"] if "ratio" in p else "")
        else:
            pc, rc = p["error"], ""
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (cells[0], cells[1], cells[2], cells[3], cells[4],
                                                          p["name"], pc, rc))
    print()
    print("How each did it (create; search_read; the Many2one loop):")
    for name, h in how.items():
        print("- %s: %s; %s; %s" % (name, h.get("create"), h.get("search_read"), h.get("m2o_loop")))
    print()
    print("written %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
