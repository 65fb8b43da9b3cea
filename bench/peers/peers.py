#!/usr/bin/env python3
"""bench/peers/peers.py - the Python side of `make bench-peers`.

The workloads of `make bench` (bench/sqlite_bench.c, pg_bench.c,
mongo_bench.c, rel_bench.c; the data of bench/common.lua.h), on one backend,
through the raw Python driver and the Python ORMs on it:

  create       ROWS rows of bench_rec (name, email, age, score, active; row
               i as bench_row() makes it), from a list of dicts built once
  search_read  every bench_rec row, ordered by id, into the library's
               native structure (dicts for the raw driver, model instances
               for an ORM, Row tuples for SQLAlchemy Core)
  m2o_loop     the length of each child's parent name over ROWS children of
               1000 parents ('parent number i'; child i has parent i % 1000),
               as `for rec in C:search{}:each() do #rec.parent_id.name end`

  sqlite      raw: sqlite3 (executemany in one transaction, a scan, the join);
              SQLAlchemy 2.x ORM and Core, Peewee
  postgresql  raw: psycopg2 (COPY, a query, the join); SQLAlchemy 2.x ORM and
              Core on psycopg2, Peewee
  mongodb     raw: pymongo (insert_many, a find, find + $in); MongoEngine

Each side runs RUNS times, the best time counts (as in make bench), the
connection is opened before the clock starts; a side whose runs of a
workload took --budget seconds (10) is not run again (one run of several
seconds varies little, and the slowest ORMs would take minutes). Each side's result is checked
(row count, values, the total of name lengths against the raw driver's); a
side that fails says so in its cell ("failed: ..."), a library that is not
importable is "not installed: ..." with the reason the installer gave.

Usage: peers.py --backend sqlite|postgresql|mongodb --url URL --rows N
                --runs R [--budget S] --out FILE.json [--install-log FILE]
(--url is a file path for sqlite; on PostgreSQL the peers run in a database
of their own beside the URL's, <db>_peers, made anew.)
"""
import argparse
import gc
import importlib.metadata
import io
import json
import platform
import sys
import time
import traceback

PARENTS = 1000
FIELDS = ("name", "email", "age", "score", "active")
MG_IN_CHUNK = 20000  # parents per $in, as rel_bench.c


def make_data(rows):
    return [{"name": "name %d" % i, "email": "user%d@example.com" % i, "age": i % 90,
             "score": (i % 1000) / 10, "active": i % 3 != 0} for i in range(rows)]


def version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


class NotInstalled(Exception):
    pass


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def check_rows(rows, get, n, data):
    """rows[i] of search_read against data[i], by get(row, field)."""
    check(len(rows) == n, "%d rows read, %d expected" % (len(rows), n))
    for i in (0, n // 2, n - 1):
        for f in FIELDS:
            got, want = get(rows[i], f), data[i][f]
            check(got == want and type(got) is type(want),
                  "row %d: %s is %r, %r expected" % (i, f, got, want))


# --------------------------------------------------------------- SQL backends

SQL_DDL = {
    "sqlite": [
        "CREATE TABLE bench_rec (id INTEGER PRIMARY KEY, name VARCHAR, email VARCHAR, age INTEGER, score FLOAT, active BOOLEAN)",
        "CREATE TABLE bench_parent (id INTEGER PRIMARY KEY, name VARCHAR)",
        "CREATE TABLE bench_child (id INTEGER PRIMARY KEY, name VARCHAR, parent_id INTEGER REFERENCES bench_parent(id))",
        "CREATE INDEX bench_child_parent_id ON bench_child (parent_id)",
    ],
    "postgresql": [
        "CREATE TABLE bench_rec (id SERIAL PRIMARY KEY, name VARCHAR, email VARCHAR, age INTEGER, score DOUBLE PRECISION, active BOOLEAN)",
        "CREATE TABLE bench_parent (id SERIAL PRIMARY KEY, name VARCHAR)",
        "CREATE TABLE bench_child (id SERIAL PRIMARY KEY, name VARCHAR, parent_id INTEGER REFERENCES bench_parent(id))",
        "CREATE INDEX bench_child_parent_id ON bench_child (parent_id)",
    ],
}
SELECT_REC = "SELECT id, name, email, age, score, active FROM bench_rec ORDER BY id"
JOIN = "SELECT c.id, p.name FROM bench_child c LEFT JOIN bench_parent p ON p.id = c.parent_id ORDER BY c.id"


class SqlRaw:
    """The raw driver of a SQL backend: sqlite3 or psycopg2."""

    def __init__(self, backend, url):
        self.backend, self.url = backend, url
        if backend == "sqlite":
            import sqlite3
            self.mod = sqlite3
            self.name = "sqlite3 (Python %s, SQLite %s)" % (platform.python_version(), sqlite3.sqlite_version)
            self.how = {"create": "executemany, one transaction", "search_read": "a scan into dicts",
                        "m2o_loop": "the join"}
        else:
            try:
                import psycopg2
            except ImportError as e:
                raise NotInstalled(str(e))
            self.mod = psycopg2
            self.name = "psycopg2 %s" % version("psycopg2-binary")
            self.how = {"create": "COPY", "search_read": "a query into dicts", "m2o_loop": "the join"}

    def connect(self):
        if self.backend == "sqlite":
            con = self.mod.connect(self.url, isolation_level=None)
            # the settings the adapter (and bench/sqlite_bench.c) uses
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            return con
        return self.mod.connect(self.url)

    def execute(self, sql, commit=True):
        con = self.connect()
        cur = con.cursor()
        cur.execute(sql)
        if self.backend != "sqlite" and commit:
            con.commit()
        con.close()

    def setup(self, rows):
        """The tables, and the parents and children of m2o_loop."""
        for t in ("bench_child", "bench_parent", "bench_rec"):
            self.execute("DROP TABLE IF EXISTS %s" % t)
        for sql in SQL_DDL[self.backend]:
            self.execute(sql)
        con = self.connect()
        cur = con.cursor()
        ph = "?" if self.backend == "sqlite" else "%s"
        if self.backend == "sqlite":
            cur.execute("BEGIN")
        cur.executemany("INSERT INTO bench_parent (id, name) VALUES (%s, %s)" % (ph, ph),
                        [(i, "parent number %d" % i) for i in range(1, PARENTS + 1)])
        cur.executemany("INSERT INTO bench_child (name, parent_id) VALUES (%s, %s)" % (ph, ph),
                        [("c%d" % i, (i % PARENTS) + 1) for i in range(1, rows + 1)])
        if self.backend == "sqlite":
            cur.execute("COMMIT")
        else:
            con.commit()
            cur.execute("ANALYZE")
            con.commit()
        con.close()

    def clear(self):
        self.execute("DELETE FROM bench_rec" if self.backend == "sqlite" else "TRUNCATE bench_rec")

    def create(self, data):
        con = self.connect()
        cur = con.cursor()
        t0 = time.perf_counter()
        if self.backend == "sqlite":
            cur.execute("BEGIN")
            cur.executemany("INSERT INTO bench_rec (name, email, age, score, active) VALUES (?, ?, ?, ?, ?)",
                            [(d["name"], d["email"], d["age"], d["score"], d["active"]) for d in data])
            cur.execute("COMMIT")
        else:
            buf = io.StringIO("".join("%s\t%s\t%d\t%r\t%s\n" % (d["name"], d["email"], d["age"], d["score"],
                                                                "t" if d["active"] else "f") for d in data))
            cur.copy_expert("COPY bench_rec (name, email, age, score, active) FROM STDIN", buf, size=1 << 20)
            con.commit()
        t = time.perf_counter() - t0
        con.close()
        return t

    def search_read(self):
        con = self.connect()
        cur = con.cursor()
        t0 = time.perf_counter()
        cur.execute(SELECT_REC)
        rows = [{"id": r[0], "name": r[1], "email": r[2], "age": r[3], "score": r[4], "active": bool(r[5])}
                for r in cur]
        t = time.perf_counter() - t0
        con.close()
        return t, rows, lambda r, f: r[f]

    def m2o_loop(self):
        con = self.connect()
        cur = con.cursor()
        t0 = time.perf_counter()
        cur.execute(JOIN)
        total = 0
        for r in cur:
            total += len(r[1])
        t = time.perf_counter() - t0
        con.close()
        return t, total


class SqlAlchemyBase:
    def __init__(self, backend, url):
        try:
            import sqlalchemy
        except ImportError as e:
            raise NotInstalled(str(e))
        from sqlalchemy import ForeignKey, create_engine, event
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
        self.sa = sqlalchemy
        if backend == "sqlite":
            self.engine = create_engine("sqlite:///" + url)

            @event.listens_for(self.engine, "connect")
            def pragmas(dbapi_con, _):
                cur = dbapi_con.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.close()
        else:
            self.engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))

        class Base(DeclarativeBase):
            pass

        class Rec(Base):
            __tablename__ = "bench_rec"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str]
            email: Mapped[str]
            age: Mapped[int]
            score: Mapped[float]
            active: Mapped[bool]

        class Parent(Base):
            __tablename__ = "bench_parent"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str]

        class Child(Base):
            __tablename__ = "bench_child"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str]
            parent_id: Mapped[int] = mapped_column(ForeignKey("bench_parent.id"))
            parent: Mapped[Parent] = relationship()

        self.Rec, self.Parent, self.Child = Rec, Parent, Child
        with self.engine.connect() as c:  # the pool holds a connection: not timed
            c.exec_driver_sql("SELECT 1")

    def close(self):
        self.engine.dispose()


class SqlAlchemyOrm(SqlAlchemyBase):
    def __init__(self, backend, url):
        super().__init__(backend, url)
        self.name = "SQLAlchemy %s ORM" % self.sa.__version__
        self.how = {"create": "Session.add_all + commit", "search_read": "scalars(select(Rec)) -> instances",
                    "m2o_loop": "selectinload(Child.parent)"}

    def create(self, data):
        from sqlalchemy.orm import Session
        Rec = self.Rec
        t0 = time.perf_counter()
        with Session(self.engine) as s:
            s.add_all([Rec(**d) for d in data])
            s.commit()
        return time.perf_counter() - t0

    def search_read(self):
        from sqlalchemy import select
        from sqlalchemy.orm import Session
        t0 = time.perf_counter()
        with Session(self.engine) as s:
            rows = s.scalars(select(self.Rec).order_by(self.Rec.id)).all()
        return time.perf_counter() - t0, rows, getattr

    def m2o_loop(self):
        from sqlalchemy import select
        from sqlalchemy.orm import Session, selectinload
        Child = self.Child
        t0 = time.perf_counter()
        total = 0
        with Session(self.engine) as s:
            for c in s.scalars(select(Child).options(selectinload(Child.parent)).order_by(Child.id)):
                total += len(c.parent.name)
        return time.perf_counter() - t0, total


class SqlAlchemyCore(SqlAlchemyBase):
    def __init__(self, backend, url):
        super().__init__(backend, url)
        self.name = "SQLAlchemy %s Core" % self.sa.__version__
        self.how = {"create": "execute(insert(t), dicts)", "search_read": "execute(select(t)).all() -> Rows",
                    "m2o_loop": "select(...).outerjoin(...)"}
        self.rec = self.Rec.__table__
        self.child, self.parent = self.Child.__table__, self.Parent.__table__

    def create(self, data):
        from sqlalchemy import insert
        t0 = time.perf_counter()
        with self.engine.begin() as c:
            c.execute(insert(self.rec), data)
        return time.perf_counter() - t0

    def search_read(self):
        from sqlalchemy import select
        t0 = time.perf_counter()
        with self.engine.connect() as c:
            rows = c.execute(select(self.rec).order_by(self.rec.c.id)).all()
        return time.perf_counter() - t0, rows, lambda r, f: r._mapping[f]

    def m2o_loop(self):
        from sqlalchemy import select
        ch, pa = self.child, self.parent
        q = select(ch.c.id, pa.c.name).select_from(ch.outerjoin(pa, pa.c.id == ch.c.parent_id)).order_by(ch.c.id)
        t0 = time.perf_counter()
        total = 0
        with self.engine.connect() as c:
            for r in c.execute(q):
                total += len(r[1])
        return time.perf_counter() - t0, total


class PeeweePeer:
    BATCH = 1000  # rows per INSERT (5000 parameters)

    def __init__(self, backend, url):
        try:
            import peewee as pw
        except ImportError as e:
            raise NotInstalled(str(e))
        self.pw = pw
        self.name = "Peewee %s" % pw.__version__
        self.how = {"create": "insert_many, chunked(%d), atomic()" % self.BATCH,
                    "search_read": "select() -> instances", "m2o_loop": "select(Child, Parent).join(Parent)"}
        if backend == "sqlite":
            self.db = pw.SqliteDatabase(url, pragmas={"journal_mode": "wal", "synchronous": "normal"})
        else:
            from urllib.parse import urlparse
            u = urlparse(url)
            self.db = pw.PostgresqlDatabase(u.path.lstrip("/"), host=u.hostname, port=u.port, user=u.username,
                                            password=u.password)
        db = self.db

        class Rec(pw.Model):
            name = pw.CharField()
            email = pw.CharField()
            age = pw.IntegerField()
            score = pw.FloatField()
            active = pw.BooleanField()

            class Meta:
                database = db
                table_name = "bench_rec"

        class Parent(pw.Model):
            name = pw.CharField()

            class Meta:
                database = db
                table_name = "bench_parent"

        class Child(pw.Model):
            name = pw.CharField()
            parent = pw.ForeignKeyField(Parent, column_name="parent_id", null=True)

            class Meta:
                database = db
                table_name = "bench_child"

        self.Rec, self.Parent, self.Child = Rec, Parent, Child
        db.connect()

    def close(self):
        self.db.close()

    def create(self, data):
        Rec = self.Rec
        t0 = time.perf_counter()
        with self.db.atomic():
            for batch in self.pw.chunked(data, self.BATCH):
                Rec.insert_many(batch).execute()
        return time.perf_counter() - t0

    def search_read(self):
        t0 = time.perf_counter()
        rows = list(self.Rec.select().order_by(self.Rec.id))
        return time.perf_counter() - t0, rows, getattr

    def m2o_loop(self):
        Child, Parent = self.Child, self.Parent
        t0 = time.perf_counter()
        total = 0
        for c in Child.select(Child, Parent).join(Parent, self.pw.JOIN.LEFT_OUTER).order_by(Child.id):
            total += len(c.parent.name)
        return time.perf_counter() - t0, total


# ------------------------------------------------------------------- MongoDB


def mongo_db(client, url):
    from pymongo.uri_parser import parse_uri
    return client[parse_uri(url).get("database") or "earnorm"]


class MongoRaw:
    def __init__(self, backend, url):
        try:
            import pymongo
        except ImportError as e:
            raise NotInstalled(str(e))
        self.pymongo, self.url = pymongo, url
        self.name = "pymongo %s" % pymongo.version
        self.how = {"create": "insert_many", "search_read": "find(sort _id) into dicts",
                    "m2o_loop": "find + find $in (two steps)"}

    def connect(self):
        client = self.pymongo.MongoClient(self.url, serverSelectionTimeoutMS=3000)
        client.admin.command("ping")
        return client, mongo_db(client, self.url)

    def drop(self, *names):
        # drop, not delete_many({}): FerretDB's SQLite backend overflows its
        # variable limit deleting 100k documents at once (mongo_bench.c)
        client, db = self.connect()
        for n in names:
            db.drop_collection(n)
            db.create_collection(n)
        client.close()

    def setup(self, rows):
        self.drop("bench_rec", "bench_parent", "bench_child")
        client, db = self.connect()
        pids = db.bench_parent.insert_many([{"name": "parent number %d" % i}
                                            for i in range(1, PARENTS + 1)]).inserted_ids
        db.bench_child.insert_many([{"name": "c%d" % i, "parent_id": pids[i % PARENTS]} for i in range(1, rows + 1)])
        db.bench_child.create_index("parent_id")
        client.close()

    def clear(self):
        self.drop("bench_rec")

    def create(self, data):
        client, db = self.connect()
        t0 = time.perf_counter()
        db.bench_rec.insert_many([dict(d) for d in data])
        t = time.perf_counter() - t0
        client.close()
        return t

    def search_read(self):
        client, db = self.connect()
        t0 = time.perf_counter()
        rows = [{"id": str(d["_id"]), "name": d["name"], "email": d["email"], "age": d["age"],
                 "score": d["score"], "active": d["active"]}
                for d in db.bench_rec.find({}, {f: 1 for f in FIELDS}, sort=[("_id", 1)])]
        t = time.perf_counter() - t0
        client.close()
        return t, rows, lambda r, f: r[f]

    def m2o_loop(self):
        client, db = self.connect()
        t0 = time.perf_counter()
        slots, order, kids = {}, [], []
        for d in db.bench_child.find({}, {"_id": 1, "parent_id": 1}, sort=[("_id", 1)]):
            p = d.get("parent_id")
            if p is not None and p not in slots:
                slots[p] = len(order)
                order.append(p)
            kids.append(p)
        names = {}
        for s in range(0, len(order), MG_IN_CHUNK):
            for d in db.bench_parent.find({"_id": {"$in": order[s:s + MG_IN_CHUNK]}}, {"_id": 1, "name": 1}):
                names[d["_id"]] = d["name"]
        total = 0
        for p in kids:
            if p is not None:
                total += len(names[p])
        t = time.perf_counter() - t0
        client.close()
        return t, total


class MongoEnginePeer:
    def __init__(self, backend, url):
        try:
            import mongoengine as me
        except ImportError as e:
            raise NotInstalled(str(e))
        self.me = me
        self.name = "MongoEngine %s" % version("mongoengine")
        self.how = {"create": "objects.insert(docs, load_bulk=False)", "search_read": "objects.order_by('id') -> documents",
                    "m2o_loop": "objects.order_by('id').select_related()"}
        me.connect(host=url, serverSelectionTimeoutMS=3000)

        class Rec(me.Document):
            name = me.StringField()
            email = me.StringField()
            age = me.IntField()
            score = me.FloatField()
            active = me.BooleanField()
            meta = {"collection": "bench_rec", "auto_create_index": False}

        class Parent(me.Document):
            name = me.StringField()
            meta = {"collection": "bench_parent", "auto_create_index": False}

        class Child(me.Document):
            name = me.StringField()
            parent = me.ReferenceField(Parent, db_field="parent_id")
            meta = {"collection": "bench_child", "auto_create_index": False}

        self.Rec, self.Parent, self.Child = Rec, Parent, Child
        Rec.objects.first()  # connects: not timed

    def close(self):
        self.me.disconnect()

    def create(self, data):
        Rec = self.Rec
        t0 = time.perf_counter()
        Rec.objects.insert([Rec(**d) for d in data], load_bulk=False)
        return time.perf_counter() - t0

    def search_read(self):
        t0 = time.perf_counter()
        rows = list(self.Rec.objects.order_by("id"))
        return time.perf_counter() - t0, rows, getattr

    def m2o_loop(self):
        t0 = time.perf_counter()
        total = 0
        for c in self.Child.objects.order_by("id").select_related():
            total += len(c.parent.name)
        return time.perf_counter() - t0, total


SIDES = {
    "sqlite": (SqlRaw, [SqlAlchemyOrm, SqlAlchemyCore, PeeweePeer]),
    "postgresql": (SqlRaw, [SqlAlchemyOrm, SqlAlchemyCore, PeeweePeer]),
    "mongodb": (MongoRaw, [MongoEnginePeer]),
}
# the package each side needs (for the installer's reason when it is missing)
PACKAGES = {"SqlRaw": "psycopg2-binary", "SqlAlchemyOrm": "sqlalchemy", "SqlAlchemyCore": "sqlalchemy",
            "PeeweePeer": "peewee", "MongoRaw": "pymongo", "MongoEnginePeer": "mongoengine"}
LABELS = {"SqlAlchemyOrm": "SQLAlchemy ORM", "SqlAlchemyCore": "SQLAlchemy Core", "PeeweePeer": "Peewee",
          "MongoRaw": "pymongo", "MongoEnginePeer": "MongoEngine", "SqlRaw": "psycopg2"}


def pg_peers_db(url):
    """A database of the peers' own beside the one of url (<db>_peers),
    made anew; its URL."""
    import psycopg2
    from urllib.parse import urlparse, urlunparse
    u = urlparse(url)
    name = (u.path.lstrip("/") or "postgres") + "_peers"
    con = psycopg2.connect(url)
    con.autocommit = True
    cur = con.cursor()
    cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
    cur.execute('CREATE DATABASE "%s"' % name)
    con.close()
    return urlunparse(u._replace(path="/" + name))


def short(e):
    s = "%s: %s" % (type(e).__name__, e) if not isinstance(e, Failed) else str(e)
    s = " ".join(s.split())
    return s if len(s) <= 160 else s[:157] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", required=True, choices=sorted(SIDES))
    ap.add_argument("--url", required=True)
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--budget", type=float, default=10.0,
                    help="seconds: no more runs of a side once its runs took this long")
    ap.add_argument("--out", required=True)
    ap.add_argument("--install-log", help="package<TAB>reason lines of what pip could not install")
    a = ap.parse_args()
    missing = {}
    if a.install_log:
        try:
            for line in open(a.install_log, encoding="utf-8"):
                pkg, _, why = line.rstrip("\n").partition("\t")
                missing[pkg] = why
        except FileNotFoundError:
            pass

    def not_installed(cls, e):
        pkg = PACKAGES[cls.__name__]
        return "not installed: %s" % (("pip: " + missing[pkg]) if pkg in missing else "%s (%s)" % (pkg, e))

    data = make_data(a.rows)
    raw_cls, peer_classes = SIDES[a.backend]
    out = {"backend": a.backend, "rows": a.rows, "runs": a.runs, "python": platform.python_version()}
    try:
        raw = raw_cls(a.backend, a.url)
    except NotInstalled as e:
        msg = not_installed(raw_cls, e)
        out["raw"] = {"name": LABELS[raw_cls.__name__], "error": msg}
        out["peers"] = [{"name": LABELS[c.__name__], "error": msg} for c in peer_classes]
        json.dump(out, open(a.out, "w"), indent=2)
        print("peers %s: %s" % (a.backend, msg))
        return 0
    if a.backend == "postgresql":
        a.url = raw.url = pg_peers_db(a.url)
    raw.setup(a.rows)
    sides = [("raw", raw)]
    out["peers"] = []
    for cls in peer_classes:
        try:
            sides.append((cls.__name__, cls(a.backend, a.url)))
        except NotInstalled as e:
            out["peers"].append({"name": LABELS[cls.__name__], "error": not_installed(cls, e)})
        except Exception as e:  # a peer that cannot connect: said, not dropped
            out["peers"].append({"name": LABELS[cls.__name__], "error": "failed: " + short(e)})
    results = {key: {"name": side.name, "how": side.how} for key, side in sides}
    raw_total = None

    def best(key, side, work, fn):
        res = results[key]
        if isinstance(res.get(work), str):
            return
        try:
            t_best, spent, n = None, 0.0, 0
            # best of --runs, but a side whose runs took more than --budget
            # seconds in all stops there (multi-second runs vary little)
            while n < a.runs and (n == 0 or spent < a.budget):
                gc.collect()
                t0 = time.perf_counter()
                t = fn(side)
                spent += time.perf_counter() - t0
                n += 1
                t_best = t if t_best is None or t < t_best else t_best
            res[work] = round(t_best * 1e3, 2)
            res[work + "_runs"] = n
        except Exception as e:
            res[work] = "failed: " + short(e)
            traceback.print_exc()
        print("peers %-10s %-12s %-30s %s" % (a.backend, work, res["name"],
                                              "%.1f ms" % res[work] if not isinstance(res[work], str) else res[work]))
        sys.stdout.flush()

    # create: each side in turn, the table emptied before each run; the
    # last one (the raw driver's, as in make bench) stays for search_read
    def create(side):
        raw.clear()
        gc.collect()
        t = side.create(data)
        check(count_rec() == a.rows, "rows after create: %d, %d expected" % (count_rec(), a.rows))
        return t

    def count_rec():
        if a.backend == "mongodb":
            client, db = raw.connect()
            n = db.bench_rec.count_documents({})
            client.close()
            return n
        con = raw.connect()
        cur = con.cursor()
        cur.execute("SELECT count(*) FROM bench_rec")
        n = cur.fetchone()[0]
        con.close()
        return n

    for key, side in sides[1:] + sides[:1]:
        best(key, side, "create", create)

    def search_read(side):
        t, rows, get = side.search_read()
        check_rows(rows, get, a.rows, data)
        del rows
        return t

    for key, side in sides:
        best(key, side, "search_read", search_read)

    def m2o(side):
        nonlocal raw_total
        t, total = side.m2o_loop()
        if side is raw:
            raw_total = total
        check(total == raw_total, "total of the parent names' lengths: %s, the raw driver's %s" % (total, raw_total))
        return t

    for key, side in sides:
        best(key, side, "m2o_loop", m2o)
    for key, side in sides[1:]:
        try:
            side.close()
        except Exception:
            pass
    out["raw"] = results["raw"]
    out["peers"] = [results[key] for key, _ in sides[1:]] + out["peers"]
    with open(a.out, "w") as f:
        json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
