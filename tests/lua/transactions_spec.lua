-- Transactions: env:transaction (commit, rollback, re-raise, savepoints,
-- isolation levels, retries), env:begin/commit/rollback by hand, and the
-- transaction events (orm.on, env:on, env:on_commit / before_commit /
-- on_rollback), and the atomicity of ORM operations. Runs on every backend
-- ($EARNORM_TEST_DB); on a server without transactions (FerretDB) only the
-- atomic operations (the undo journal) and the refusal of transactions.
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

local ctl = {}
local function reset_ctl()
  for k in pairs(ctl) do ctl[k] = nil end
  ctl.log = {}
end
reset_ctl()
local function log(what) ctl.log[#ctl.log + 1] = what end

local Item = orm.model("txs.item", {
  _order = "id",
  name = f.Char{ required = true },
  qty  = f.Integer{},
})
Item:constrains({ "qty" }, function(recs)
  for rec in recs:each() do
    if rec.qty and rec.qty < 0 then
      error(orm.ValidationError{ "qty must not be negative", field = "qty" })
    end
    if rec.qty == 13 then
      local t = nil
      return t.unlucky -- a bug in a validator: a Lua runtime error
    end
  end
end)
Item:on("after_create", function(records)
  if ctl.bug_after_create then
    local t = nil
    t.x = 1 -- a bug in an event handler
  end
end)

orm.model("txs.counter", { name = f.Char{}, value = f.Integer{ default = 0 } })

-- Global handlers: registered once (orm.on has no "off"), switched by ctl.
orm.on("before_commit", function() if ctl.global then log("global:before_commit") end end)
orm.on("after_commit", function() if ctl.global then log("global:after_commit") end end)
orm.on("after_rollback", function() if ctl.global then log("global:after_rollback") end end)

-- For atomic ORM operations: every stored type, a cascade, handlers that fail.
local Owner = orm.model("txs.owner", {
  name  = f.Char{ required = true },
  note  = f.Text{},
  score = f.Float{},
  born  = f.Date{},
  seen  = f.Datetime{},
  data  = f.Json{},
  price = f.Decimal{ digits = { 10, 2 } },
  ok    = f.Boolean{},
  pet_ids = f.One2many{ "txs.pet", "owner_id" },
})
local Pet = orm.model("txs.pet", {
  name = f.Char{ required = true },
  legs = f.Integer{},
  owner_id = f.Many2one{ "txs.owner", ondelete = "cascade" },
})
Pet:constrains({ "legs" }, function(recs)
  for rec in recs:each() do
    if rec.legs and rec.legs > 8 then
      error(orm.ValidationError{ "too many legs", field = "legs" })
    end
  end
end)
Owner:on("after_create", function(recs)
  if ctl.owner_side_pet then
    -- a nested operation that fails, caught: only it is undone
    ctl.caught = not pcall(function()
      recs.env["txs.pet"]:create{ name = "spider", legs = 9, owner_id = recs[1] }
    end)
  end
  if ctl.fail_create then error("after_create refuses") end
end)
Owner:on("after_write", function(recs)
  if ctl.handler_writes then
    recs.env["txs.pet"]:create{ name = "made by handler", owner_id = recs[1] }
    ctl.handler_writes:write{ note = "touched by handler" }
  end
  if ctl.fail_write then error("after_write refuses") end
end)
Owner:on("after_unlink", function()
  if ctl.fail_unlink then error("after_unlink refuses") end
end)

local OWNER_FIELDS = { "name", "note", "score", "born", "seen", "data", "price", "ok" }
local function snapshot(recs)
  local t = {}
  for rec in recs:each() do
    local row = { id = rec.id }
    for _, k in ipairs(OWNER_FIELDS) do row[k] = rec[k] end
    t[#t + 1] = row
  end
  return t
end

local sqlite = h.backend == "sqlite"

local function names(env)
  local t = {}
  for rec in env["txs.item"]:search({}, { order = "name" }):each() do t[#t + 1] = rec.name end
  return table.concat(t, ",")
end

-- The database as a second connection sees it (never this env's store).
local function other_count(other)
  return other["txs.item"]:search_count{}
end

describe("transactions (" .. h.backend .. ")", function()
  local env, other

  before_each(function()
    reset_ctl()
    env = h.fresh_env()
    other = orm.connect(h.url)
  end)

  after_each(function()
    if env:in_transaction() then pcall(env.rollback, env) end
    other:close()
    env:close()
  end)

  -- Every backend: a transaction where the server has them, the undo
  -- journal where it has not (a standalone MongoDB, FerretDB).
  describe("atomic ORM operations", function()
    local function three(E)
      return E["txs.owner"]:create{
        { name = "ann", note = "n1", score = 1.5, born = "2001-02-03", seen = "2020-01-02 03:04:05",
          data = { tags = { "a", "b" }, n = 1 }, price = "12.34", ok = true },
        { name = "bob", note = "n2", score = -2.25, born = "1999-12-31", data = { 1, 2, 3 },
          price = "-0.50", ok = false },
        { name = "cid" }, -- every optional field empty
      }
    end

    it("a failing after_write leaves every record as it was, empty fields included", function()
      local owners = three(env)
      local before = snapshot(owners)
      ctl.fail_write = true
      local err = h.error_of(owners.write, owners, { note = "x", score = 9.5, born = "2024-01-01",
        seen = "2024-01-01 00:00:00", data = { changed = true }, price = "1.00", ok = true })
      assert.matches("after_write refuses", tostring(err))
      ctl.fail_write = false
      assert.are.same(before, snapshot(owners))      -- this env's store
      env:invalidate()
      assert.are.same(before, snapshot(owners))      -- read again
      assert.are.same(before, snapshot(other["txs.owner"]:browse(owners.ids)))
    end)

    it("a failing after_unlink brings back the records and their cascaded children, same ids", function()
      local owners = three(env)
      local P = env["txs.pet"]
      local pets = P:create{ { name = "rex", legs = 4, owner_id = owners[1] },
                             { name = "tom", legs = 4, owner_id = owners[1] },
                             { name = "nemo", owner_id = owners[2] } }
      local before, pet_ids = snapshot(owners), pets.ids
      ctl.fail_unlink = true
      local err = h.error_of(owners.unlink, owners)
      assert.matches("after_unlink refuses", tostring(err))
      ctl.fail_unlink = false
      env:invalidate()
      assert.are.equal(3, env["txs.owner"]:search_count{})
      assert.are.same(before, snapshot(env["txs.owner"]:browse(before[1].id) |
                                       env["txs.owner"]:browse(before[2].id) |
                                       env["txs.owner"]:browse(before[3].id)))
      local back = P:search({}, { order = "name" })
      assert.are.same({ "nemo", "rex", "tom" }, back:mapped("name"))
      local ids = {}
      for _, id in ipairs(pet_ids) do ids[tostring(id)] = true end
      for rec in back:each() do assert.is_true(ids[tostring(rec.id)], "a pet came back with a new id") end
      assert.are.equal(owners[1], P:search{ { "name", "=", "rex" } }.owner_id)
      assert.are.equal(2, #owners[1].pet_ids)
    end)

    it("a failing after_create of a batch leaves none of it", function()
      ctl.fail_create = true
      h.error_of(three, env)
      ctl.fail_create = false
      assert.are.equal(0, env["txs.owner"]:search_count{})
      assert.are.equal(0, other["txs.owner"]:search_count{})
    end)

    it("what a handler wrote is undone with the operation that failed", function()
      local owners = three(env)
      local bystander = owners[3]
      ctl.handler_writes = bystander
      ctl.fail_write = true
      h.error_of(owners[1].write, owners[1], { score = 7 })
      ctl.handler_writes, ctl.fail_write = nil, false
      env:invalidate()
      assert.are.equal(0, env["txs.pet"]:search_count{})
      assert.is_nil(bystander.note)
      assert.are.equal(1.5, owners[1].score)
    end)

    it("a nested operation that fails and is caught is undone alone", function()
      ctl.owner_side_pet = true
      local o = env["txs.owner"]:create{ name = "dan" }
      ctl.owner_side_pet = false
      assert.is_true(ctl.caught)
      env:invalidate()
      assert.are.equal(1, env["txs.owner"]:search_count{ { "name", "=", "dan" } })
      assert.are.equal(0, env["txs.pet"]:search_count{})
      assert.are.equal(0, #o.pet_ids)
    end)
  end)

  if not h.caps().transactions then
    it("env:transaction and env:begin refuse with ENOTSUP on this server; nothing runs", function()
      local ran = false
      local err = h.error_of(env.transaction, env, function() ran = true end)
      assert.are.equal("ENOTSUP", err.code)
      assert.matches("no transactions", err.message, 1, true)
      assert.is_false(ran)
      err = h.error_of(env.begin, env)
      assert.are.equal("ENOTSUP", err.code)
      assert.is_false(env:in_transaction())
    end)
    return -- the rest needs transactions
  end

  describe("env:transaction", function()
    it("commits when fn returns, and returns fn's results", function()
      local a, b, c = env:transaction(function(e)
        assert.are.equal(env, e)
        assert.is_true(e:in_transaction())
        assert.are.equal(1, e:transaction_depth())
        e["txs.item"]:create{ { name = "a" }, { name = "b" } }
        return 1, nil, "three"
      end)
      assert.are.equal(1, a)
      assert.is_nil(b)
      assert.are.equal("three", c)
      assert.is_false(env:in_transaction())
      assert.are.equal(2, other_count(other))
    end)

    it("rolls back and re-raises the same error when fn fails", function()
      env["txs.item"]:create{ name = "before" }
      local boom = orm.Error{ code = "ECONFLICT", "made up conflict" }
      local err = h.error_of(env.transaction, env, function(e)
        e["txs.item"]:create{ name = "doomed" }
        assert.are.equal(2, e["txs.item"]:search_count{})
        error(boom)
      end)
      assert.are.equal(boom, err)
      assert.are.equal("ECONFLICT", err.code)
      assert.is_false(env:in_transaction())
      assert.are.equal("before", names(env))
      assert.are.equal(1, other_count(other))
      -- a plain Lua error comes back as it was raised
      err = h.error_of(env.transaction, env, function(e)
        e["txs.item"]:create{ name = "doomed too" }
        error("plain failure", 0)
      end)
      assert.are.equal("plain failure", err)
      assert.are.equal(1, other_count(other))
    end)

    it("rolls back a validation error raised by a create inside it", function()
      local err = h.error_of(env.transaction, env, function(e)
        e["txs.item"]:create{ name = "ok", qty = 1 }
        e["txs.item"]:create{ name = "bad", qty = -1 }
      end)
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal("qty", err.field)
      assert.are.equal(0, env["txs.item"]:search_count{})
      assert.are.equal(0, other_count(other))
    end)

    it("turns nested calls into savepoints: a caught inner failure undoes only the inner part", function()
      env:transaction(function(e)
        e["txs.item"]:create{ name = "outer" }
        local ok, err = pcall(e.transaction, e, function(e2)
          assert.are.equal(2, e2:transaction_depth())
          e2["txs.item"]:create{ name = "inner" }
          error(orm.Error("inner failure"))
        end)
        assert.is_false(ok)
        assert.matches("inner failure", tostring(err))
        assert.are.equal(1, e:transaction_depth())
        assert.are.equal("outer", names(e))
        e["txs.item"]:create{ name = "after" }
      end)
      assert.are.equal("after,outer", names(env))
      assert.are.equal(2, other_count(other))
    end)

    it("nests several levels, each undone on its own", function()
      env:transaction(function(e)
        e["txs.item"]:create{ name = "l1" }
        e:transaction(function()
          e["txs.item"]:create{ name = "l2" }
          pcall(e.transaction, e, function()
            e["txs.item"]:create{ name = "l3" }
            e:transaction(function()
              assert.are.equal(4, e:transaction_depth())
              e["txs.item"]:create{ name = "l4" }
            end)
            assert.are.equal("l1,l2,l3,l4", names(e))
            error("undo levels 3 and 4")
          end)
          assert.are.equal(2, e:transaction_depth())
          assert.are.equal("l1,l2", names(e))
          e:transaction(function() e["txs.item"]:create{ name = "l3b" } end)
        end)
        assert.are.equal(0, other_count(other)) -- nothing is committed yet
      end)
      assert.are.equal("l1,l2,l3b", names(env))
      assert.are.equal(3, other_count(other))
    end)

    it("a failure at the outermost level undoes the committed savepoints too", function()
      h.error_of(env.transaction, env, function(e)
        e:transaction(function() e["txs.item"]:create{ name = "released" } end)
        assert.are.equal(1, e["txs.item"]:search_count{})
        error("outer fails")
      end)
      assert.are.equal(0, env["txs.item"]:search_count{})
      assert.are.equal(0, other_count(other))
    end)

    it("rolls everything back when an event handler has a bug", function()
      env["txs.item"]:create{ name = "kept" }
      local before = env["txs.item"]:search_count{}
      local err = h.error_of(env.transaction, env, function(e)
        e["txs.item"]:create{ name = "first" }
        ctl.bug_after_create = true
        e["txs.item"]:create{ name = "second" }
      end)
      assert.is_true(orm.is_error(err))
      assert.matches("attempt to index a nil value", err.message)
      ctl.bug_after_create = false
      assert.are.equal(before, env["txs.item"]:search_count{})
      assert.are.equal(before, other_count(other))
      assert.are.equal("kept", names(env))
    end)

    it("rolls everything back when a validator has a bug", function()
      local before = env["txs.item"]:search_count{}
      local err = h.error_of(env.transaction, env, function(e)
        e["txs.item"]:create{ name = "fine", qty = 1 }
        e["txs.item"]:create{ name = "unlucky", qty = 13 }
      end)
      assert.is_true(orm.is_error(err))
      assert.matches("attempt to index a nil value", err.message)
      assert.are.equal(before, env["txs.item"]:search_count{})
      assert.are.equal(before, other_count(other))
    end)

    it("refuses a bad retries option", function()
      local err = h.error_of(env.transaction, env, function() end, { retries = -1 })
      assert.are.equal("EINVAL", err.code)
      err = h.error_of(env.transaction, env, function() end, { retries = "many" })
      assert.are.equal("EINVAL", err.code)
      assert.is_false(env:in_transaction())
    end)

    it("retries fn after EBUSY, up to opts.retries, then raises", function()
      local attempts = 0
      local res = env:transaction(function(e)
        attempts = attempts + 1
        e["txs.item"]:create{ name = "try " .. attempts }
        if attempts < 3 then error(orm.Error{ code = "EBUSY", "could not serialize (simulated)" }) end
        return "done"
      end, { retries = 5 })
      assert.are.equal("done", res)
      assert.are.equal(3, attempts)
      -- the failed attempts left nothing behind
      assert.are.equal("try 3", names(env))

      attempts = 0
      local err = h.error_of(env.transaction, env, function()
        attempts = attempts + 1
        error(orm.Error{ code = "EBUSY", "always busy" })
      end, { retries = 2 })
      assert.are.equal("EBUSY", err.code)
      assert.are.equal(3, attempts)

      -- other errors are not retried
      attempts = 0
      err = h.error_of(env.transaction, env, function()
        attempts = attempts + 1
        error(orm.ValidationError("no"))
      end, { retries = 4 })
      assert.are.equal("EVALIDATE", err.code)
      assert.are.equal(1, attempts)

      -- nor is a nested call: the whole transaction would have to run again
      attempts = 0
      err = h.error_of(env.transaction, env, function(e)
        e:transaction(function()
          attempts = attempts + 1
          error(orm.Error{ code = "EBUSY", "busy inside" })
        end, { retries = 3 })
      end)
      assert.are.equal("EBUSY", err.code)
      assert.are.equal(1, attempts)
      assert.are.equal(1, other_count(other))
    end)
  end)

  describe("isolation levels", function()
    for _, level in ipairs({ "read committed", "repeatable read", "serializable" }) do
      it("accepts '" .. level .. "' and really uses it", function()
        env["txs.item"]:create{ name = "seed" }
        local writer = orm.connect(sqlite and (h.url .. "?timeout=100") or h.url)
        local seen = env:transaction(function(e)
          local n0 = e["txs.item"]:search_count{}
          assert.are.equal(1, n0)
          local ok, err = pcall(writer["txs.item"].create, writer["txs.item"], { name = "concurrent" })
          if sqlite and level == "serializable" then
            -- BEGIN IMMEDIATE holds the write lock: another writer is kept out
            assert.is_false(ok)
            assert.are.equal("EBUSY", err.code)
          else
            assert.is_true(ok, tostring(err))
          end
          return e["txs.item"]:search_count{}
        end, { isolation = level })
        writer:close()
        if sqlite then
          assert.are.equal(1, seen) -- SQLite transactions read one snapshot
        elseif level == "read committed" then
          assert.are.equal(2, seen) -- each statement sees what others committed
        else
          assert.are.equal(1, seen) -- one snapshot for the whole transaction
        end
      end)
    end

    it("uses the server's default (read committed on PostgreSQL) without a level", function()
      env["txs.item"]:create{ name = "seed" }
      local writer = sqlite and orm.connect(h.url .. "?timeout=100") or other
      local seen = env:transaction(function(e)
        e["txs.item"]:search_count{}
        local ok, err = pcall(writer["txs.item"].create, writer["txs.item"], { name = "concurrent" })
        if sqlite then
          -- BEGIN IMMEDIATE: the transaction holds the write lock from the
          -- start, so it never fails to upgrade; another writer waits
          assert.is_false(ok)
          assert.are.equal("EBUSY", err.code)
        else
          assert.is_true(ok, tostring(err))
        end
        return e["txs.item"]:search_count{}
      end)
      if sqlite then writer:close() end
      assert.are.equal(sqlite and 1 or 2, seen)
    end)

    it("refuses an unknown level with EINVAL, before beginning anything", function()
      local ran = false
      local err = h.error_of(env.transaction, env, function() ran = true end, { isolation = "snapshot" })
      assert.are.equal("EINVAL", err.code)
      assert.matches("unknown isolation level 'snapshot'", err.message)
      assert.is_false(ran)
      assert.is_false(env:in_transaction())
      err = h.error_of(env.begin, env, { isolation = "READ COMMITTED!" })
      assert.are.equal("EINVAL", err.code)
      assert.is_false(env:in_transaction())
    end)

    it("refuses a level on a nested transaction with ETXNSTATE", function()
      local err
      env:transaction(function(e)
        e["txs.item"]:create{ name = "outer" }
        err = h.error_of(e.transaction, e, function() e["txs.item"]:create{ name = "never" } end,
                         { isolation = "serializable" })
        assert.are.equal(1, e:transaction_depth())
      end)
      assert.are.equal("ETXNSTATE", err.code)
      assert.matches("outermost", err.message)
      assert.are.equal("outer", names(env))
    end)
  end)

  describe("by hand", function()
    it("env:begin / env:commit / env:rollback", function()
      env:begin()
      assert.is_true(env:in_transaction())
      env["txs.item"]:create{ name = "one" }
      env:begin() -- a savepoint
      assert.are.equal(2, env:transaction_depth())
      env["txs.item"]:create{ name = "two" }
      env:rollback()
      assert.are.equal(1, env:transaction_depth())
      env:begin()
      env["txs.item"]:create{ name = "three" }
      env:commit()
      assert.are.equal(0, other_count(other))
      env:commit()
      assert.is_false(env:in_transaction())
      assert.are.equal("one,three", names(env))
      assert.are.equal(2, other_count(other))

      env:begin{ isolation = "serializable" }
      env["txs.item"]:create{ name = "four" }
      env:rollback()
      assert.are.equal(2, other_count(other))
    end)

    it("commit and rollback outside a transaction raise ETXNSTATE", function()
      assert.are.equal("ETXNSTATE", h.error_of(env.commit, env).code)
      assert.are.equal("ETXNSTATE", h.error_of(env.rollback, env).code)
      assert.are.equal("ETXNSTATE", h.error_of(env.on_commit, env, function() end).code)
      assert.are.equal("ETXNSTATE", h.error_of(env.before_commit, env, function() end).code)
      assert.are.equal("ETXNSTATE", h.error_of(env.on_rollback, env, function() end).code)
    end)
  end)

  describe("events", function()
    it("run globally, per env and per transaction, in that order of registration sets", function()
      ctl.global = true
      env:on("before_commit", function() log("env:before_commit") end)
      env:on("after_commit", function() log("env:after_commit") end)
      env:on("after_rollback", function() log("env:after_rollback") end)
      env:transaction(function(e)
        e:before_commit(function() log("txn:before_commit") end)
        e:on_commit(function() log("txn:after_commit") end)
        e:on_rollback(function() log("txn:after_rollback") end)
        e["txs.item"]:create{ name = "x" }
      end)
      assert.are.same({ "txn:before_commit", "env:before_commit", "global:before_commit",
                        "txn:after_commit", "env:after_commit", "global:after_commit" }, ctl.log)
      ctl.log = {}
      pcall(env.transaction, env, function(e)
        e:on_commit(function() log("txn:after_commit") end)
        e:on_rollback(function() log("txn:after_rollback") end)
        error("fail")
      end)
      assert.are.same({ "txn:after_rollback", "env:after_rollback", "global:after_rollback" }, ctl.log)
      -- per-transaction handlers are gone with their transaction
      ctl.log = {}
      env:transaction(function() end)
      assert.are.same({ "env:before_commit", "global:before_commit", "env:after_commit",
                        "global:after_commit" }, ctl.log)
      -- env:on is for this env only
      ctl.log = {}
      other:transaction(function() end)
      assert.are.same({ "global:before_commit", "global:after_commit" }, ctl.log)
    end)

    it("refuse unknown events and non-functions", function()
      assert.are.equal("EINVAL", h.error_of(orm.on, "after_save", function() end).code)
      assert.are.equal("EINVAL", h.error_of(env.on, env, "before_commit", "not a function").code)
      env:begin()
      assert.are.equal("EINVAL", h.error_of(env.on_commit, env, 42).code)
      env:rollback()
    end)

    it("after_commit sees the committed data from another connection", function()
      local seen_other, seen_depth
      env:on("after_commit", function(e)
        seen_other = other_count(other)
        seen_depth = e:transaction_depth()
      end)
      env:transaction(function(e)
        e:on_commit(function() log(tostring(other_count(other))) end)
        e["txs.item"]:create{ { name = "a" }, { name = "b" }, { name = "c" } }
      end)
      assert.are.equal(3, seen_other)
      assert.are.equal(0, seen_depth)
      assert.are.same({ "3" }, ctl.log)
    end)

    it("before_commit runs inside the transaction: its writes commit with it", function()
      env:transaction(function(e)
        e:before_commit(function(e2)
          assert.are.equal(1, e2:transaction_depth())
          assert.are.equal(0, other_count(other))
          e2["txs.item"]:create{ name = "from before_commit" }
        end)
        e["txs.item"]:create{ name = "body" }
      end)
      assert.are.equal("body,from before_commit", names(env))
      assert.are.equal(2, other_count(other))
    end)

    it("an error in before_commit rolls back and is raised", function()
      env:on("after_rollback", function() log("rolled back") end)
      env:on("after_commit", function() log("committed") end)
      local err = h.error_of(env.transaction, env, function(e)
        e["txs.item"]:create{ name = "doomed" }
        e:before_commit(function() error(orm.ValidationError("checked at commit")) end)
      end)
      assert.are.equal("EVALIDATE", err.code)
      assert.matches("checked at commit", err.message)
      assert.is_false(env:in_transaction())
      assert.are.equal(0, env["txs.item"]:search_count{})
      assert.are.equal(0, other_count(other))
      assert.are.same({ "rolled back" }, ctl.log)
      -- a plain Lua error there is wrapped, naming the event
      ctl.log = {}
      err = h.error_of(env.transaction, env, function(e)
        e["txs.item"]:create{ name = "doomed" }
        e:before_commit(function() error("plain") end)
      end)
      assert.is_true(orm.is_error(err))
      assert.matches("before_commit", err.message)
      assert.matches("plain", err.message)
      assert.are.equal(0, other_count(other))
    end)

    it("an error in after_commit is raised, but the data stays committed", function()
      local err = h.error_of(env.transaction, env, function(e)
        e["txs.item"]:create{ name = "kept" }
        e:on_commit(function() error(orm.Error("after the fact")) end)
      end)
      assert.matches("after the fact", tostring(err))
      assert.is_false(env:in_transaction())
      assert.are.equal(1, other_count(other))
    end)

    it("handlers registered in a savepoint that rolls back do not run at commit", function()
      env:transaction(function(e)
        e:on_commit(function() log("outer commit") end)
        pcall(e.transaction, e, function(e2)
          e2:on_commit(function() log("inner commit") end)
          e2:before_commit(function() log("inner before_commit") end)
          e2:on_rollback(function() log("inner rollback") end)
          error("undo the savepoint")
        end)
        -- the savepoint's after_rollback ran when it rolled back
        assert.are.same({ "inner rollback" }, ctl.log)
        e:transaction(function(e3)
          e3:on_commit(function() log("released savepoint commit") end)
        end)
        -- a released savepoint's handlers wait for the real commit
        assert.are.same({ "inner rollback" }, ctl.log)
      end)
      assert.are.same({ "inner rollback", "outer commit", "released savepoint commit" }, ctl.log)
    end)

    it("after_rollback handlers of the transaction run on env:rollback by hand", function()
      env:begin()
      env:on_rollback(function(e) log("rollback at depth " .. e:transaction_depth()) end)
      env:on_commit(function() log("never") end)
      env["txs.item"]:create{ name = "gone" }
      env:rollback()
      assert.are.same({ "rollback at depth 0" }, ctl.log)
      assert.are.equal(0, other_count(other))
    end)
  end)

  describe("the record store", function()
    it("a transaction reads what another connection committed before it began", function()
      local c = env["txs.counter"]:create{ name = "n", value = 1 }
      assert.are.equal(1, c.value) -- now in env's record store
      other["txs.counter"]:browse(c.id):write{ value = 10 }
      env:transaction(function(e)
        local r = e["txs.counter"]:browse(c.id)
        r:write{ value = r.value + 1 }
      end, { isolation = "serializable" })
      -- the increment applies to 10: the update from `other` is not lost
      assert.are.equal(11, other["txs.counter"]:search_read({ { "id", "=", c.id } },
                                                             { fields = { "value" } })[1].value)
    end)
  end)

  describe("two earnorm processes", function()
    it("increment one counter in serializable transactions with retries, losing nothing", function()
      local c = env["txs.counter"]:create{ name = "shared", value = 0 }
      local n = 25
      local script = os.tmpname()
      local fh = assert(io.open(script, "w"))
      fh:write([[
local orm = require "earnorm"
local f = orm.fields
orm.model("txs.counter", { name = f.Char{}, value = f.Integer{ default = 0 } })
local url, id, n, go = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4]
local env = orm.connect(url)
local pause = require("earnorm.core").sleep
-- start together: wait for the go file
for _ = 1, 500 do
  local g = io.open(go)
  if g then g:close() break end
  pause(10)
end
local attempts = 0
for i = 1, n do
  env:transaction(function(e)
    attempts = attempts + 1
    local r = e["txs.counter"]:browse(id)
    local v = r.value
    if attempts == 1 then pause(150) end -- overlap the first transactions
    r:write{ value = v + 1 }
  end, { isolation = "serializable", retries = 10 })
end
print("attempts " .. attempts)
]])
      fh:close()
      local go = os.tmpname()
      os.remove(go)
      local cmd = string.format("%s %s '%s' %d %d '%s' 2>&1", h.bin, script, h.url, c.id, n, go)
      local p1 = assert(io.popen(cmd))
      local p2 = assert(io.popen(cmd))
      local g = assert(io.open(go, "w"))
      g:close()
      local out1, out2 = p1:read("a"), p2:read("a")
      local ok1, _, code1 = p1:close()
      local ok2, _, code2 = p2:close()
      os.remove(script)
      os.remove(go)
      assert.is_true(ok1, "worker 1 exited " .. tostring(code1) .. ": " .. out1)
      assert.is_true(ok2, "worker 2 exited " .. tostring(code2) .. ": " .. out2)
      local a1 = tonumber(out1:match("attempts (%d+)"))
      local a2 = tonumber(out2:match("attempts (%d+)"))
      assert.is_truthy(a1, out1)
      assert.is_truthy(a2, out2)
      local value = other["txs.counter"]:search_read({ { "id", "=", c.id } }, { fields = { "value" } })[1].value
      assert.are.equal(2 * n, value)
      if sqlite then
        -- BEGIN IMMEDIATE serializes the writers: they wait, nobody fails
        assert.is_true(a1 + a2 >= 2 * n)
      else
        -- the overlapping first transactions cannot both commit: one retried
        assert.is_true(a1 + a2 > 2 * n, "no retry happened: " .. (a1 + a2) .. " attempts")
      end
    end)
  end)
end)
