#!/usr/bin/env python3
"""The pymongo half of the MongoDB interop test (see mongo_interop.sh).

An independent client reads the documents EarnORM wrote and checks their
BSON types and values exactly, and writes documents EarnORM must read.

Usage: mongo_interop.py STEP URL STATE
  url      print the URL of the test's own database (<db>_interop) and exit
  reset    drop the test's collections
  check    check the raw documents EarnORM wrote (step 1)
  insert   insert documents for EarnORM to read (step 2); appends their ids to STATE
  updates  check EarnORM's writes on pymongo documents (step 2)

STATE holds lines "item|partner NAME HEX" shared with mongo_interop.lua.
Prints TAP lines without numbers ("ok - name"); the shell numbers them.
"""
import datetime
import json
import sys

import pymongo
from bson import Binary, Decimal128, ObjectId
from bson.int64 import Int64

ITEMS = "interop_item"  # model interop.item: '.' becomes '_'
PARTNERS = "interop_partner"

# Every field of interop.item but name (see mongo_interop.lua).
FIELDS = ["note", "code", "qty", "big", "ratio", "flag", "day", "at", "kind", "data",
          "price", "blob", "partner_id"]

failures = 0


def ok(cond, name, diag=None):
    global failures
    if cond:
        print("ok - " + name)
    else:
        failures += 1
        print("not ok - " + name)
        if diag is not None:
            for line in str(diag).splitlines():
                print("#   " + line)
    sys.stdout.flush()
    return cond


def kind_of(v):
    """A type category that keeps bool, int and float apart."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, dict):
        return "dict"
    if isinstance(v, list):
        return "list"
    return type(v).__name__


def same(a, b):
    """Strict structural equality: 1 != 1.0 != True."""
    if kind_of(a) != kind_of(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def show(v):
    return "%s %r" % (type(v).__name__, v)


def expect(doc, label, field, want, strict_type=None):
    """doc[field] is want, with the exact Python type (Int64, bytes, ...)."""
    if doc is None:
        return ok(False, "%s: %s (document missing)" % (label, field))
    got = doc.get(field, "<missing>")
    good = same(got, want)
    if good and strict_type is not None:
        good = type(got) is strict_type
    return ok(good, "%s: %s is %s" % (label, field, show(want)),
              "got:      %s\nexpected: %s" % (show(got), show(want)))


def expect_unset(doc, label, field):
    if doc is None:
        return ok(False, "%s: %s unset (document missing)" % (label, field))
    return ok(doc.get(field) is None, "%s: %s is missing or null" % (label, field),
              "got: %s" % show(doc.get(field)))


def expect_json_text(doc, label, field, want):
    """A Json value stored whole as {"__json__": "<json text>"}."""
    got = doc.get(field, "<missing>") if doc else "<missing>"
    good = isinstance(got, dict) and list(got.keys()) == ["__json__"] \
        and isinstance(got["__json__"], str)
    decoded = None
    if good:
        try:
            decoded = json.loads(got["__json__"])
        except ValueError:
            good = False
    good = good and same(decoded, want)
    return ok(good, "%s: %s is {\"__json__\": <text of %s>}" % (label, field, json.dumps(want)),
              "got: %s" % show(got))


def read_state(path):
    ids = {}
    try:
        with open(path) as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 3:
                    ids[(parts[0], parts[1])] = parts[2]
    except OSError:
        pass
    return ids


def decimal_value(ferret, scaled, text):
    """How a Decimal(12, 2) is stored: Int64 scaled by 100 on FerretDB, else Decimal128."""
    return Int64(scaled) if ferret else Decimal128(text)


def dedicated_url(url):
    """The same server, database <db>_interop (so other tests' data is never touched)."""
    base, q, query = url.partition("?")
    scheme, sep, rest = base.partition("://")
    hosts, slash, db = rest.partition("/")
    db = (db or "earnorm") + "_interop"
    return "%s%s%s/%s%s%s" % (scheme, sep, hosts, db, q, query)


def step_check(db, ferret, ids):
    items, partners = db[ITEMS], db[PARTNERS]
    acme = partners.find_one({"name": "Acme"})
    ok(acme is not None and isinstance(acme["_id"], ObjectId),
       "EarnORM partner 'Acme' is in collection interop_partner with an ObjectId _id",
       "got: %r" % (acme,))
    acme_id = ids.get(("partner", "Acme"))
    ok(acme is not None and acme_id is not None and str(acme["_id"]) == acme_id,
       "Acme's _id is the 24-hex id EarnORM gave", "EarnORM: %s, pymongo: %r" % (acme_id, acme))

    names = sorted(d["name"] for d in items.find({}, {"name": 1}))
    want = sorted(["eo-full", "eo-false", "eo-empty", "eo-null", "eo-dotted", "eo-scalar",
                   "eo-inject"])
    ok(names == want, "interop_item holds exactly the %d records EarnORM created" % len(want),
       "got: %r" % names)

    def doc(name):
        d = items.find_one({"name": name})
        hexid = ids.get(("item", name))
        ok(d is not None and isinstance(d["_id"], ObjectId) and str(d["_id"]) == hexid,
           "%s: _id is an ObjectId equal to EarnORM's id" % name,
           "EarnORM: %s, pymongo: %r" % (hexid, d and d.get("_id")))
        return d

    d = doc("eo-full")
    L = "EarnORM -> pymongo eo-full"
    expect(d, L, "name", "eo-full")
    expect(d, L, "note", "Text with \u00fcn\u00efc\u00f6d\u00e9 \u2713\nand a second line")
    expect(d, L, "code", "C-1")
    ok(d is not None and type(d.get("qty")) in (int, Int64) and d.get("qty") == 42,
       "%s: qty is an integer 42 (int32/int64)" % L, "got: %s" % show(d and d.get("qty")))
    expect(d, L, "big", Int64(9007199254740993), Int64)
    expect(d, L, "ratio", 0.1, float)
    expect(d, L, "flag", True, bool)
    expect(d, L, "day", datetime.datetime(2024, 2, 29), datetime.datetime)
    expect(d, L, "at", datetime.datetime(2024, 3, 10, 13, 45, 30), datetime.datetime)
    expect(d, L, "kind", "open", str)
    expect(d, L, "data", {"tier": "gold", "seats": 12, "ratio": 0.5, "ok": True,
                          "tags": ["a", "b", "c"],
                          "nested": {"deep": {"list": [1, {"x": "y"}]}}}, dict)
    expect(d, L, "price", decimal_value(ferret, 1234, "12.34"),
           Int64 if ferret else Decimal128)
    expect(d, L, "blob", b"\x00\x01\xff\x80bin\x00", bytes)
    ok(d is not None and isinstance(d.get("partner_id"), ObjectId) and acme is not None
       and d["partner_id"] == acme["_id"],
       "%s: partner_id is the ObjectId of Acme" % L,
       "got: %s, Acme: %r" % (show(d and d.get("partner_id")), acme and acme["_id"]))

    d = doc("eo-false")
    L = "EarnORM -> pymongo eo-false"
    expect(d, L, "flag", False, bool)
    ok(d is not None and type(d.get("qty")) in (int, Int64) and d.get("qty") == 0,
       "%s: qty is an integer 0 (not null)" % L, "got: %s" % show(d and d.get("qty")))
    expect(d, L, "big", Int64(-9223372036854775808), Int64)
    expect(d, L, "ratio", -2.5, float)
    expect(d, L, "day", datetime.datetime(1969, 12, 31), datetime.datetime)
    expect(d, L, "at", datetime.datetime(2024, 3, 10, 13, 45, 30, 250000), datetime.datetime)
    expect(d, L, "kind", "draft", str)
    expect(d, L, "data", [10, 20, 30], list)
    expect(d, L, "price", decimal_value(ferret, -50, "-0.50"), Int64 if ferret else Decimal128)
    expect(d, L, "blob", b"", bytes)
    expect(d, L, "note", "", str)

    for name in ("eo-empty", "eo-null"):
        d = doc(name)
        for field in FIELDS:
            expect_unset(d, "EarnORM -> pymongo %s" % name, field)

    d = doc("eo-dotted")
    L = "EarnORM -> pymongo eo-dotted"
    expect_json_text(d, L, "data", {"a.b": 1, "plain": {"x.y": "z"}})
    expect(d, L, "big", Int64(9223372036854775807), Int64)

    d = doc("eo-scalar")
    L = "EarnORM -> pymongo eo-scalar"
    expect(d, L, "data", "just text", str)

    d = doc("eo-inject")
    L = "injection: pymongo eo-inject"
    expect(d, L, "code", "$gt", str)
    expect(d, L, "note", '{"$ne": null}', str)
    expect_json_text(d, L, "data", {"$gt": ""})
    n = items.count_documents({"code": {"$type": "string"}})
    ok(n == 2, "injection: only eo-full and eo-inject have a code, stored as strings",
       "count: %d" % n)


def step_insert(db, ferret, state):
    items, partners = db[ITEMS], db[PARTNERS]
    acme = partners.find_one({"name": "Acme"})
    if not ok(acme is not None, "pymongo finds EarnORM's partner Acme to reference"):
        return
    pyp = partners.insert_one({"name": "PyPartner"}).inserted_id
    docs = [
        {"name": "py-full",
         "note": "pymongo \u2713 text\twith tab",
         "code": "PY",
         "qty": 7,                                     # int32
         "big": Int64(4611686018427387905),            # 2^62 + 1
         "ratio": 3.25,
         "flag": True,
         "day": datetime.datetime(2023, 12, 31),
         "at": datetime.datetime(2023, 12, 31, 23, 59, 58, 123000),
         "kind": "done",
         "data": {"k": [1, {"z": "deep"}], "s": "t", "n": 2.5, "b": False},
         "price": decimal_value(ferret, 4321, "43.21"),
         "blob": Binary(b"\x00\xffpy\x80\x00"),
         "partner_id": acme["_id"]},
        {"name": "py-sparse",                          # the rest is missing
         "kind": "open",
         "note": None, "flag": None, "partner_id": None},
        {"name": "py-array",
         "data": [1, "two", {"three": 3}],
         "ratio": 7,                                   # an int32 in a Float field
         "qty": Int64(5),
         "price": 150 if ferret else Decimal128("1.50"),  # an int32 scaled decimal
         "day": datetime.datetime(2024, 2, 29),
         "kind": "draft"},
        {"name": "py-dotted",
         "data": {"__json__": json.dumps({"a.b": 2, "$gt": ""})}},
    ]
    res = items.insert_many(docs)
    ok(len(res.inserted_ids) == len(docs),
       "pymongo inserts %d items and 1 partner" % len(docs))
    with open(state, "a") as fh:
        fh.write("partner PyPartner %s\n" % pyp)
        for d, oid in zip(docs, res.inserted_ids):
            fh.write("item %s %s\n" % (d["name"], oid))


def step_updates(db, ferret, ids):
    items, partners = db[ITEMS], db[PARTNERS]
    acme = partners.find_one({"name": "Acme"})
    pyp = partners.find_one({"name": "PyPartner"})
    d = items.find_one({"name": "py-full"})
    L = "EarnORM write -> pymongo py-full"
    ok(d is not None and type(d.get("qty")) in (int, Int64) and d.get("qty") == 8,
       "%s: qty is an integer 8" % L, "got: %s" % show(d and d.get("qty")))
    expect(d, L, "note", "edited by earnorm", str)
    expect(d, L, "day", datetime.datetime(2024, 1, 1), datetime.datetime)
    expect(d, L, "price", decimal_value(ferret, 9999, "99.99"), Int64 if ferret else Decimal128)
    expect(d, L, "data", {"edited": True, "list": [1, 2]}, dict)
    expect(d, L, "flag", False, bool)
    ok(d is not None and "code" not in d, "%s: code cleared with orm.null is removed" % L,
       "got: %s" % show(d and d.get("code", "<missing>")))
    # untouched fields keep their value and BSON type
    expect(d, L + " (untouched)", "at", datetime.datetime(2023, 12, 31, 23, 59, 58, 123000),
           datetime.datetime)
    expect(d, L + " (untouched)", "big", Int64(4611686018427387905), Int64)
    expect(d, L + " (untouched)", "ratio", 3.25, float)
    expect(d, L + " (untouched)", "blob", b"\x00\xffpy\x80\x00", bytes)
    expect(d, L + " (untouched)", "kind", "done", str)
    ok(d is not None and acme is not None and d.get("partner_id") == acme["_id"],
       "%s (untouched): partner_id is still Acme's ObjectId" % L,
       "got: %s" % show(d and d.get("partner_id")))

    d = items.find_one({"name": "py-sparse"})
    L = "EarnORM write -> pymongo py-sparse"
    ok(d is not None and pyp is not None and isinstance(d.get("partner_id"), ObjectId)
       and d["partner_id"] == pyp["_id"],
       "%s: partner_id is the ObjectId of the pymongo partner" % L,
       "got: %s" % show(d and d.get("partner_id")))
    ok(d is not None and "note" in d and d["note"] is None and "qty" not in d,
       "%s (untouched): explicit null stays null, missing stays missing" % L,
       "got: %r" % (d,))

    d = items.find_one({"name": "eo-ref"})
    hexid = ids.get(("item", "eo-ref"))
    ok(d is not None and str(d["_id"]) == hexid,
       "EarnORM eo-ref (pointing at a pymongo partner) is stored with its id",
       "EarnORM: %s, pymongo: %r" % (hexid, d))
    ok(d is not None and pyp is not None and isinstance(d.get("partner_id"), ObjectId)
       and d["partner_id"] == pyp["_id"],
       "EarnORM eo-ref: partner_id is the ObjectId of the pymongo partner",
       "got: %s" % show(d and d.get("partner_id")))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    step, url = sys.argv[1], sys.argv[2]
    if step == "url":
        print(dedicated_url(url))
        return 0
    state = sys.argv[3] if len(sys.argv) > 3 else None
    client = pymongo.MongoClient(url, serverSelectionTimeoutMS=20000,
                                 socketTimeoutMS=120000)
    db = client.get_default_database()
    ferret = "ferretdbVersion" in db.command("buildInfo")
    if step == "reset":
        for c in (ITEMS, PARTNERS):
            db.drop_collection(c)
        left = [c for c in db.list_collection_names() if c in (ITEMS, PARTNERS)]
        ok(not left, "pymongo drops the test collections of database %s (%s)"
           % (db.name, "FerretDB" if ferret else "MongoDB"), "left: %r" % left)
    elif step == "check":
        step_check(db, ferret, read_state(state))
    elif step == "insert":
        step_insert(db, ferret, state)
    elif step == "updates":
        step_updates(db, ferret, read_state(state))
    else:
        sys.exit("unknown step " + step)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
