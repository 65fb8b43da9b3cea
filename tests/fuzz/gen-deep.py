#!/usr/bin/env python3
"""Inputs for the fuzz harnesses that are too large to commit or to write by hand.

    gen-deep.py deep TARGET DIR    the deep and long inputs of TARGET into DIR
                                   (run.sh calls this at every run)
    gen-deep.py seeds DIR          the binary seed corpora (domain_lua,
                                   engine_json, convert) into DIR/<target>/;
                                   their output is committed in corpus/

Deep inputs are far past libFuzzer's default input size: chains of 100,000
'&', '|' or '!', 50,000 nested arrays, 10,000 nested `any`, lists of
100,000 values. Each must be answered (a result or a clear error such as
EO_ELIMIT) within run.sh's time limit, on a thread stack as small as
256 KiB in a release build for the domain harnesses (512 KiB under ASan).

The byte code of domain_lua is described in fuzz_domain_lua.c; the input
layout of engine_json and convert in their files.
"""
import json
import os
import struct
import sys

N = 100_000

# ---- domain_lua byte code (fuzz_domain_lua.c) ------------------------------
OPEN, CLOSE, FIELD, OPER, LOGIC, INT, SMALL, FLOAT, BOOL, NULL, STR, LEAF, KEY, DUP, REPEAT, LIST = range(16)
FIELDS = ["name", "code", "notes", "qty", "ratio", "active", "day", "at", "state", "data",
          "price", "blob", "label", "parent_id", "child_ids", "tag_id", "tag_ids", "id",
          "parent_id.name", "parent_id.parent_id.qty", "child_ids.qty", "tag_ids.name",
          "tag_id.parent_id.name", "tag_ids.parent_id", "nosuch", "", "name.x", "qty.",
          ".name", "parent_id..name", "Name", "name\0x"]
OPERS = ["=", "!=", ">", ">=", "<", "<=", "in", "not in", "like", "ilike", "not like",
         "not ilike", "=like", "=ilike", "child_of", "parent_of", "any", "not any",
         "<>", "==", "LIKE", "not  in", "", "=?", "in "]
# canned values (push_canned): index of a few
V_ANN, V_EMPTY, V_ONE, V_ZERO, V_MINUS1, V_MAXINT, V_MININT, V_1_5, V_NAN, V_INF = range(10)
V_TRUE, V_FALSE, V_NULL, V_DATE, V_DATETIME, V_DECIMAL, V_DRAFT, V_PATTERN, V_OBJTEXT, V_OID = range(10, 20)
V_EMPTYTAB, V_LIST3, V_SUBDOMAIN, V_DICT, V_NUL, V_BADUTF8, V_NEGZERO, V_BIG = range(20, 28)


def f(name):
    return FIELDS.index(name)


def o(op):
    return OPERS.index(op)


def leaf(field, op, value):
    return bytes([LEAF, f(field), o(op), value])


def logic(c):
    return bytes([LOGIC, "&|!".index(c)])


def small(n):
    return bytes([SMALL, n + 8])


def int64(n):
    return bytes([INT]) + struct.pack("<q", n)


def string(s):
    b = s.encode() if isinstance(s, str) else s
    assert len(b) < 256
    return bytes([STR, len(b)]) + b


def tleaf(field, op, *values):
    """An open leaf table with explicit values: {field, op, v...}."""
    out = bytes([OPEN, FIELD, f(field), OPER, o(op)])
    for v in values:
        out += v
    return out + bytes([CLOSE])


def lua_input(*parts, oid=False):
    return bytes([1 if oid else 0]) + b"".join(parts)


# ---- engine_json input (fuzz_engine_json.c) --------------------------------
CREATE, SEARCH_READ, READ, WRITE, UNLINK, COUNT, SEARCH_NULL_OPTS, CREATE_FIND = range(8)
MODELS = {"fz.item": 0, "fz.tag": 3, "fz.nosuch": 5, None: 6, "": 7}


def engine(op, model="fz.item", *texts, null_first=False, null_second=False):
    sel = op | (8 if null_first else 0) | (MODELS[model] << 4) | (128 if null_second else 0)
    return bytes([sel]) + b"\0".join(t.encode() if isinstance(t, str) else t for t in texts)


# ---- convert input (fuzz_convert.c) ----------------------------------------
CONV_FIELDS = ["id", "c", "c3", "t", "sel", "i", "ir", "f", "fr", "b", "d", "dt", "j", "dec",
               "dec18", "dec18s", "dec1", "decr", "bin", "m2o", "o2m", "m2o_self", "m2m"]
K_NULL, K_BOOL, K_INT, K_FLOAT, K_TEXT, K_BLOB = range(6)


def conv(field, kind, payload=b"", checks=True):
    if isinstance(payload, str):
        payload = payload.encode()
    return bytes([CONV_FIELDS.index(field), kind | (0 if checks else 8)]) + payload


def conv_int(field, n, checks=True):
    return conv(field, K_INT, struct.pack("<q", n), checks)


def conv_float(field, x, checks=True):
    return conv(field, K_FLOAT, struct.pack("<d", x), checks)


# ---- deep inputs -------------------------------------------------------------


def jdump(x):
    return json.dumps(x, separators=(",", ":"))


def chain_json(op, n, leaf_of):
    """[op x (n-1), leaf_0 .. leaf_n-1] as text (json.dumps would recurse on nothing here)."""
    ops = ",".join([jdump(op)] * (n - 1))
    leaves = ",".join(jdump(leaf_of(i)) for i in range(n))
    return "[" + ops + ("," if ops else "") + leaves + "]"


def nested_arrays(n, inner=""):
    return "[" * n + inner + "]" * n


def nested_any_json(n):
    return ('[["parent_id","any",' * n) + '[["name","=","a"]]' + (']]' * n)


def alternating_json(n):
    parts = []
    for i in range(n - 1):
        parts.append(jdump("&|"[i % 2]))
        parts.append(jdump(["qty", "=", i % 1000]))
    parts.append(jdump(["qty", "=", 1]))
    return "[" + ",".join(parts) + "]"


def deep_domains_json():
    """The domain texts every JSON-reading harness gets."""
    return {
        "and-100k": chain_json("&", N, lambda i: ["name", "=", "v%d" % i]),
        "or-100k": chain_json("|", N, lambda i: ["qty", "=", i]),
        # 30,000 parameters: just under SQLite's 32,766, so it is compiled
        # and prepared, not refused
        "or-ranges-2-fields-30k": chain_json(
            "|", 30_000, lambda i: ["qty" if i % 2 else "ratio", ">" if i % 4 < 2 else "<", i]),
        "not-100k": "[" + ",".join(['"!"'] * N) + ',["name","=","a"]]',
        "alternating-and-or-100k": alternating_json(N),
        "implicit-and-100k": "[" + ",".join(jdump(["name", "!=", "v%d" % i]) for i in range(N)) + "]",
        "mixed-100k": "[" + ",".join(
            jdump(x) for i in range(N // 4)
            for x in ("|", ["qty", "=", i], "!", ["name", "like", "n%d" % i])) + "]",
        "in-100k": jdump([["id", "in", list(range(N))]]),
        "nested-arrays-50k": nested_arrays(50_000),
        "nested-value-50k": '[["data","=",' + nested_arrays(50_000, "1") + "]]",
        "nested-any-10k": nested_any_json(10_000),
        "dotted-path-10k": jdump([["parent_id." * 10_000 + "name", "=", "a"]]),
    }


def deep_domain_json():
    return {k + ".json": v.encode() for k, v in deep_domains_json().items()}


def deep_domain_lua():
    out = {}
    out["and-100k.bin"] = lua_input(logic("&") * (N - 1), leaf("name", "=", V_ANN) * N)
    out["or-100k.bin"] = lua_input(logic("|") * (N - 1),
                                   b"".join(tleaf("qty", "=", int64(i)) for i in range(N)))
    out["not-100k.bin"] = lua_input(logic("!") * N, leaf("name", "=", V_ANN))
    out["alternating-and-or-100k.bin"] = lua_input(
        b"".join(logic("&|"[i % 2]) + tleaf("qty", "=", int64(i)) for i in range(N - 1)),
        leaf("qty", "=", V_ONE))
    out["implicit-and-100k.bin"] = lua_input(
        b"".join(tleaf("name", "!=", string("v%d" % i)) for i in range(N)))
    out["in-100k.bin"] = lua_input(
        bytes([OPEN, FIELD, f("id"), OPER, o("in"), OPEN]), int64(0) * N, bytes([CLOSE, CLOSE]))
    # 50,000 tables nested as domain elements (refused: not a leaf), and as a value
    out["nested-tables-50k.bin"] = lua_input(bytes([OPEN]) * 50_000)
    out["nested-value-50k.bin"] = lua_input(bytes([OPEN, FIELD, f("data"), OPER, o("=")]),
                                            bytes([OPEN]) * 50_000)
    # {"parent_id", "any", {{"parent_id", "any", {... {"name", "=", "Ann"} ...}}}}
    out["nested-any-10k.bin"] = lua_input(
        bytes([OPEN, FIELD, f("parent_id"), OPER, o("any"), OPEN]) * 10_000,
        leaf("name", "=", V_ANN))
    return out


def deep_engine_json():
    out = {}
    for k, v in deep_domains_json().items():
        out["count-" + k + ".bin"] = engine(COUNT, "fz.item", v)
    out["search-read-or-100k.bin"] = engine(
        SEARCH_READ, "fz.item", deep_domains_json()["or-100k"], '{"fields":["name"],"limit":5}')
    out["create-nested-json-50k.bin"] = engine(
        CREATE, "fz.item", '{"name":"d","data":' + nested_arrays(50_000, "1") + "}")
    out["create-nested-object-50k.bin"] = engine(
        CREATE, "fz.item", '{"name":"d","data":' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}")
    out["create-10k-records.bin"] = engine(
        CREATE, "fz.item", jdump([{"name": "r%d" % i, "qty": i % 1000} for i in range(10_000)]))
    out["create-find-10k-records.bin"] = engine(
        CREATE_FIND, "fz.item", jdump([{"name": "r%d" % i} for i in range(10_000)]),
        '{"fields":["name"],"limit":3}')
    out["read-100k-ids.bin"] = engine(READ, "fz.item", jdump(list(range(1, N + 1))), '["name"]')
    out["write-100k-ids.bin"] = engine(WRITE, "fz.item", jdump(list(range(1, N + 1))), '{"qty":3}')
    out["unlink-100k-ids.bin"] = engine(UNLINK, "fz.item", jdump(list(range(1, N + 1))))
    out["create-1mb-text.bin"] = engine(CREATE, "fz.item", jdump({"name": "t", "notes": "x" * (1 << 20)}))
    return out


def deep_convert():
    mb = 1 << 20
    return {
        "char-size-1mb.bin": conv("c3", K_TEXT, "\u00e9" * (mb // 2)),
        "text-1mb.bin": conv("t", K_TEXT, "x" * mb),
        "json-1mb.bin": conv("j", K_TEXT, "[" * mb),
        "decimal-100k-digits.bin": conv("dec", K_TEXT, "9" * N),
        "datetime-1mb.bin": conv("dt", K_TEXT, "2024-01-01 00:00:00." + "9" * mb),
        "selection-1mb.bin": conv("sel", K_TEXT, "a" * mb),
        "integer-1mb.bin": conv("i", K_TEXT, "1" * mb),
        "float-1mb.bin": conv("f", K_TEXT, "1" * mb),
    }


DEEP = {
    "domain_json": deep_domain_json,
    "domain_lua": deep_domain_lua,
    "engine_json": deep_engine_json,
    "convert": deep_convert,
}

# ---- seed corpora ------------------------------------------------------------


def seeds_domain_lua():
    ok = {
        "empty": lua_input(),
        "eq": lua_input(leaf("name", "=", V_ANN)),
        "cmp": lua_input(*(tleaf("qty", op, small(i)) for i, op in enumerate(["=", "!=", ">", ">=", "<", "<="]))),
        "in": lua_input(tleaf("state", "in", bytes([LIST, 2, V_DRAFT, V_ANN])),
                        tleaf("qty", "not in", bytes([LIST, 3, V_ONE, V_ZERO, V_NULL]))),
        "in-scalar": lua_input(leaf("qty", "in", V_ONE)),
        "like": lua_input(leaf("name", "like", V_PATTERN), leaf("name", "ilike", V_ANN),
                          leaf("notes", "not like", V_ANN), leaf("notes", "not ilike", V_EMPTY),
                          leaf("code", "=like", V_PATTERN), leaf("code", "=ilike", V_ANN)),
        "hier": lua_input(leaf("id", "child_of", V_ONE), leaf("tag_id", "parent_of", V_LIST3)),
        "any": lua_input(leaf("parent_id", "any", V_SUBDOMAIN), leaf("tag_ids", "not any", V_SUBDOMAIN),
                         leaf("child_ids", "any", V_SUBDOMAIN), leaf("tag_id", "any", V_EMPTYTAB)),
        "dotted": lua_input(leaf("parent_id.name", "=", V_ANN), leaf("tag_ids.name", "in", V_LIST3),
                            leaf("child_ids.qty", "<", V_ONE), leaf("tag_id.parent_id.name", "!=", V_NULL)),
        "logic": lua_input(logic("|"), leaf("name", "=", V_ANN), logic("&"), leaf("qty", ">", V_ONE),
                           logic("!"), leaf("active", "=", V_TRUE)),
        "null": lua_input(leaf("day", "=", V_NULL), leaf("at", "!=", V_NULL), leaf("data", "=", V_NULL),
                          leaf("parent_id", "=", V_NULL)),
        "types": lua_input(leaf("ratio", ">", V_1_5), leaf("active", "=", V_FALSE),
                           leaf("day", ">=", V_DATE), leaf("at", "<", V_DATETIME),
                           leaf("price", "=", V_DECIMAL), leaf("data", "=", V_DICT),
                           leaf("state", "=", V_DRAFT), leaf("tag_id", "=", V_ONE),
                           leaf("qty", "=", V_MAXINT), leaf("ratio", "<", V_NEGZERO),
                           tleaf("qty", ">", int64(-5)), tleaf("ratio", "<=", bytes([FLOAT]) + struct.pack("<d", 2.5)),
                           tleaf("active", "=", bytes([BOOL, 1])), tleaf("name", "=", bytes([NULL])),
                           tleaf("name", "=", string("Zoë"))),
        "or-merge": lua_input(logic("|"), logic("|"), leaf("qty", "=", V_ONE), leaf("qty", "=", V_ZERO),
                              leaf("qty", "=", V_MINUS1)),
        "contradiction": lua_input(leaf("qty", "=", V_ONE), leaf("qty", "=", V_ZERO)),
        "in-empty": lua_input(leaf("qty", "in", V_EMPTYTAB)),
        "not-chain": lua_input(logic("!") * 3, leaf("name", "=", V_ANN)),
        "repeat-or": lua_input(bytes([REPEAT, 63, LOGIC, 1]), bytes([REPEAT, 64, LEAF, f("qty"), o("="), V_ONE])),
        "dup": lua_input(leaf("name", "=", V_ANN), bytes([DUP, DUP])),
        "oid": lua_input(leaf("parent_id", "=", V_OID), leaf("id", "in", V_LIST3), oid=True),
    }
    err = {
        "unbalanced": lua_input(logic("&"), leaf("name", "=", V_ANN)),
        "unknown-field": lua_input(leaf("nosuch", "=", V_ONE)),
        "unknown-op": lua_input(leaf("name", "LIKE", V_ANN)),
        "short-leaf": lua_input(bytes([OPEN, FIELD, f("name"), OPER, o("="), CLOSE])),
        "dict-key": lua_input(leaf("name", "=", V_ANN), bytes([KEY, 0])),
        "hole": lua_input(leaf("name", "=", V_ANN), bytes([KEY, 4])),
        "stray-string": lua_input(string("x"), leaf("name", "=", V_ANN)),
        "stray-number": lua_input(small(3)),
        "bad-type": lua_input(leaf("qty", "=", V_ANN)),
        "any-non-relational": lua_input(leaf("name", "any", V_SUBDOMAIN)),
        "any-not-table": lua_input(leaf("parent_id", "any", V_ONE)),
        "list-of-tables": lua_input(tleaf("qty", "in", bytes([OPEN, OPEN, CLOSE, CLOSE]))),
        "bad-path": lua_input(leaf("parent_id..name", "=", V_ANN)),
        "path-into-scalar": lua_input(leaf("name.x", "=", V_ANN)),
        "nan": lua_input(leaf("ratio", "=", V_NAN)),
    }
    return ok, err


def seeds_engine_json():
    ok = {
        "create": engine(CREATE, "fz.item", '{"name":"z","qty":5,"state":"done","price":3.5}'),
        "create-many": engine(CREATE, "fz.item",
                              '[{"name":"y","tag_ids":[[4,1,0]]},{"name":"x","parent_id":1,"data":[1,{"a":null}]}]'),
        "create-commands": engine(CREATE, "fz.item",
                                  '{"name":"w","tag_ids":[[0,0,{"name":"new"}],[6,0,[1,2]]],'
                                  '"child_ids":[[0,0,{"name":"kid"}]]}'),
        "create-types": engine(CREATE, "fz.item",
                               '{"name":"t","code":"T","notes":"long","qty":0,"ratio":-1e10,"active":true,'
                               '"day":"2000-02-29","at":"1999-12-31 23:59:59.999999","data":{"k":"v"},'
                               '"price":"-0.01","blob":"AAEC","tag_id":2}'),
        "search-read": engine(SEARCH_READ, "fz.item", '[["qty",">",0]]',
                              '{"fields":["name","qty","tag_ids","parent_id"],"order":"name desc","limit":2,"offset":0}'),
        "search-read-dotted": engine(SEARCH_READ, "fz.item", '[["parent_id.name","=","a"]]',
                                     '{"fields":["name","parent_id.name"]}'),
        "search-read-all": engine(SEARCH_READ, "fz.item", "[]", "{}"),
        "read": engine(READ, "fz.item", "[1,2]", '["name","tag_ids","child_ids","label"]'),
        "read-all-fields": engine(READ, "fz.item", "[1,2,3]"),
        "write": engine(WRITE, "fz.item", "[1]", '{"qty":7,"tag_ids":[[5,0,0]],"data":null}'),
        "write-many": engine(WRITE, "fz.item", "[1,2,3]", '{"active":false,"notes":"n"}'),
        "unlink": engine(UNLINK, "fz.item", "[3]"),
        "unlink-parent": engine(UNLINK, "fz.item", "[1]"),
        "count": engine(COUNT, "fz.item", '["|",["name","=","a"],["parent_id.name","=","a"]]'),
        "count-hier": engine(COUNT, "fz.tag", '[["id","child_of",1]]'),
        "count-parent-of": engine(COUNT, "fz.tag", '[["id","parent_of",[3]]]'),
        "count-null-domain": engine(COUNT, "fz.item", null_first=True),
        "search-null-opts": engine(SEARCH_NULL_OPTS, "fz.item", '[["tag_ids.name","=","red"]]'),
        "search-any": engine(SEARCH_NULL_OPTS, "fz.item", '[["child_ids","any",[["qty",">",1]]]]'),
        "create-find": engine(CREATE_FIND, "fz.item", '[{"name":"n1"},{"name":"n2"}]', '{"fields":["name"]}'),
        "tags": engine(SEARCH_READ, "fz.tag", '[["parent_id","!=",null]]', '{"fields":["name","parent_id"]}'),
    }
    err = {
        "unknown-model": engine(SEARCH_READ, "fz.nosuch", "[]"),
        "bad-json": engine(CREATE, "fz.item", '{"name":'),
        "validate-range": engine(CREATE, "fz.item", '{"qty":5000,"name":"a"}'),
        "required": engine(CREATE, "fz.item", '{"qty":1}'),
        "unknown-field": engine(CREATE, "fz.item", '{"name":"a","nosuch":1}'),
        "bad-selection": engine(CREATE, "fz.item", '{"name":"a","state":"gone"}'),
        "unique": engine(CREATE, "fz.item", '{"name":"a","code":"A"}'),
        "missing-parent": engine(CREATE, "fz.item", '{"name":"a","parent_id":999}'),
        "bad-domain": engine(COUNT, "fz.item", '[["qty","LIKE",1]]'),
        "unbalanced": engine(SEARCH_READ, "fz.item", '["&",["qty","=",1]]', "{}"),
        "bad-ids": engine(READ, "fz.item", '["x"]'),
        "bad-fields": engine(READ, "fz.item", "[1]", '["nosuch"]'),
        "write-null-ids": engine(WRITE, "fz.item", "", '{"qty":1}', null_first=True),
        "write-bad-value": engine(WRITE, "fz.item", "[1]", '{"day":"2024-13-01"}'),
        "size": engine(CREATE, "fz.item", jdump({"name": "x" * 33})),
        "null-model": engine(SEARCH_READ, None, "[]"),
        "empty-model": engine(COUNT, "", "[]"),
        "write-null-values": engine(WRITE, "fz.item", "[1]", null_second=True),
    }
    return ok, err


def seeds_convert():
    ok = {
        "char": conv("c", K_TEXT, "hello"),
        "char-from-int": conv_int("c", -42),
        "char-from-float": conv_float("c", 0.1),
        "char3-utf8": conv("c3", K_TEXT, "\u00e9t\u00e9"),
        "text": conv("t", K_TEXT, "line\nline"),
        "selection": conv("sel", K_TEXT, "b"),
        "selection-empty": conv("sel", K_TEXT, ""),
        "int": conv_int("i", 1 << 62),
        "int-from-text": conv("i", K_TEXT, "-9223372036854775808"),
        "int-from-float": conv_float("i", 3.0),
        "int-range": conv_int("ir", -5),
        "float": conv_float("f", 1.5e300),
        "float-from-text": conv("f", K_TEXT, "2.5"),
        "float-range": conv_float("fr", 0.5),
        "bool": conv("b", K_BOOL, b"\1"),
        "bool-from-int": conv_int("b", 0),
        "date": conv("d", K_TEXT, "2024-02-29"),
        "datetime": conv("dt", K_TEXT, "2024-02-29 23:59:59"),
        "datetime-fraction": conv("dt", K_TEXT, "2024-02-29 23:59:59.5"),
        "datetime-iso": conv("dt", K_TEXT, "2024-02-29T23:59:59Z"),
        "datetime-epoch": conv_int("dt", 1700000000),
        "datetime-epoch-float": conv_float("dt", -1.25),
        "json": conv("j", K_TEXT, '{"a":[1,2]}'),
        "json-from-bool": conv("j", K_BOOL, b"\0"),
        "decimal": conv("dec", K_TEXT, "1234567890.12"),
        "decimal-round": conv("dec", K_TEXT, "0.005"),
        "decimal-from-float": conv_float("dec", 12.5),
        "decimal-from-int": conv_int("dec", -7),
        "decimal18": conv("dec18", K_TEXT, "999999999999999999"),
        "decimal18s": conv("dec18s", K_TEXT, "0.123456789012345678"),
        "decimal1": conv("dec1", K_TEXT, "9"),
        "decimal-range": conv("decr", K_TEXT, "-1.0000"),
        "binary": conv("bin", K_BLOB, b"\0\1\2"),
        "binary-from-text": conv("bin", K_TEXT, "abc"),
        "m2o-int": conv_int("m2o", 5),
        "m2o-oid": conv("m2o", K_TEXT, "0123456789abcdef01234567"),
        "null": conv("c", K_NULL),
        "no-checks-range": conv_int("ir", -6, checks=False),
        "no-checks-size": conv("c3", K_TEXT, "abcd", checks=False),
    }
    err = {
        "char-from-bool": conv("c", K_BOOL, b"\1"),
        "char3-long": conv("c3", K_TEXT, "abcd"),
        "selection-bad": conv("sel", K_TEXT, "c"),
        "int-bad-text": conv("i", K_TEXT, "12x"),
        "int-overflow-text": conv("i", K_TEXT, "9223372036854775808"),
        "int-fraction": conv_float("i", 1.5),
        "int-range": conv_int("ir", -6),
        "float-nan": conv_float("f", float("nan")),
        "float-inf": conv_float("f", float("inf")),
        "float-range": conv_float("fr", 0.25),
        "bool-2": conv_int("b", 2),
        "date-bad": conv("d", K_TEXT, "2023-02-29"),
        "date-short": conv("d", K_TEXT, "2024-1-1"),
        "datetime-bad": conv("dt", K_TEXT, "2024-02-29 24:00:00"),
        "datetime-huge": conv_float("dt", 1e300),
        "json-blob": conv("j", K_BLOB, b"{}"),
        "decimal-digits": conv("dec", K_TEXT, "12345678901.5"),
        "decimal-bad": conv("dec", K_TEXT, "1e5"),
        "decimal1-round-up": conv("dec1", K_TEXT, "9.5"),
        "decimal-range": conv("decr", K_TEXT, "1.0001"),
        "binary-int": conv_int("bin", 1),
        "m2o-float": conv_float("m2o", 1.5),
        "o2m": conv_int("o2m", 1),
        "m2m": conv_int("m2m", 1),
    }
    return ok, err


SEEDS = {
    "domain_lua": (seeds_domain_lua, ".bin"),
    "engine_json": (seeds_engine_json, ".bin"),
    "convert": (seeds_convert, ".bin"),
}


def write(path, data):
    with open(path, "wb") as fh:
        fh.write(data)


def main(argv):
    if len(argv) == 4 and argv[1] == "deep" and argv[2] in DEEP:
        os.makedirs(argv[3], exist_ok=True)
        for name, data in DEEP[argv[2]]().items():
            write(os.path.join(argv[3], name), data)
        return 0
    if len(argv) == 3 and argv[1] == "seeds":
        for target, (fn, ext) in SEEDS.items():
            d = os.path.join(argv[2], target)
            os.makedirs(d, exist_ok=True)
            ok, err = fn()
            for name, data in ok.items():
                write(os.path.join(d, "ok-" + name + ext), data)
            for name, data in err.items():
                write(os.path.join(d, "err-" + name + ext), data)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
