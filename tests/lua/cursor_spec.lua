-- Streaming iteration: Recordset:search_iter on a server-side cursor (a
-- SQLite statement, a PostgreSQL DECLARE/FETCH, a MongoDB find/getMore).
-- Runs on every backend ($EARNORM_TEST_DB): every record once and in the
-- order search() gives, the values read, the statements sent (1 to open,
-- ceil(N/batch) to read, one load per batch), break / error / loop end
-- closing the cursor, the record store holding one batch at a time, and
-- the Lua heap staying flat over 100k records.
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.model("cur.parent", { _order = "name", name = f.Char{} })
orm.model("cur.item", {
  _order = "id",
  name = f.Char{},
  n = f.Integer{ index = true },
  active = f.Boolean{ default = true },
  parent_id = f.Many2one{ "cur.parent" },
})
orm.model("cur.big", { n = f.Integer{} })

-- 4000 on MongoDB: FerretDB creates ~700 documents a second and scans the
-- collection for each batch's load
local N = h.backend == "mongodb" and 4000 or 10000
local function ceil_div(a, b) return (a + b - 1) // b end

local function collect(iter_opts, domain, M)
  local ids = {}
  for rec in M:search_iter(domain or {}, iter_opts) do ids[#ids + 1] = rec.id end
  return ids
end

describe("search_iter on " .. h.backend, function()
  local env, M, All

  setup(function()
    env = h.fresh_env()
    M = env["cur.item"]
    local parents = env["cur.parent"]:create{ { name = "b" }, { name = "a" } }
    local rows = {}
    for i = 1, N do
      rows[i] = { name = "r" .. i, n = i, active = i % 10 ~= 0, parent_id = parents[i % 2 + 1].id }
    end
    M:create(rows)
    All = M:with_context{ active_test = false }
    env:invalidate()
  end)

  teardown(function() env:close() end)

  it("visits every record once, in order, with its values, in 1 + 2 * ceil(N/batch) queries", function()
    env:invalidate()
    env:reset_stats()
    local seen, i = {}, 0
    for rec in All:search_iter({}, { batch = 1000, order = "n" }) do
      i = i + 1
      assert.equal(i, rec.n)
      assert.equal("r" .. i, rec.name)
      assert.is_nil(seen[rec.id])
      seen[rec.id] = true
    end
    assert.equal(N, i)
    local st = env:stats()
    -- 1 to open, N/1000 batches read (the last one knows it is the last), a load each
    assert.equal(1 + 2 * ceil_div(N, 1000), st.queries)
    assert.equal(0, st.cursors)
    assert.equal(0, st.pool.in_use)
  end)

  it("gives what search gives: domain, order, limit, offset, archived records hidden", function()
    local dom = { { "n", ">", N // 4 } }
    local count = (N - N // 4) * 9 // 10 -- 6750 of 10000: n > 2500 and not archived
    env:reset_stats()
    local got = collect({ batch = 2000, order = "n desc" }, dom, M)
    -- ids only: no load
    assert.equal(1 + ceil_div(count, 2000), env:stats().queries)
    assert.same(M:search(dom, { order = "n desc" }).ids, got)
    assert.equal(count, #got)
    assert.same(All:search({}, { order = "n", limit = 2500, offset = 100 }).ids,
                collect({ batch = 1000, order = "n", limit = 2500, offset = 100 }, {}, All))
    local last10 = N * 9 // 10 - 10
    local tail = collect({ batch = 7, order = "name desc", offset = last10 }, {}, M)
    assert.equal(10, #tail)
    assert.same(M:search({}, { order = "name desc", offset = last10 }).ids, tail)
  end)

  it("started from a record a loop gave (its context is its recordset's)", function()
    local dom = { { "n", "<=", 50 } }
    local rec = All:search({}, { order = "n", limit = 1 })[1]
    -- the record carries active_test = false from All: archived records come too
    local ids = {}
    for r in rec:search_iter(dom, { batch = 20, order = "n" }) do ids[#ids + 1] = r.id end
    assert.same(All:search(dom, { order = "n" }).ids, ids)
    assert.equal(50, #ids)
    local shown = {}
    for r in M:search({}, { limit = 1 })[1]:search_iter(dom, { batch = 20 }) do
      shown[#shown + 1] = r.id
    end
    assert.equal(45, #shown) -- n = 10, 20, 30, 40, 50 are archived
  end)

  it("orders by a Many2one path where the server can (MongoDB: refused, naming it)", function()
    local opts = { batch = 999, order = "parent_id.name, n" }
    if h.backend == "mongodb" then
      local ok, err = pcall(collect, opts, {}, M)
      assert.is_false(ok)
      assert.equal("ENOTSUP", err.code)
      assert.matches("a cursor cannot order by a path", tostring(err))
      assert.equal(0, env:stats().cursors)
    else
      assert.same(M:search({}, { order = "parent_id.name, n" }).ids, collect(opts, {}, M))
    end
  end)

  it("an empty result: one statement to open, one to find nothing", function()
    env:reset_stats()
    assert.same({}, collect({ batch = 10 }, { { "n", "<", 0 } }, M))
    assert.equal(2, env:stats().queries)
    env:reset_stats()
    assert.same({}, collect({ batch = 10 }, { { "id", "in", {} } }, M))
    assert.equal(0, env:stats().queries) -- a FALSE domain sends nothing
  end)

  it("batches = true gives the batch recordsets, prefetching within each", function()
    env:invalidate()
    env:reset_stats()
    local sizes, sum = {}, 0
    for batch in All:search_iter({}, { batch = 3000, order = "n", batches = true }) do
      assert.is_true(orm.is_recordset(batch))
      sizes[#sizes + 1] = #batch
      for rec in batch:each() do sum = sum + rec.n end
    end
    local want = {}
    for k = 1, ceil_div(N, 3000) do want[k] = math.min(3000, N - (k - 1) * 3000) end
    assert.same(want, sizes) -- { 3000, 3000, 3000, 1000 } for 10000
    assert.equal(N * (N + 1) // 2, sum)
    assert.equal(1 + 2 * #want, env:stats().queries)
  end)

  it("keeps one batch of values in the record store", function()
    env:invalidate()
    local most, i = 0, 0
    for rec in All:search_iter({}, { batch = 2000 }) do
      local _ = rec.name
      i = i + 1
      if i % 2000 == 0 then most = math.max(most, env:stats().store.records) end
    end
    assert.equal(N, i)
    assert.equal(2000, most)
    assert.equal(0, env:stats().store.records)
  end)

  it("break closes the cursor; the env goes on", function()
    local open_inside
    for rec in All:search_iter({}, { batch = 100, order = "n" }) do
      if rec.n == 150 then
        open_inside = env:stats().cursors
        break
      end
    end
    assert.equal(1, open_inside)
    assert.equal(0, env:stats().cursors)
    assert.equal(0, env:stats().pool.in_use)
    assert.equal(N, All:search_count{})
    -- a write between batches, then a break
    for rec in All:search_iter({ { "n", "<=", 300 } }, { batch = 10, order = "n" }) do
      rec:write{ name = "w" .. rec.n }
      if rec.n == 25 then break end
    end
    assert.equal(25, M:with_context{ active_test = false }:search_count{ { "name", "=like", "w%" } })
    assert.equal(0, env:stats().cursors)
  end)

  it("an error in the loop body closes the cursor", function()
    local ok, err = pcall(function()
      for rec in All:search_iter({}, { batch = 100 }) do
        if rec.n == 42 then error("boom") end
      end
    end)
    assert.is_false(ok)
    assert.matches("boom", err)
    assert.equal(0, env:stats().cursors)
    assert.equal(0, env:stats().pool.in_use)
    assert.equal(N, All:search_count{})
  end)

  it("a cursor never looped over closes when collected", function()
    local step, cur = All:search_iter({}, { batch = 10 })
    assert.equal(1, env:stats().cursors)
    assert.is_false(cur:done())
    assert.truthy(step(cur))
    assert.matches("earnorm.Cursor%(cur.item, open%)", tostring(cur))
    step, cur = nil, nil
    collectgarbage()
    collectgarbage()
    assert.equal(0, env:stats().cursors)
    assert.equal(0, env:stats().pool.in_use)
  end)

  it("refuses unknown options and bad values, naming them", function()
    local function msg(fn)
      local ok, err = pcall(fn)
      assert.is_false(ok)
      return tostring(err)
    end
    assert.matches("search_iter: unknown option 'bacth' %(did you mean 'batch'%?%)",
                   msg(function() M:search_iter({}, { bacth = 10 }) end))
    assert.matches("batch must be a positive integer, got 0",
                   msg(function() M:search_iter({}, { batch = 0 }) end))
    assert.matches("batch must be a positive integer, got 1.5",
                   msg(function() M:search_iter({}, { batch = 1.5 }) end))
    assert.matches("batches must be a boolean",
                   msg(function() M:search_iter({}, { batches = "yes" }) end))
    assert.matches("a domain must be a list",
                   msg(function() M:search_iter("n > 3") end))
    assert.matches("nosuch", msg(function() M:search_iter({}, { order = "nosuch" }) end))
    assert.matches("nosuch", msg(function() M:search_iter({ { "nosuch", "=", 1 } }) end))
    assert.equal(0, env:stats().cursors)
  end)

  it("PostgreSQL outside a transaction: the cursor's own connection, the pool's limit said", function()
    if h.backend ~= "postgresql" then return end
    local url = h.url .. (h.url:find("?", 1, true) and "&" or "?") .. "pool_max=1&pool_timeout=200"
    local env1 = orm.connect{ database = url }
    local I = env1["cur.item"]:with_context{ active_test = false }
    local ok, err = pcall(function()
      for rec in I:search_iter({}, { batch = 100 }) do local _ = rec.n end -- the load needs a 2nd
    end)
    assert.is_false(ok)
    assert.equal("ETIMEOUT", err.code)
    assert.matches("1 open cursor of this env holds one %(outside a transaction a PostgreSQL " ..
                   "cursor keeps a connection of its own%): raise pool_max or iterate inside " ..
                   "a transaction", tostring(err))
    assert.equal(0, env1:stats().cursors)
    -- inside a transaction the cursor and the loads share its connection
    local sum = 0
    env1:transaction(function(e)
      for rec in e["cur.item"]:with_context{ active_test = false }:search_iter({}, { batch = 1000 }) do
        sum = sum + rec.n
      end
    end)
    assert.equal(N * (N + 1) // 2, sum)
    env1:close()
  end)

  it("a closed env stops the loop with an error", function()
    local env2 = orm.connect{ database = h.url }
    local ok, err = pcall(function()
      for rec in env2["cur.item"]:search_iter({}, { batch = 10 }) do
        env2:close()
      end
    end)
    assert.is_false(ok)
    assert.matches("closed", tostring(err))
  end)
end)

-- 100k records read with a batch of 1000 (5000 on MongoDB: FerretDB scans
-- the collection for each batch's load, ~2 s a load at 20k documents, and
-- creates ~700 documents a second). The values live in the record store
-- (C memory, counted by env:stats().store.records): it must never hold
-- more than one batch (search() + each() holds every id at once, and a
-- prefetch window of 20000 records' values). The Lua heap holds the batch recordset and the
-- record objects of the current batch: measured at 125 kB after a full
-- collection at a batch boundary and 251 kB at the highest without forced
-- collections (Lua's default pause lets the heap reach about twice its
-- live size before a cycle), on SQLite and PostgreSQL alike. The bounds
-- (512 kB, 1 MB, 64 kB left after the loop) leave room for the collector's
-- timing and fail if anything per record accumulates (100k records would
-- keep at least 100k * 40 bytes = 4 MB).
describe("search_iter memory on " .. h.backend, function()
  local BIG = h.backend == "mongodb" and 5000 or 100000

  it("stays flat over " .. BIG .. " records", function()
    local env = h.fresh_env()
    local B = env["cur.big"]
    local rows = {}
    for i = 1, BIG do rows[i] = { n = i } end
    B:create(rows)
    rows = nil
    env:invalidate()
    collectgarbage()
    collectgarbage()
    local base = collectgarbage("count")
    local most_kb, peak_kb, most_store, sum, i = 0, 0, 0, 0, 0
    for rec in B:search_iter({}, { batch = 1000 }) do
      sum = sum + rec.n
      i = i + 1
      peak_kb = math.max(peak_kb, collectgarbage("count") - base)
      if i % 1000 == 0 then
        most_store = math.max(most_store, env:stats().store.records)
        collectgarbage()
        most_kb = math.max(most_kb, collectgarbage("count") - base)
      end
    end
    assert.equal(BIG, i)
    assert.equal(BIG * (BIG + 1) // 2, sum)
    assert.equal(1000, most_store)
    assert.equal(0, env:stats().store.records) -- the last batch is forgotten at the end
    assert.is_true(most_kb < 512, string.format("the heap grew by %.0f kB", most_kb))
    assert.is_true(peak_kb < 1024, string.format("the heap peaked %.0f kB above", peak_kb))
    collectgarbage()
    assert.is_true(collectgarbage("count") - base < 64,
                   string.format("%.0f kB left after the loop", collectgarbage("count") - base))
    env:close()
  end)
end)
