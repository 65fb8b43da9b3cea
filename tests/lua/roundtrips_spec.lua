-- Round trips of the write paths (issue 11): a single-record create or
-- write outside a transaction is one statement (its autocommit is its
-- atomic scope: no BEGIN / COMMIT), and on backends whose foreign keys
-- check Many2one targets (SQLite, PostgreSQL) create and write ask no
-- existence query; a missing target is still named model.field and id,
-- in the first chunk of a batch or a later one, inside a transaction or
-- not, and nothing of the batch stays.
--
-- Runs unchanged on every backend ($EARNORM_TEST_DB); counts are exact.
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.model("rt.target", { name = f.Char{} })
orm.model("rt.kinds", {
  name = f.Char{}, note = f.Text{}, n = f.Integer{}, x = f.Float{}, ok = f.Boolean{},
  raw = f.Binary{}, kind = f.Selection{ choices = { "a", "b" } }, code = f.Char{ unique = true },
  day = f.Date{}, amount = f.Decimal{ digits = { 10, 2 } },
})
orm.model("rt.tracked", { name = f.Char{ tracking = true } })
orm.model("rt.row", {
  name = f.Char{ required = true },
  age = f.Integer{},
  target_id = f.Many2one{ "rt.target", ondelete = "set null" },
})

local function wipe(env)
  env["rt.kinds"]:search{}:unlink()
  env["rt.tracked"]:search{}:unlink()
  env["rt.row"]:search{}:unlink()
  env["rt.target"]:search{}:unlink()
end

local function gone_id(model)
  local r = model:create{ name = "gone" }
  local id = r.id
  r:unlink()
  return id
end

describe("write round trips", function()
  local env, R, T, caps
  before_each(function()
    env = h.fresh_env()
    wipe(env)
    R, T = env["rt.row"], env["rt.target"]
    caps = env:capabilities()
  end)
  after_each(function()
    if env:in_transaction() then pcall(env.rollback, env) end
    env:close()
  end)

  it("capabilities say whether foreign keys check Many2one targets", function()
    assert.are.equal(h.backend == "postgresql", caps.foreign_keys)
  end)

  it("one record created outside a transaction: one statement, no BEGIN/COMMIT", function()
    env:reset_stats()
    local r = R:create{ name = "a", age = 3 }
    local st = env:stats()
    assert.are.equal(1, st.queries)
    assert.are.equal(1, st.by_kind.insert)
    assert.are.equal(0, st.by_kind.transaction)
    env:invalidate()
    assert.are.equal(3, r.age)
    -- with a Many2one: the foreign key checks it (SQL), or one query asks (MongoDB)
    local t = T:create{ name = "t" }
    env:reset_stats()
    R:create{ name = "b", target_id = t.id }
    st = env:stats()
    assert.are.equal(caps.foreign_keys and 1 or 2, st.queries)
    assert.are.equal(caps.foreign_keys and 0 or 1, st.by_kind.select)
    assert.are.equal(0, st.by_kind.transaction)
  end)

  it("one record written outside a transaction: one statement, no BEGIN/COMMIT", function()
    local r = R:create{ name = "a", age = 1 }
    local t = T:create{ name = "t" }
    env:reset_stats()
    r:write{ age = 2, target_id = t.id }
    local st = env:stats()
    -- SQLite (no foreign key to rely on): the existence query; MongoDB (no
    -- transactions here): that, and the undo journal's read of the old values
    assert.are.equal(caps.foreign_keys and 1 or caps.transactions and 2 or 3, st.queries)
    assert.are.equal(1, st.by_kind.update)
    assert.are.equal(0, st.by_kind.transaction)
    env:invalidate()
    assert.are.equal(2, r.age)
    assert.are.equal(t, r.target_id)
  end)

  it("several records keep their transaction (BEGIN and COMMIT)", function()
    local rs = R:create{ { name = "a" }, { name = "b" } }
    env:reset_stats()
    rs:write{ age = 5 }
    local st = env:stats()
    assert.are.equal(caps.transactions and 1 or 2, st.queries) -- MongoDB: the journal's read
    assert.are.equal(caps.transactions and 2 or 0, st.by_kind.transaction)
    env:reset_stats()
    R:create{ { name = "c" }, { name = "d" } }
    assert.are.equal(caps.transactions and 2 or 0, env:stats().by_kind.transaction)
    assert.are.equal(4, R:search_count{})
  end)

  it("a batch with Many2one values asks no existence query where foreign keys check them", function()
    local ts = T:create{ { name = "t1" }, { name = "t2" }, { name = "t3" } }
    local rows = {}
    for i = 1, 2500 do rows[i] = { name = "r" .. i, target_id = ts[(i % 3) + 1].id } end
    env:reset_stats()
    local rs = R:create(rows)
    local st = env:stats()
    assert.are.equal(2500, #rs)
    -- two chunks of 2000: an existence query each on SQLite and MongoDB,
    -- none on PostgreSQL (it reserves the ids of both chunks in one query,
    -- then COPYs each)
    local expect = { sqlite = { 2, 4 }, postgresql = { 1, 3 }, mongodb = { 2, 4 } }
    assert.are.equal(expect[h.backend][1], st.by_kind.select)
    assert.are.equal(expect[h.backend][2], st.queries)
    assert.are.equal(2500, R:search_count{ { "target_id", "!=", orm.null } })
  end)

  it("a missing target is named, whichever chunk it is in, and nothing of the batch stays", function()
    local t = T:create{ name = "t" }
    local nope = gone_id(T)
    for _, at in ipairs({ 1, 1500, 2400 }) do
      local rows = {}
      for i = 1, 2500 do rows[i] = { name = "r" .. i, target_id = t.id } end
      rows[at].target_id = nope
      local err = h.error_of(R.create, R, rows)
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("rt.row", err.model)
      assert.are.equal("target_id", err.field)
      assert.matches("rt.row.target_id: rt.target(" .. tostring(nope) .. ") does not exist",
                     err.message, 1, true)
      assert.are.equal(0, R:search_count{})
    end
    -- one record, outside a transaction
    local err = h.error_of(R.create, R, { name = "x", target_id = nope })
    assert.are.equal("target_id", err.field)
    assert.matches("rt.target(" .. tostring(nope) .. ") does not exist", err.message, 1, true)
    assert.are.equal(0, R:search_count{})
    -- a write: the old value stays
    local r = R:create{ name = "a", target_id = t.id }
    err = h.error_of(r.write, r, { target_id = nope, age = 9 })
    assert.are.equal("EVALIDATE", err.code)
    assert.are.equal("target_id", err.field)
    assert.matches("rt.row.target_id: rt.target(" .. tostring(nope) .. ") does not exist",
                   err.message, 1, true)
    env:invalidate()
    assert.are.equal(t, r.target_id)
    assert.is_nil(r.age)
  end)

  it("inside a transaction the refused create undoes only itself", function()
    if not caps.transactions then return end
    local t = T:create{ name = "t" }
    local nope = gone_id(T)
    env:begin()
    local kept = R:create{ name = "kept", target_id = t.id }
    local rows = {}
    for i = 1, 2100 do rows[i] = { name = "r" .. i, target_id = t.id } end
    rows[2050].target_id = nope
    local err = h.error_of(R.create, R, rows)
    assert.are.equal("target_id", err.field)
    assert.matches("rt.target(" .. tostring(nope) .. ") does not exist", err.message, 1, true)
    err = h.error_of(R.create, R, { name = "one", target_id = nope })
    assert.are.equal("target_id", err.field)
    -- the transaction goes on
    R:create{ name = "after" }
    env:commit()
    assert.are.equal(2, R:search_count{})
    assert.are.equal(1, R:search_count{ { "id", "=", kept.id } })
  end)

  -- PostgreSQL sends batches of 16 rows or more with COPY: binary when every
  -- column is an integer, float, boolean, text or bytes, text otherwise
  local function kinds_rows(n, with_text_only)
    local rows = {}
    for i = 1, n do
      rows[i] = {
        name = (i % 5 == 0) and nil or ("tab\there\\ " .. i .. " é \n end"),
        note = (i % 2 == 0) and ("line\r\nnext " .. i) or nil,
        n = (i % 7 == 0) and nil or (i % 2 == 0 and -1 or 1) * (i * 1000000007),
        x = (i % 3 == 0) and i or (i / 3),
        ok = (i % 4 == 0) and nil or (i % 2 == 0),
        raw = (i % 6 == 0) and nil or ("\0\1\255\t\\" .. i),
        kind = (i % 2 == 0) and "a" or "b",
        code = "c" .. i,
      }
      if with_text_only then
        rows[i].day = string.format("2024-%02d-%02d", (i % 12) + 1, (i % 28) + 1)
        rows[i].amount = (i % 9 == 0) and nil or (i / 4)
      end
    end
    return rows
  end

  for _, text_only in ipairs({ false, true }) do
    it("a batch keeps every value as given" .. (text_only and " (with date and decimal columns)" or ""),
       function()
      local K = env["rt.kinds"]
      local rows = kinds_rows(40, text_only)
      local rs = K:create(rows)
      env:invalidate()
      local got = K:search({}, { order = "id" })
      assert.are.equal(40, #got)
      for i, r in ipairs(got) do
        local e = rows[i]
        assert.are.equal(rs[i], r)
        for _, k in ipairs({ "name", "note", "n", "x", "ok", "raw", "kind", "code" }) do
          local want = e[k]
          if want == nil then
            assert.is_falsy(r[k], "row " .. i .. " " .. k)
          else
            assert.are.equal(want, r[k], "row " .. i .. " " .. k)
          end
        end
        if text_only then
          assert.are.equal(e.day, r.day)
          if e.amount == nil then assert.is_falsy(r.amount) else assert.are.equal(string.format("%.2f", e.amount), r.amount) end
        end
        assert.are.equal("float", math.type(r.x))
      end
    end)
  end

  it("a duplicate in the first chunk of a batch is refused naming the field; nothing stays", function()
    local K = env["rt.kinds"]
    K:create{ code = "taken" }
    local rows = kinds_rows(2500)
    rows[10].code = "taken"
    local err = h.error_of(K.create, K, rows)
    assert.are.equal("ECONFLICT", err.code)
    assert.are.equal("code", err.field)
    assert.matches("rt.kinds.code: duplicate value", err.message, 1, true)
    assert.are.equal(1, K:search_count{})
    -- the last chunk: the error comes when the batch completes
    rows[10].code = "c10"
    rows[2490].code = "taken"
    err = h.error_of(K.create, K, rows)
    assert.are.equal("ECONFLICT", err.code)
    assert.are.equal("code", err.field)
    assert.are.equal(1, K:search_count{})
    -- inside a transaction: the create undoes only itself
    if caps.transactions then
      env:begin()
      K:create{ code = "in txn" }
      err = h.error_of(K.create, K, rows)
      assert.are.equal("ECONFLICT", err.code)
      rows[2490].code = "c2490"
      assert.are.equal(2500, #K:create(rows))
      env:commit()
      assert.are.equal(2502, K:search_count{})
    end
  end)

  it("a tracked batch writes its history rows between its chunks; every id is its own", function()
    local K = env["rt.tracked"]
    local rows = {}
    for i = 1, 4500 do rows[i] = { name = "t" .. i } end
    local rs = K:create(rows)
    local seen = {}
    for i = 1, #rs do
      assert.is_nil(seen[rs[i].id], "id given twice")
      seen[rs[i].id] = true
    end
    assert.are.equal(4500, K:search_count{})
    env:invalidate()
    assert.are.equal("t4500", rs[4500].name)
    local hist = rs[4321]:history()
    assert.are.equal(1, #hist)
    assert.are.equal("create", hist[1].operation)
    assert.are.equal("t4321", hist[1].changes.name.new)
  end)
end)
