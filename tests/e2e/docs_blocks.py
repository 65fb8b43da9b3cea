#!/usr/bin/env python3
"""Run every fenced code block of README.md and docs/*.md as written (TAP).

Usage: docs_blocks.py SRC_DIR EARNORM_BIN LIBEARNORM_SO [--sanitize] [FILE.md ...]

One TAP line per block: "ok 3 - README.md:35 lua (model res_partner.lua)".
Without FILE arguments it runs README.md and docs/*.md, then a self-check:
every block of tests/fixtures/docs/pass.md must pass and every block of
tests/fixtures/docs/fail.md must fail, so a runner that stopped failing
would show.

How a block runs, by its language:
  lua            `earnorm block.lua` in the block's directory (SQLite, the
                 embedded default: earnorm.db there)
  c              compiled with -Wall -Wextra -Werror -Wpedantic against the
                 headers and libearnorm of this build, then run
  sh bash shell  `bash -e -o pipefail block.sh`, with this build's earnorm
                 first on PATH
  console        each `$ command` is run; the lines under it must appear in
                 its output (see "output" for how lines are compared)
  json           must parse
  other (none, text, ...) needs a marker saying what it is (output, paths, skip)

Each block runs in a fresh directory, standard input /dev/null, with none of
the EARNORM_* variables of the caller (except the test services' URLs).

Markers are HTML comments on the lines just before the opening fence (blank
lines between are allowed; several markers stack), invisible on GitHub:
  <!-- docs-test: model NAME.lua -->   a model file: written as models/NAME.lua
                  and loaded by `earnorm -e ''` (which loads ./models)
  <!-- docs-test: file NAME -->        written as NAME (lua: run as `earnorm NAME`)
  <!-- docs-test: continues -->        run in the directory of the previous
                  block of the document (its models/, files and databases)
  <!-- docs-test: backend postgresql -->  (or mongodb) against the test server
                  ($EARNORM_TEST_PG_URL / $EARNORM_TEST_MONGO_URL, a fresh
                  database of it): every URL of that scheme in the block is
                  replaced by it, and it is EARNORM_DATABASE_URL. A missing
                  service fails the block, never skips it.
  <!-- docs-test: expect-error CODE -->  the block must fail, printing CODE
                  (e.g. EINVAL)
  <!-- docs-test: output [COMMAND] -->  the block is what COMMAND (bash, in
                  the block's directory) prints, or without COMMAND what the
                  previous block printed: each of its lines must appear in
                  that output, any number standing for any number
  <!-- docs-test: paths -->            a tree of the repository (paths, then
                  after two blanks a description): every path it names
                  exists, at the root or under a directory named earlier
  <!-- docs-test: skip REASON -->      not run: "ok N - ... # SKIP REASON"

Environment: DOCS_BLOCK_TIMEOUT (seconds per block, default 120),
DOCS_KEEP=1 keeps the work directories (./docs-blocks-work).
"""
import difflib
import glob
import json
import os
import re
import shutil
import subprocess
import sys

MARKERS = ("model", "file", "continues", "backend", "expect-error", "output", "paths", "skip")
BACKENDS = {
    "postgresql": ("EARNORM_TEST_PG_URL", r"postgres(?:ql)?://[^\s\"'`)]+"),
    "mongodb": ("EARNORM_TEST_MONGO_URL", r"mongodb://[^\s\"'`)]+"),
}
# An opening fence: ``` or ~~~ (or longer), then the language (the first
# word of the info string).
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
TIMEOUT = int(os.environ.get("DOCS_BLOCK_TIMEOUT", "120"))


class Block:
    def __init__(self, doc, line, lang, text, markers, problems):
        self.doc, self.line, self.lang, self.text = doc, line, lang, text
        self.markers = markers  # list of (key, arg)
        self.problems = problems  # marker errors found while parsing

    def marker(self, key):
        for k, arg in self.markers:
            if k == key:
                return arg
        return None

    def has(self, key):
        return any(k == key for k, _ in self.markers)

    def name(self, rel):
        desc = "%s:%d %s" % (rel, self.line, self.lang or "(no language)")
        shown = ["%s %s" % (k, a if len(a) <= 40 else a[:37] + "...") if a else k
                 for k, a in self.markers if k != "skip"]
        return desc + (" (%s)" % ", ".join(shown) if shown else "")


def parse(path):
    """The fenced blocks of a Markdown file, with their markers. A marker
    that precedes no block is returned as a block of language None with a
    problem, so it fails rather than being ignored."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, pending, i = [], [], 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        f = FENCE.match(lines[i])
        if m:
            pending.append((i + 1, m.group(1)))
        elif f:
            indent, fence, lang, start = f.group(1), f.group(2), f.group(3).lower(), i + 1
            closing = re.compile(r"^\s*%s%s*\s*$" % (re.escape(fence), re.escape(fence[0])))
            body = []
            i += 1
            while i < len(lines) and not closing.match(lines[i]):
                body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            markers, problems = [], []
            if i >= len(lines):
                problems.append("the block is not closed")
            for mline, spec in pending:
                key, _, arg = spec.partition(" ")
                arg = arg.strip()
                if key not in MARKERS:
                    near = difflib.get_close_matches(key, MARKERS, 1)
                    problems.append("line %d: unknown marker '%s'%s (known: %s)" % (
                        mline, key, " (did you mean '%s'?)" % near[0] if near else "", ", ".join(MARKERS)))
                elif key in ("model", "file", "backend", "expect-error", "skip") and not arg:
                    problems.append("line %d: marker '%s' needs an argument" % (mline, key))
                elif key == "backend" and arg not in BACKENDS:
                    problems.append("line %d: unknown backend '%s' (known: %s)" % (mline, arg, ", ".join(BACKENDS)))
                elif key in ("continues", "paths") and arg:
                    problems.append("line %d: marker '%s' takes no argument (got '%s')" % (mline, key, arg))
                elif key != "backend" and any(k == key for k, _ in markers):
                    problems.append("line %d: marker '%s' given twice" % (mline, key))
                else:
                    markers.append((key, arg))
            keys = [k for k, _ in markers]
            if "model" in keys and "file" in keys:
                problems.append("markers 'model' and 'file' both name the block's file: keep one")
            if "model" in keys and lang != "lua":
                problems.append("marker 'model' is for lua blocks (this one is '%s')" % (lang or "no language"))
            blocks.append(Block(path, start, lang, "\n".join(body) + "\n", markers, problems))
            pending = []
        elif lines[i].strip() and pending:
            for mline, spec in pending:
                blocks.append(Block(path, mline, None, "", [], ["marker '%s' is not followed by a code block" % spec]))
            pending = []
        i += 1
    for mline, spec in pending:
        blocks.append(Block(path, mline, None, "", [], ["marker '%s' is not followed by a code block" % spec]))
    return blocks


def line_regex(line):
    """An expected output line as a regex: any number matches any number,
    any run of blanks any run of blanks."""
    words = []
    for word in line.split():
        parts = re.split(r"(\d+(?:\.\d+)*)", word)
        words.append("".join(r"\d+(?:\.\d+)*" if k % 2 else re.escape(p) for k, p in enumerate(parts)))
    return r"\s+".join(words)


def missing_lines(expected, output):
    return [l for l in expected.split("\n") if l.strip() and not re.search(line_regex(l), output)]


class Runner:
    def __init__(self, src, earnorm, lib, sanitize):
        self.src, self.earnorm, self.lib, self.sanitize = src, earnorm, lib, sanitize
        self.n = 0
        self.failed = 0
        self.work = os.path.abspath("docs-blocks-work")
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.bindir = os.path.join(self.work, "bin")
        os.makedirs(self.bindir)
        os.symlink(earnorm, os.path.join(self.bindir, "earnorm"))
        self.databases = []  # (backend, admin url, name) to drop at the end
        self.serial = 0

    # ---- TAP
    def tap(self, ok, desc, msg=None, out=None, skip=None):
        """One TAP line; when it fails, the reason and the end of the
        block's output as comments."""
        self.n += 1
        if not ok:
            self.failed += 1
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, desc, " # SKIP " + skip if skip else ""))
        if not ok:
            lines = (msg or "").rstrip("\n").split("\n")
            if out:
                tail = out.rstrip("\n").split("\n")
                lines += (["..."] if len(tail) > 40 else []) + tail[-40:]
            for l in lines:
                print("# " + l)
        sys.stdout.flush()

    # ---- environment of a block
    def env(self, db_url):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("EARNORM_") or k.startswith("EARNORM_TEST_")}
        e["PATH"] = self.bindir + os.pathsep + e.get("PATH", "")
        e["EARNORM_SOURCE_DIR"] = self.src
        e["MONGOC_DISABLE_SHM"] = "1"
        if db_url:
            e["EARNORM_DATABASE_URL"] = db_url
        return e

    def run(self, argv, cwd, env, shell=False):
        try:
            p = subprocess.run(argv, cwd=cwd, env=env, shell=shell, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
            return p.returncode, p.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace")
            return 124, out + "\n(timed out after %d s)" % TIMEOUT

    # ---- test services: one fresh database per chain of blocks
    def fresh_database(self, backend):
        var, _ = BACKENDS[backend]
        url = os.environ.get(var, "")
        if not url:
            return None, "%s is not set: start the test services (scripts/services.sh start) or run make test" % var
        self.serial += 1
        name = "earnorm_docs_%d_%d" % (os.getpid(), self.serial)
        m = re.match(r"^([^?]*/)([^/?]*)(\?.*)?$", url)
        if not m:
            return None, "%s=%s has no database name to replace" % (var, url)
        new = m.group(1) + name + (m.group(3) or "")
        if backend == "postgresql":
            rc, out = self.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", 'CREATE DATABASE "%s"' % name],
                               self.work, None)
            if rc != 0:
                return None, "creating database %s on %s failed: %s" % (name, url, out)
        self.databases.append((backend, url, name))
        return new, None

    def drop_databases(self):
        for backend, url, name in self.databases:
            if backend == "postgresql":
                self.run(["psql", url, "-qc", 'DROP DATABASE IF EXISTS "%s"' % name], self.work, None)
            else:
                code = "import pymongo,sys; pymongo.MongoClient(sys.argv[1]).drop_database(sys.argv[2])"
                self.run([sys.executable, "-c", code, url, name], self.work, None)

    # ---- one block; returns (ok, message, output)
    def run_block(self, b, state, chain):
        if b.problems:
            return False, "\n".join(b.problems), ""
        if b.has("continues"):
            if chain is None:
                return False, "'continues': no block before it in this document", ""
            d, dbs = chain["dir"], chain["dbs"]
        else:
            d = os.path.join(self.work, "%s-%d" % (re.sub(r"[^\w]+", "_", state["rel"]), b.line))
            os.makedirs(d, exist_ok=True)
            dbs = {}
        state["chain"] = {"dir": d, "dbs": dbs, "output": None}
        text = b.text
        db_url = None
        for key, arg in b.markers:
            if key != "backend":
                continue
            if arg not in dbs:
                url, err = self.fresh_database(arg)
                if err:
                    return False, err, ""
                dbs[arg] = url
            text = re.sub(BACKENDS[arg][1], lambda _m, u=dbs[arg]: u, text)
            db_url = db_url or dbs[arg]
        env = self.env(db_url)

        lang = b.lang or ""
        if b.has("output"):
            cmd = b.marker("output")
            if cmd:
                rc, out = self.run(cmd, d, env, shell=True)
                if rc != 0:
                    return False, "`%s` exited %d" % (cmd, rc), out
            else:
                out = chain and chain.get("output")
                if out is None:
                    return False, "'output' without a command: the previous block printed nothing to compare", ""
            miss = missing_lines(text, out)
            if miss:
                return False, "not in the output:\n" + "\n".join(miss) + "\n-- the output was:", out
            return True, "", out
        if b.has("paths"):
            miss = self.missing_paths(text)
            return (not miss), "no such file or directory in the repository: " + ", ".join(miss), ""

        if lang == "lua":
            if b.marker("model"):
                write(os.path.join(d, "models", b.marker("model")), text)
                argv = [self.earnorm, "-e", ""]
            else:
                name = b.marker("file") or "block.lua"
                write(os.path.join(d, name), text)
                argv = [self.earnorm, name]
            rc, out = self.run(argv, d, env)
        elif lang == "c":
            name = b.marker("file") or "block.c"
            write(os.path.join(d, name), text)
            libdir = os.path.dirname(self.lib)
            cc = [os.environ.get("CC", "cc"), "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wpedantic",
                  "-I", os.path.join(self.src, "core", "include"), name, "-o", "block",
                  "-L", libdir, "-learnorm", "-Wl,-rpath," + libdir]
            if self.sanitize:
                cc[1:1] = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"]
            rc, out = self.run(cc, d, env)
            if rc != 0:
                return False, "does not compile: " + " ".join(cc), out
            rc, out = self.run(["./block"], d, env)
        elif lang in ("sh", "bash", "shell"):
            name = b.marker("file") or "block.sh"
            write(os.path.join(d, name), text)
            rc, out = self.run(["bash", "-e", "-o", "pipefail", name], d, env)
        elif lang == "console":
            return self.run_console(text, d, env)
        elif lang == "json":
            try:
                json.loads(text)
                return True, "", ""
            except ValueError as e:
                return False, "not valid JSON: %s" % e, text
        elif lang in ("", "text"):
            return False, "a block without a language needs a marker saying what it is (output, paths or skip)", ""
        else:
            return False, "no way to run a '%s' block: give it a marker (output, paths or skip)" % lang, ""

        state["chain"]["output"] = out
        code = b.marker("expect-error")
        if code:
            if rc == 0:
                return False, "expected an error %s, but the block succeeded" % code, out
            if not re.search(r"\b%s\b" % re.escape(code), out):
                return False, "expected an error %s, got another one" % code, out
            return True, "", out
        if rc != 0:
            return False, "exited with status %d" % rc, out
        return True, "", out

    def run_console(self, text, d, env):
        steps = []  # [command, expected lines]
        lines = text.split("\n")
        k = 0
        while k < len(lines):
            l = lines[k]
            if l.startswith("$ "):
                cmd = l[2:]
                while cmd.endswith("\\") and k + 1 < len(lines):
                    k += 1
                    cmd = cmd[:-1] + "\n" + lines[k]
                steps.append([cmd, []])
            elif steps:
                steps[-1][1].append(l)
            elif l.strip():
                return False, "console block: output before the first '$ ' command", ""
            k += 1
        if not steps:
            return False, "console block without a '$ ' command", ""
        log = ""
        for cmd, expected in steps:
            rc, out = self.run(["bash", "-o", "pipefail", "-c", cmd], d, env)
            log += "$ %s\n%s" % (cmd, out)
            if rc != 0:
                return False, "`%s` exited %d" % (cmd, rc), log
            miss = missing_lines("\n".join(expected), out)
            if miss:
                return False, "`%s`: not in its output:\n%s" % (cmd, "\n".join(miss)), log
        return True, "", log

    def missing_paths(self, text):
        """A paths block is a tree: a first column of paths, then, after
        two or more blanks, a description. Every word of the first column
        is a path; in the description, words with a "/" that end in "/" or
        a file extension are ("in/out" and "SQLite/PostgreSQL" are not)."""
        bases, miss = [self.src], []
        for line in text.split("\n"):
            cols = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            words = cols[0].split() if cols[0] else []
            if len(cols) > 1:
                words += [w for w in re.findall(r"[\w.*-]+(?:/[\w.*-]+)*/?", cols[1])
                          if "/" in w and (w.endswith("/") or re.search(r"\.[a-z]+$", w))]
            for word in words:
                word = word.strip(",;:()")
                found = None
                for base in bases:
                    hits = glob.glob(os.path.join(base, word))
                    if hits:
                        found = hits[0]
                        break
                if not found:
                    miss.append(word)
                    continue
                # what this word names becomes a base for later, shorter names
                p = found if os.path.isdir(found) else os.path.dirname(found)
                while p.startswith(self.src) and p not in bases:
                    bases.append(p)
                    p = os.path.dirname(p)
        return miss

    # ---- documents
    def run_doc(self, path, expect_fail=False):
        rel = os.path.relpath(path, self.src)
        state = {"rel": rel, "chain": None}
        count = 0
        for b in parse(path):
            count += 1
            skip = b.marker("skip")
            if skip and not b.problems:
                self.tap(True, b.name(rel), skip=skip)
                continue  # a later "continues" follows on from the block before it
            ok, msg, out = self.run_block(b, state, state["chain"])
            if expect_fail:
                self.tap(not ok, "self-check: %s fails" % b.name(rel),
                         "the block passed, but every block of %s must fail" % rel)
                if ok is False:
                    print("#   (as it must: %s)" % msg.split("\n")[0])
            else:
                self.tap(ok, b.name(rel), msg, out)
        return count


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__.split("\n")[2])
    src, earnorm, lib = (os.path.abspath(a) for a in argv[1:4])
    rest = argv[4:]
    sanitize = "--sanitize" in rest
    files = [a for a in rest if a != "--sanitize"]
    r = Runner(src, earnorm, lib, sanitize)
    try:
        if files:
            for f in files:
                r.run_doc(os.path.abspath(f))
        else:
            docs = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
            for d in docs:
                r.run_doc(d)
            fixtures = os.path.join(src, "tests", "fixtures", "docs")
            r.run_doc(os.path.join(fixtures, "pass.md"))
            # without the services' URLs: a block that needs one must fail
            saved = {v: os.environ.pop(v) for v, _ in BACKENDS.values() if v in os.environ}
            try:
                if r.run_doc(os.path.join(fixtures, "fail.md"), expect_fail=True) == 0:
                    r.tap(False, "self-check: tests/fixtures/docs/fail.md has no block")
            finally:
                os.environ.update(saved)
    finally:
        r.drop_databases()
        if not os.environ.get("DOCS_KEEP"):
            shutil.rmtree(r.work, ignore_errors=True)
    print("1..%d" % r.n)
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
