-- Versioning and history: optimistic locking (_version), record metadata
-- (create_date, write_date, _log_access), tracked fields in earnorm.history
-- (rec:history(), rec:at()). Runs on every backend ($EARNORM_TEST_DB).
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

local function tick() os.execute("sleep 0.01") end -- the clock reads milliseconds

orm.model("ver.tag", { name = f.Char{} })

local Doc = orm.model("ver.doc", {
  _version = true,
  name  = f.Char{ required = true },
  qty   = f.Integer{},
  total = f.Integer{ compute = "_compute_total", depends = { "qty" }, store = true },
  tag_id = f.Many2one{ "ver.tag", ondelete = "set null" },
})
function Doc:_compute_total()
  for rec in self:each() do rec.total = (rec.qty or 0) * 10 end
end

orm.model("ver.rev", { _version = "rev", name = f.Char{} })
orm.model("ver.plain", { _log_access = false, name = f.Char{} })

local Tracked = orm.model("ver.tracked", {
  name  = f.Char{ tracking = true },
  note  = f.Text{ tracking = true },
  qty   = f.Integer{ tracking = true },
  score = f.Float{ tracking = true },
  ok    = f.Boolean{ tracking = true },
  born  = f.Date{ tracking = true },
  seen  = f.Datetime{ tracking = true },
  kind  = f.Selection{ choices = { "a", "b" }, tracking = true },
  data  = f.Json{ tracking = true },
  price = f.Decimal{ digits = { 12, 2 }, tracking = true },
  blob  = f.Binary{ tracking = true },
  tag_id = f.Many2one{ "ver.tag", tracking = true },
  other = f.Char{},   -- not tracked
})
Tracked:constrains({ "qty" }, function(recs)
  for rec in recs:each() do
    if rec.qty == 13 then error(orm.ValidationError{ "unlucky", field = "qty" }) end
  end
end)

orm.model("ver.listed", { _history = { fields = { "name" } }, name = f.Char{}, age = f.Integer{} })
orm.model("ver.all", { _history = true, name = f.Char{}, age = f.Integer{},
                       kid_ids = f.One2many{ "ver.kid", "all_id" } })
orm.model("ver.kid", { name = f.Char{ tracking = true },
                       all_id = f.Many2one{ "ver.all", ondelete = "cascade" } })

local H = "earnorm.history"

-- a model file (sandboxed) that tries to forge history
local sbx_dir = os.tmpname() .. ".models"
os.execute("mkdir -p '" .. sbx_dir .. "'")
do
  local fh = assert(io.open(sbx_dir .. "/ver_sbx.lua", "w"))
  fh:write([[
local orm = require "earnorm"
local f = orm.fields
local M = orm.model("ver.sbx", { _version = true, name = f.Char{ tracking = true } })
local forged = { model = "ver.sbx", res_id = "1", operation = "write", date = "2020-01-01 00:00:00" }
function M:forge()
  local Hm = self.env["earnorm.history"]
  local out = {}
  local function try(fn)
    local ok, e = pcall(fn)
    out[#out + 1] = ok and "ok" or e.message
  end
  try(function() Hm:create(forged) end)
  try(function() self.env["ver.sbx"].create(Hm, forged) end)   -- another model's method
  try(function() Hm:search{}:write{ operation = "unlink" } end)
  try(function() self:write{ version = 9 } end)
  out[#out + 1] = #self:history()
  out[#out + 1] = self:at(self.write_date).name
  return out
end
return M
]])
  fh:close()
  orm.load_models(sbx_dir)
end

local function other_env()
  return orm.connect{ database = h.url }
end

local function hist_count(env, model)
  return env[H]:search_count{ { "model", "=", model } }
end

describe("optimistic locking (_version)", function()
  local env
  before_each(function() env = h.fresh_env() end)

  it("starts at 1 and counts every write", function()
    local D = env["ver.doc"]
    local docs = D:create{ { name = "a" }, { name = "b" } }
    assert.are.same({ 1, 1 }, docs:mapped("version"))
    docs[1]:write{ name = "a2" }
    docs[1].qty = 2
    assert.are.equal(3, docs[1].version)
    assert.are.equal(1, docs[2].version)
    -- what the database holds, read by another env
    local e2 = other_env()
    assert.are.same({ { id = docs[1].id, version = 3 }, { id = docs[2].id, version = 1 } },
                    e2["ver.doc"]:search_read({}, { fields = { "version" }, order = "name" }))
    -- a stored computed value follows from qty: its recompute is not a write
    assert.are.equal(20, docs[1].total)
    -- a write of records with different versions (one statement per version)
    docs:write{ qty = 1 }
    assert.are.same({ 4, 2 }, docs:mapped("version"))
    e2:close()
  end)

  it("a second writer of the same version fails with ECONFLICT, naming both versions", function()
    local doc = env["ver.doc"]:create{ name = "a", qty = 1 }
    doc:write{ qty = 2 }                      -- version 2
    local e2 = other_env()
    local doc2 = e2["ver.doc"]:browse(doc.id)
    assert.are.equal(2, doc2.version)         -- both read version 2
    doc:write{ qty = 3 }                      -- version 3
    local err = h.error_of(doc2.write, doc2, { qty = 30 })
    assert.are.equal("ECONFLICT", err.code)
    assert.are.equal(string.format("ver.doc(%s): version conflict: this env read version 2, the "
      .. "database holds version 3 (another transaction wrote the record since; read it again "
      .. "and retry)", tostring(doc.id)), err.message)
    assert.are.equal("ver.doc", err.model)
    assert.are.equal("version", err.field)
    -- nothing of the lost update reached the database
    local e3 = other_env()
    local row = e3["ver.doc"]:search_read({ { "id", "=", doc.id } }, { fields = { "qty", "version" } })[1]
    assert.are.equal(3, row.qty)
    assert.are.equal(3, row.version)
    -- the failed write forgot what e2 held: read again, then the retry passes
    assert.are.equal(3, doc2.qty)
    assert.are.equal(3, doc2.version)
    doc2:write{ qty = 30 }
    assert.are.equal(4, doc2.version)
    e2:close()
    e3:close()
  end)

  it("a long loop keeps the versions it read (they are what a later write is checked against)", function()
    local list = {}
    for i = 1, 500 do list[i] = { name = "d" .. i, qty = i } end
    env["ver.doc"]:create(list)
    local small = orm.connect{ database = h.url, prefetch = 100 }
    local docs = small["ver.doc"]:search({}, { order = "id" })
    local sum = 0
    for rec in docs:each() do sum = sum + rec.qty end
    assert.are.equal(500 * 501 / 2, sum)
    -- a loop over five windows of another model would hold the last one
    assert.are.equal(500, small:stats().store.records)
    -- another env writes the first record; the loop's copy is stale
    local e2 = other_env()
    e2["ver.doc"]:browse(docs[1].id):write{ qty = 0 }
    local err = h.error_of(docs[1].write, docs[1], { qty = 7 })
    assert.are.equal("ECONFLICT", err.code)
    e2:close()
    small:close()
  end)

  it("a stale record fails the whole batch: nothing is written", function()
    local D = env["ver.doc"]
    local docs = D:create{ { name = "a", qty = 1 }, { name = "b", qty = 1 }, { name = "c", qty = 1 } }
    assert.are.same({ 1, 1, 1 }, docs:mapped("version"))
    local e2 = other_env()
    e2["ver.doc"]:browse(docs[2].id):write{ qty = 7 }     -- docs[2] is now stale in env
    local err = h.error_of(docs.write, docs, { qty = 5, name = "x" })
    assert.are.equal("ECONFLICT", err.code)
    assert.are.equal(string.format("ver.doc(%s): version conflict: this env read version 1, the "
      .. "database holds version 2 (another transaction wrote the record since; read it again "
      .. "and retry)", tostring(docs[2].id)), err.message)
    local rows = e2["ver.doc"]:search_read({}, { fields = { "name", "qty", "version" }, order = "id" })
    assert.are.same({
      { id = docs[1].id, name = "a", qty = 1, version = 1 },
      { id = docs[2].id, name = "b", qty = 7, version = 2 },
      { id = docs[3].id, name = "c", qty = 1, version = 1 },
    }, rows)
    e2:close()
  end)

  it("unlink of a record another env wrote since fails with ECONFLICT; the batch stays", function()
    local D = env["ver.doc"]
    local docs = D:create{ { name = "a" }, { name = "b" }, { name = "c" } }
    local kid = env["ver.tag"]:create{ name = "t" }
    docs[1]:write{ tag_id = kid }
    assert.are.same({ 2, 1, 1 }, docs:mapped("version"))
    local e2 = other_env()
    e2["ver.doc"]:browse(docs[3].id):write{ qty = 7 }     -- docs[3] is stale in env now
    local err = h.error_of(docs.unlink, docs)
    assert.are.equal("ECONFLICT", err.code)
    assert.are.equal(string.format("ver.doc(%s): version conflict: this env read version 1, the "
      .. "database holds version 2 (another transaction wrote the record since; read it again "
      .. "and retry)", tostring(docs[3].id)), err.message)
    assert.are.equal("ver.doc", err.model)
    assert.are.equal("version", err.field)
    -- nothing deleted, no version moved
    assert.are.same({
      { id = docs[1].id, name = "a", qty = orm.null, version = 2 },
      { id = docs[2].id, name = "b", qty = orm.null, version = 1 },
      { id = docs[3].id, name = "c", qty = 7, version = 2 },
    }, e2["ver.doc"]:search_read({}, { fields = { "name", "qty", "version" }, order = "id",
                                       nulls = true }))
    -- the failure forgot what env held: it reads version 2 now; one record alone fails the same
    local one = D:browse(docs[3].id)
    assert.are.equal(7, one.qty)
    e2["ver.doc"]:browse(docs[3].id):write{ qty = 9 }     -- version 3
    err = h.error_of(one.unlink, one)
    assert.are.equal("ECONFLICT", err.code)
    assert.matches("this env read version 2, the database holds version 3", err.message, 1, true)
    assert.are.equal(3, e2["ver.doc"]:search_count{})
    -- read again: the unlink passes
    assert.are.equal(9, one.qty)
    docs:unlink()
    assert.are.equal(0, e2["ver.doc"]:search_count{})
    -- ids never read and not there: nothing to delete, no error (as without _version)
    local gone = D:browse(docs.ids)
    env:invalidate()
    gone:unlink()
    -- a record read here, deleted by another env since
    local d = D:create{ name = "d" }
    assert.are.equal(1, d.version)
    e2["ver.doc"]:browse(d.id):unlink()
    err = h.error_of(d.unlink, d)
    assert.are.equal("ENOTFOUND", err.code)
    assert.are.equal(string.format("ver.doc(%s) was deleted by another transaction since this env "
                                   .. "read it (at version 1)", tostring(d.id)), err.message)
    e2:close()
  end)

  it("a write of records never read loads their version first (one query)", function()
    local doc = env["ver.doc"]:create{ name = "a" }
    local e2 = other_env()
    e2["ver.doc"]:browse(doc.id):write{ name = "b" }     -- version 2, never read by e2 before
    local rec = e2["ver.doc"]:browse(doc.id)
    e2:invalidate()
    e2:reset_stats()
    rec:write{ name = "c" }
    local q = e2:stats().by_kind
    -- the version's load, and on a server without transactions the undo journal's snapshot
    assert.are.equal(h.caps().transactions and 1 or 2, q.select)
    assert.are.equal(1, q.update)
    assert.are.equal(3, rec.version)            -- the store holds it: no query
    assert.are.equal(q.select, e2:stats().by_kind.select)
    e2:close()
  end)

  it("refuses the version field in create and write", function()
    local D = env["ver.doc"]
    local err = h.error_of(D.create, D, { name = "a", version = 7 })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("ver.doc.version cannot be set: it is the record's version, which the "
                     .. "engine increments on every write (optimistic locking)", err.message)
    local doc = D:create{ name = "a" }
    err = h.error_of(doc.write, doc, { version = 1 })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("version", err.field)
    err = h.error_of(function() doc.version = 9 end)
    assert.are.equal("EINVAL", err.code)
    assert.are.equal(1, doc.version)
    -- copy() gives a new record at version 1
    doc:write{ name = "b" }
    local c = doc:copy()
    assert.are.equal(1, c.version)
    assert.are.equal("b", c.name)
  end)

  it("engine writes (ondelete set null) bump the version without a conflict", function()
    local tag = env["ver.tag"]:create{ name = "t" }
    local doc = env["ver.doc"]:create{ name = "a", tag_id = tag }
    local e2 = other_env()
    e2["ver.doc"]:browse(doc.id):write{ qty = 1 }    -- env's doc is stale now (version 1)
    tag:unlink()                                     -- sets doc.tag_id null: version 3
    local row = e2["ver.doc"]:search_read({ { "id", "=", doc.id } }, { fields = { "tag_id", "version" } })[1]
    assert.are.same({ id = doc.id, version = 3 }, row)
    e2:close()
  end)

  it("a version field of another name: _version = \"rev\"", function()
    local r = env["ver.rev"]:create{ name = "a" }
    r:write{ name = "b" }
    assert.are.equal(2, r.rev)
    local e2 = other_env()
    local r2 = e2["ver.rev"]:browse(r.id)
    assert.are.equal(2, r2.rev)
    r:write{ name = "c" }
    local err = h.error_of(r2.write, r2, { name = "d" })
    assert.are.equal("ECONFLICT", err.code)
    assert.matches("this env read version 2, the database holds version 3", err.message, 1, true)
    assert.are.equal("rev", err.field)
    e2:close()
  end)

  it("a rolled-back transaction leaves the version as it was", function()
    if not h.caps().transactions then return end -- FerretDB: no env:transaction (transactions_spec)
    local doc = env["ver.doc"]:create{ name = "a" }
    local err = h.error_of(env.transaction, env, function()
      doc:write{ name = "b" }
      assert.are.equal(2, doc.version)
      error("undo")
    end)
    assert.matches("undo", tostring(err), 1, true)
    assert.are.equal(1, doc.version)
    assert.are.equal("a", doc.name)
    doc:write{ name = "c" }                           -- the store forgot 2: no false conflict
    assert.are.equal(2, doc.version)
  end)

  it("checks the declaration", function()
    local err = h.error_of(orm.model, "ver.bad1", { _version = 5, name = f.Char{} })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("ver.bad1: _version must be true, false or the name of the version field, "
                     .. "got a number", err.message)
    err = h.error_of(orm.model, "ver.bad2", { _version = true, version = f.Integer{} })
    assert.are.equal("ECONFLICT", err.code)
    assert.are.equal("ver.bad2.version: _version needs this name for the version field; name "
                     .. "another one (_version = \"rev\") or rename the field", err.message)
    err = h.error_of(orm.model, "ver.doc", { _inherit = "ver.doc", _version = false })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("ver.doc: _version cannot be changed by an extension (_inherit = \"ver.doc\"); "
                     .. "declare it where the model is first declared", err.message)
    assert.is_nil(orm.models["ver.bad1"])
    assert.is_nil(orm.models["ver.bad2"])
  end)
end)

describe("record metadata (create_date, write_date)", function()
  local env
  before_each(function() env = h.fresh_env() end)

  it("sets both on create and write_date on every write, in UTC", function()
    local t0 = os.time()
    local P = env["ver.doc"]
    local a = P:create{ name = "a" }
    local t1 = os.time()
    assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d", a.create_date)
    assert.are.equal(a.create_date, a.write_date)
    -- searchable, as UTC instants (seconds since the epoch)
    assert.are.equal(1, P:search_count{ { "create_date", ">=", t0 - 1 }, { "create_date", "<=", t1 + 1 } })
    assert.are.equal(0, P:search_count{ { "create_date", ">", t1 + 2 } })
    local created = a.create_date
    tick()
    a:write{ qty = 1 }
    assert.are.equal(created, a.create_date)
    assert.is_true(a.write_date > created)
    -- what the database holds, for another env
    local e2 = other_env()
    local row = e2["ver.doc"]:search_read({ { "id", "=", a.id } },
                                          { fields = { "create_date", "write_date" } })[1]
    assert.are.equal(created, row.create_date)
    assert.are.equal(a.write_date, row.write_date)
    -- one clock reading per operation: a batch shares it
    local two = P:create{ { name = "b" }, { name = "c" } }
    assert.are.equal(two[1].create_date, two[2].create_date)
    e2:close()
  end)

  it("are read-only, not copied, and listed with the model's fields", function()
    local P = env["ver.doc"]
    local err = h.error_of(P.create, P, { name = "a", create_date = "2020-01-01 00:00:00" })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("ver.doc.create_date cannot be set: it is record metadata, set by the "
                     .. "engine on create and write", err.message)
    local a = P:create{ name = "a" }
    err = h.error_of(a.write, a, { write_date = "2020-01-01 00:00:00" })
    assert.are.equal("ver.doc.write_date cannot be set: it is record metadata, set by the "
                     .. "engine on create and write", err.message)
    local row = a:read()[1]
    assert.are.equal(a.create_date, row.create_date)
    assert.are.equal(a.write_date, row.write_date)
    local keys = {}
    for k in pairs(env["ver.tag"]:create{ name = "t" }:read()[1]) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({ "create_date", "id", "name", "write_date" }, keys)
    assert.are.same({ "name", "create_date", "write_date" },
                    { table.unpack(orm.models["ver.tag"]._field_order) })
    tick()
    local c = a:copy()
    assert.is_true(c.create_date > a.create_date)
  end)

  it("_log_access = false leaves them out", function()
    local p = env["ver.plain"]:create{ name = "a" }
    local err = h.error_of(function() return p.create_date end)
    assert.are.equal("ver.plain has no field or method 'create_date'", err.message)
    assert.are.same({ { id = p.id, name = "a" } }, env["ver.plain"]:search_read({}))
    err = h.error_of(orm.model, "ver.bad3", { _log_access = "no" })
    assert.are.equal("ver.bad3: _log_access must be true or false, got a string", err.message)
    err = h.error_of(orm.model, "ver.bad4", { create_date = f.Datetime{} })
    assert.are.equal("ECONFLICT", err.code)
    assert.are.equal("ver.bad4.create_date: the engine maintains this field on every model "
                     .. "(record metadata); rename the field, or set _log_access = false on the "
                     .. "model", err.message)
  end)

  it("migrate adds them to existing tables: existing rows get none, versions start at 1", function()
    -- a model declared before this feature, then again with it, in two runs of the interpreter
    local dir = os.getenv("EARNORM_TEST_WORK") or os.tmpname() .. ".d"
    os.execute("mkdir -p '" .. dir .. "'")
    local url = h.url
    if h.backend == "sqlite" then url = "sqlite://" .. dir .. "/migr.db"; os.remove(dir .. "/migr.db") end
    local function run(decl, body)
      local path = dir .. "/migr.lua"
      local fh = assert(io.open(path, "w"))
      fh:write('local orm = require "earnorm"\nlocal f = orm.fields\n', decl, "\n",
               'local env = orm.connect("', url, '")\n', body, "\n")
      fh:close()
      return h.run("'" .. path .. "'")
    end
    local out, code = run('orm.model("ver.migr", { _log_access = false, name = f.Char{} })',
                          'env:migrate()\nenv["ver.migr"]:search{}:unlink()\n'
                          .. 'env["ver.migr"]:create{ { name = "old1" }, { name = "old2" } }\nprint("ok")')
    assert.are.equal("ok\n", out)
    assert.are.equal(0, code)
    out, code = run('orm.model("ver.migr", { _version = true, name = f.Char{} })', [[
for _, line in ipairs(env:migrate()) do
  if line:find("backfill", 1, true) then print(line) end
end
local M = env["ver.migr"]
print(M:search_count{ { "create_date", "=", orm.null } }, M:search_count{ { "version", "=", 1 } })
local r = M:search({ { "name", "=", "old1" } })
r:write{ name = "old1b" }
print(r.version, r.create_date == nil, r.write_date ~= nil)
local n = M:create{ name = "new" }
print(n.version, n.create_date ~= nil)]])
    assert.are.equal(0, code, out)
    assert.are.equal("backfill ver_migr.version = 1 on 2 existing records\n2\t2\n2\ttrue\ttrue\n1\ttrue\n", out)
  end)
end)

-- the history rows of one record, oldest first, as plain data
local function history_of(rec)
  local list = rec:history()
  local out = {}
  for i = #list, 1, -1 do out[#out + 1] = list[i] end
  return out
end

describe("history (tracking)", function()
  local env
  before_each(function() env = h.fresh_env() end)

  it("records create, write and unlink with old and new values, newest first", function()
    local T = env["ver.tracked"]
    local tag = env["ver.tag"]:create{ name = "t" }
    local r = T:create{ name = "Ann", qty = 1, tag_id = tag, other = "x" }
    tick()
    r:write{ qty = 2, other = "y" }
    tick()
    r:write{ qty = 2, other = "z" }          -- no tracked value changes: no row
    r:write{ name = "Bo", tag_id = orm.null }
    local list = r:history()
    assert.are.equal(3, #list)
    assert.are.same({ "write", "write", "create" },
                    { list[1].operation, list[2].operation, list[3].operation })
    assert.are.same({ name = { old = "Ann", new = "Bo" }, tag_id = { old = tag.id, new = orm.null } },
                    list[1].changes)
    assert.are.same({ qty = { old = 1, new = 2 } }, list[2].changes)
    local created = list[3].changes
    assert.are.same({ old = orm.null, new = "Ann" }, created.name)
    assert.are.same({ old = orm.null, new = 1 }, created.qty)
    assert.are.same({ old = orm.null, new = tag.id }, created.tag_id)
    assert.are.same({ old = orm.null, new = orm.null }, created.price)
    assert.is_nil(created.other)
    local n = 0
    for _ in pairs(created) do n = n + 1 end
    assert.are.equal(12, n)                   -- every tracked field
    assert.are.equal(r.create_date, list[3].date)
    assert.are.equal(r.write_date, list[1].date)
    assert.is_true(list[2].date > list[3].date)
    assert.is_nil(list[1].uid)                -- who: until access control, nobody
    assert.are.same(1, #r:history{ limit = 1 })
    local id = r.id
    r:unlink()
    list = env["ver.tracked"]:browse(id):history()
    assert.are.equal(4, #list)
    assert.are.equal("unlink", list[1].operation)
    assert.are.same({ old = "Bo", new = orm.null }, list[1].changes.name)
    assert.are.same({ old = 2, new = orm.null }, list[1].changes.qty)
    -- a real model: searchable like any other
    assert.are.equal(4, env[H]:search_count{ { "model", "=", "ver.tracked" }, { "res_id", "=", tostring(id) } })
    assert.are.equal(2, env[H]:search_count{ { "model", "=", "ver.tracked" }, { "operation", "=", "write" } })
    local err = h.error_of(r.history, r, { limt = 1 })
    assert.are.equal("ver.tracked: history: unknown option 'limt' (did you mean 'limit'?)", err.message)
  end)

  it("keeps values of every field type as they were", function()
    local T = env["ver.tracked"]
    local tag = env["ver.tag"]:create{ name = "t" }
    local vals = {
      name = "Ann é", note = "line1\nline2 \"q\" \\", qty = 9007199254740993, score = 2.5,
      ok = true, born = "2001-02-03", seen = "2024-05-06 07:08:09", kind = "b",
      data = { list = { 1, 2.0, "x", orm.null, { deep = true } }, n = -0.5, e = orm.json.object{} },
      price = "12345.67", blob = "a\0b\255\0", tag_id = tag,
    }
    local r = T:create(vals)
    local c = r:history()[1].changes
    for k, v in pairs(vals) do
      local want = v
      if k == "tag_id" then want = tag.id end
      if k == "data" then want = r.data end
      assert.are.same(want, c[k].new, k)
    end
    assert.are.equal("a\0b\255\0", c.blob.new)
    assert.are.equal(math.type(2.0), math.type(c.data.new.list[2]))
    assert.are.equal("float", math.type(c.score.new))
    assert.are.equal("integer", math.type(c.qty.new))
    tick()
    r:write{ ok = false, price = "0.10", blob = orm.null, data = { 1 }, seen = "2024-05-06 07:08:10" }
    c = r:history()[1].changes
    assert.are.same({ old = true, new = false }, c.ok)
    assert.are.same({ old = "12345.67", new = "0.10" }, c.price)
    assert.are.same({ old = "a\0b\255\0", new = orm.null }, c.blob)
    assert.are.same({ 1 }, c.data.new)
    assert.are.same({ old = "2024-05-06 07:08:09", new = "2024-05-06 07:08:10" }, c.seen)
    assert.is_nil(c.name)
  end)

  it("rec:at(when) rebuilds the tracked values at a point in time", function()
    local T = env["ver.tracked"]
    local r = T:create{ name = "v1", qty = 1 }
    local d1 = r:history()[1].date
    tick()
    r:write{ name = "v2" }
    local d2 = r.write_date
    tick()
    r:write{ qty = 3, price = "1.00" }
    local s = r:at(d1)
    assert.are.equal("v1", s.name)
    assert.are.equal(1, s.qty)
    assert.is_nil(s.price)
    assert.are.equal(r.id, s.id)
    s = r:at(d2)
    assert.are.same({ "v2", 1 }, { s.name, s.qty })
    s = r:at(os.time() + 60)
    assert.are.same({ "v2", 3, "1.00" }, { s.name, s.qty, s.price })
    local none, why = r:at("2000-01-01 00:00:00")
    assert.is_nil(none)
    assert.are.equal(string.format("ver.tracked(%s) did not exist at 2000-01-01 00:00:00 (it had "
                                   .. "no history yet)", tostring(r.id)), why)
    tick()
    r:unlink()
    local gone = r:history()[1].date
    none, why = r:at(os.time() + 60)
    assert.is_nil(none)
    assert.are.equal(string.format("ver.tracked(%s) did not exist at %d (it was deleted at %s)",
                                   tostring(r.id), os.time() + 60, gone), why)
    local err = h.error_of(r.at, r, {})
    assert.are.equal("ver.tracked: at(when) expects a Datetime (text or seconds since the epoch), "
                     .. "got a table", err.message)
    err = h.error_of(T.at, T, d1)
    assert.matches("at() reads the history of one record", err.message, 1, true)
  end)

  it("is written in the operation's atomic scope: a failed operation leaves no rows", function()
    local T = env["ver.tracked"]
    local before = hist_count(env, "ver.tracked")
    -- record 3 of 3 fails in C
    local err = h.error_of(T.create, T, { { name = "a" }, { name = "b" }, { name = "c", qty = "x" } })
    assert.are.equal("EINVAL", err.code)
    -- the validator refuses after the rows were inserted
    err = h.error_of(T.create, T, { { name = "a" }, { name = "b", qty = 13 } })
    assert.are.equal("EVALIDATE", err.code)
    assert.are.equal(before, hist_count(env, "ver.tracked"))
    assert.are.equal(0, T:search_count{})
    local r = T:create{ name = "a", qty = 1 }
    err = h.error_of(r.write, r, { name = "b", qty = 13 })
    assert.are.equal("EVALIDATE", err.code)
    assert.are.equal(1, #r:history())
    assert.are.equal("a", r.name)
    if h.caps().transactions then
      err = h.error_of(env.transaction, env, function()
        r:write{ name = "c" }
        T:create{ name = "d" }
        r:unlink()
        assert.are.equal(4, hist_count(env, "ver.tracked") - before)
        error("roll back")
      end)
      assert.matches("roll back", tostring(err), 1, true)
      assert.are.equal(1, hist_count(env, "ver.tracked") - before)
      assert.are.equal(1, #r:history())
    end
  end)

  it("_history = { fields = ... } and _history = true choose the tracked fields", function()
    local l = env["ver.listed"]:create{ name = "a", age = 1 }
    l:write{ age = 2 }
    l:write{ name = "b", age = 3 }
    local list = l:history()
    assert.are.equal(2, #list)
    assert.are.same({ name = { old = "a", new = "b" } }, list[1].changes)
    assert.are.same({ name = { old = orm.null, new = "a" } }, list[2].changes)
    local a = env["ver.all"]:create{ name = "x", age = 1 }
    a:write{ age = 2 }
    assert.are.same({ age = { old = 1, new = 2 } }, a:history()[1].changes)
    assert.are.same({ name = { old = orm.null, new = "x" }, age = { old = orm.null, new = 1 } },
                    a:history()[2].changes)
    -- a cascade records the children it deletes
    local kid = env["ver.kid"]:create{ name = "k", all_id = a }
    a:unlink()
    assert.are.same({ "unlink", "create" }, { kid:history()[1].operation, kid:history()[2].operation })
    assert.are.same({ old = "k", new = orm.null }, kid:history()[1].changes.name)
  end)

  it("refuses what cannot be tracked, and unknown options", function()
    local err = h.error_of(orm.model, "ver.bad5", { _history = { fieldz = { "name" } }, name = f.Char{} })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("ver.bad5: _history: unknown option 'fieldz' (did you mean 'fields'?)", err.message)
    err = h.error_of(orm.model, "ver.bad6", { _history = { fields = { "nope" } }, name = f.Char{} })
    assert.are.equal("ENOTFOUND", err.code)
    assert.are.equal("ver.bad6: cannot track unknown field 'nope'", err.message)
    err = h.error_of(orm.model, "ver.bad7", { kid_ids = f.One2many{ "ver.kid", "all_id", tracking = true } })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("ver.bad7.kid_ids: a One2many field cannot be tracked: x2many values change "
                     .. "through commands, which history does not record; track the Many2one on "
                     .. "the other side (One2many) instead", err.message)
    err = h.error_of(orm.model, "ver.bad8", { tag_ids = f.Many2many{ "ver.tag", tracking = true } })
    assert.matches("ver.bad8.tag_ids: a Many2many field cannot be tracked", err.message, 1, true)
    err = h.error_of(orm.model, "ver.bad9", { n = f.Integer{},
      c = f.Integer{ compute = function() end, depends = { "n" }, store = true, tracking = true } })
    assert.are.equal("ver.bad9.c: a Integer field cannot be tracked: it is computed: its changes "
                     .. "follow from the fields it depends on; track those", err.message)
    err = h.error_of(orm.model, "ver.bad10", { _history = { fields = { "create_date" } } })
    assert.are.equal("ver.bad10.create_date (Datetime) cannot be tracked: the engine maintains it "
                     .. "(every history row has its date)", err.message)
    err = h.error_of(orm.model, "ver.bad11", { at = f.Char{ tracking = true } })
    assert.are.equal("ver.bad11.at: 'at' is a method of models that track fields (rec:at()) and "
                     .. "cannot be a field name", err.message)
    err = h.error_of(orm.model, "ver.bad12", { name = f.Char{ trackng = true } })
    assert.are.equal("ver.bad12.name: unknown option 'trackng' (did you mean 'tracking'?)", err.message)
    err = h.error_of(orm.model, "ver.bad13", { _history = "yes" })
    assert.are.equal("ver.bad13: _history must be true or { fields = { ... } }, got a string", err.message)
  end)

  it("holds in the model sandbox: model code reads the history, cannot forge it", function()
    local r = env["ver.sbx"]:create{ name = "a" }
    r:write{ name = "b" }
    local refused = "earnorm.history: cannot %s history records: the engine writes them, "
                    .. "nothing else may (they can be deleted, to prune the history)"
    assert.are.same({
      refused:format("create"), refused:format("create"), refused:format("write"),
      "ver.sbx.version cannot be set: it is the record's version, which the engine increments "
        .. "on every write (optimistic locking)",
      2, "b",
    }, r:forge())
    assert.are.equal(2, #r:history())
    assert.are.equal(2, r.version)
  end)

  it("an extension can track new fields; a new model inherits the attributes", function()
    orm.model("ver.ext", { name = f.Char{} })
    orm.model("ver.ext", { _inherit = "ver.ext", code = f.Char{ tracking = true } })
    orm.model("ver.child", { _inherit = "ver.doc", extra = f.Char{} })
    env:migrate()
    local e = env["ver.ext"]:create{ name = "n", code = "c1" }
    e:write{ code = "c2", name = "m" }
    assert.are.same({ code = { old = "c1", new = "c2" } }, e:history()[1].changes)
    local c = env["ver.child"]:create{ name = "k" }
    c:write{ extra = "x" }
    assert.are.equal(2, c.version)
    assert.is_string(c.create_date)
  end)

  it("history records are written by the engine only", function()
    local r = env["ver.tracked"]:create{ name = "a" }
    local Hm = env[H]
    local err = h.error_of(Hm.create, Hm, { model = "ver.tracked", res_id = tostring(r.id),
                                            operation = "write", date = "2020-01-01 00:00:00" })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("earnorm.history: cannot create history records: the engine writes them, "
                     .. "nothing else may (they can be deleted, to prune the history)", err.message)
    local row = Hm:search{ { "model", "=", "ver.tracked" }, { "res_id", "=", tostring(r.id) } }
    assert.are.equal(1, #row)
    err = h.error_of(row.write, row, { operation = "unlink" })
    assert.are.equal("earnorm.history: cannot write history records: the engine writes them, "
                     .. "nothing else may (they can be deleted, to prune the history)", err.message)
    -- pruning
    row:unlink()
    assert.are.same({}, r:history())
  end)
end)
