-- The Lua API refuses what it does not understand: every public method
-- called with arguments of the wrong type raises an earnorm.Error with
-- code EINVAL and a message naming the method (never a Lua internal such
-- as "attempt to index a nil value" from inside earnorm's modules), and
-- every unknown option is an error naming it and the closest known one.
require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.model("strict.tag", { name = f.Char{} })
orm.model("strict.item", {
  name    = f.Char{},
  age     = f.Integer{},
  kind    = f.Selection{ choices = { "a", "b" } },
  tag_ids = f.Many2many{ "strict.tag" },
})

local function raises_einval(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error, got none")
  assert(orm.is_error(err), "not an earnorm.Error: " .. tostring(err))
  return err
end

describe("the Lua API", function()
  local env, P, rec
  before_each(function()
    env = orm.connect("sqlite::memory:")
    env:migrate()
    P = env["strict.item"]
    rec = P:create{ name = "r", age = 3 }
  end)
  after_each(function() env:close() end)

  describe("wrong argument types are EINVAL naming the method", function()
    -- { method named in the message, call }
    local cases = {
      { "search", function() return P:search(5) end },
      { "search", function() return P:search("x") end },
      { "search", function() return P:search({}, 5) end },
      { "search", function() return P:search(orm.null) end },
      { "search_read", function() return P:search_read(nil, 7) end },
      { "search_read", function() return P:search_read(5) end },
      { "search_read", function() return P:search_read({}, { fields = "name" }) end },
      { "search_read", function() return P:search_read({}, { fields = { 1 } }) end },
      { "search_count", function() return P:search_count(5) end },
      { "search_count", function() return P:search_count({}, 5) end },
      { "read_group", function() return P:read_group(5) end },
      { "read_group", function() return P:read_group({}, "x") end },
      { "read_group", function() return P:read_group({}, {}, 5) end },
      { "read_group", function() return P:read_group({}, {}, {}, 5) end },
      { "read_group", function() return P:read_group({}, { 5 }, { "kind" }) end },
      { "read_group", function() return P:read_group({}, {}, { "kind" }, { orderby = {} }) end },
      { "create", function() return P:create(42) end },
      { "create", function() return P:create("x") end },
      { "create", function() return P:create{ 1, 2 } end },
      { "create", function() return P:create(P) end },
      { "write", function() return rec:write("x") end },
      { "write", function() return rec:write(orm.null) end },
      { "browse", function() return P:browse({ "a" }) end },
      { "browse", function() return P:browse(true) end },
      { "browse", function() return P:browse(1.5) end },
      { "browse", function() return P:browse(orm.null) end },
      { "read", function() return rec:read(5) end },
      { "read", function() return rec:read({ 5 }) end },
      { "read", function() return rec:read(nil, 5) end },
      { "mapped", function() return rec:mapped(5) end },
      { "filtered", function() return rec:filtered(5) end },
      { "filtered_domain", function() return rec:filtered_domain(5) end },
      { "sorted", function() return rec:sorted(5) end },
      { "copy", function() return rec:copy(5) end },
      { "with_context", function() return rec:with_context(5) end },
      { "prefetch", function() return rec:prefetch(5) end },
      { "|", function() return rec | 5 end },
      { "&", function() return 5 & rec end },
      { "-", function() return rec - {} end },
      { "orm.connect", function() return orm.connect(42) end },
      { "orm.connect", function() return orm.connect{ database = 5 } end },
      { "orm.connect", function() return orm.connect{ log_queries = "yes" } end },
      { "orm.connect", function() return orm.connect{ prefetch = -1 } end },
      { "orm.connect", function() return orm.connect{ pool = 5 } end },
      { "env:model", function() return env:model(5) end },
      { "env:migrate", function() return env:migrate(5) end },
      { "env:migrate", function() return env:migrate{ dry_run = "yes" } end },
      { "env:transaction", function() return env:transaction(5) end },
      { "env:transaction", function() return env:transaction(function() end, 5) end },
      { "env:transaction", function() return env:transaction(function() end, { retries = -1 }) end },
      { "env:begin", function() return env:begin(5) end },
      { "env:explain", function() return env:explain(5) end },
      { "env:explain", function() return env:explain("strict.item", 5) end },
      { "env:explain", function() return env:explain("strict.item", {}, 5) end },
      { "env:on", function() return env:on(5) end },
      { "env:on", function() return env:on("after_commit", 5) end },
      { "orm.on", function() return orm.on("after_commit", "x") end },
    }
    for i, c in ipairs(cases) do
      it(string.format("%d: %s", i, c[1]), function()
        local err = raises_einval(c[2])
        assert.are.equal("EINVAL", err.code, err.message)
        assert.is_nil(err.message:find("attempt to", 1, true), err.message)
        assert.is_nil(err.message:find("bad argument", 1, true), err.message)
        assert.matches(c[1], err.message, 1, true)
      end)
    end
  end)

  describe("unknown options are errors naming the closest known one", function()
    local cases = {
      { function() return P:search({}, { limt = 1 }) end, "search: unknown option 'limt' (did you mean 'limit'?)" },
      { function() return P:search({}, { ordre = "name" }) end, "(did you mean 'order'?)" },
      { function() return P:search_read({}, { feilds = { "name" } }) end, "(did you mean 'fields'?)" },
      { function() return P:search_read({}, { offest = 1 }) end, "(did you mean 'offset'?)" },
      { function() return P:search_count({}, { limit = 1 }) end, "search_count: unknown option 'limit' (it takes none)" },
      { function() return P:read_group({}, {}, { "kind" }, { ordeby = "kind" }) end, "(did you mean 'orderby'?)" },
      { function() return P:read_group({}, {}, { "kind" }, { lazy = false }) end, "unknown option 'lazy'" },
      { function() return rec:read({ "name" }, { null = true }) end, "(did you mean 'nulls'?)" },
      { function() return orm.connect{ databse = "sqlite::memory:" } end, "orm.connect: unknown option 'databse' (did you mean 'database'?)" },
      { function() return orm.connect{ database = "sqlite::memory:", pool = { maxx = 4 } } end, "unknown pool option 'maxx' (did you mean 'max'?)" },
      { function() return orm.connect{ database = "sqlite::memory:", pool = { size = 4 } } end, "(known: min, max, timeout" },
      { function() return orm.connect("sqlite::memory:?timeoutt=5") end, "unknown option 'timeoutt' for sqlite (did you mean 'timeout'?)" },
      { function() return env:migrate{ dry_runn = true } end, "env:migrate: unknown option 'dry_runn' (did you mean 'dry_run'?)" },
      { function() return env:transaction(function() end, { isolaton = "serializable" }) end, "(did you mean 'isolation'?)" },
      { function() return env:transaction(function() end, { isolation = "serialisable" }) end, "did you mean \"serializable\"?" },
      { function() return env:begin{ retries = 1 } end, "env:begin: unknown option 'retries'" },
      { function() return env:explain("strict.item", {}, { limt = 1 }) end, "env:explain: unknown option 'limt' (did you mean 'limit'?)" },
      { function() return env:on("after_comit", function() end) end, "did you mean 'after_commit'?" },
      { function() return env["strict.itme"] end, "unknown model 'strict.itme' (did you mean 'strict.item'?)" },
    }
    for i, c in ipairs(cases) do
      it(string.format("%d: %s", i, c[2]), function()
        local ok, err = pcall(c[1])
        assert.is_false(ok)
        assert(orm.is_error(err), tostring(err))
        assert.matches(c[2], err.message, 1, true)
      end)
    end

    it("nothing is created by a refused connect (no sqlite://earnorm.db)", function()
      local dir = os.getenv("EARNORM_TEST_WORK") or "."
      os.remove(dir .. "/earnorm.db")
      pcall(orm.connect, { databse = "sqlite::memory:" })
      assert.is_nil(io.open("earnorm.db", "rb"))
    end)

    it("the cache is refused, not ignored, until it exists", function()
      local err = raises_einval(orm.connect, { database = "sqlite::memory:", cache = "redis://127.0.0.1:6379/0" })
      assert.are.equal("ENOTSUP", err.code)
      assert.matches("orm.connect: cache: the cache is not built yet", err.message, 1, true)
    end)

    it("known options still work", function()
      assert.are.equal(1, #P:search({}, { limit = 1, offset = 0, order = "name" }))
      assert.are.equal(1, #P:search_read({}, { fields = { "name" }, limit = 1, nulls = true }))
      assert.are.equal(1, #P:read_group({}, {}, { "kind" }, { orderby = "kind", limit = 5, offset = 0 }))
      env:transaction(function() end, { isolation = "serializable", retries = 0 })
      assert.is_table(env:migrate{ dry_run = true })
      local e2 = orm.connect{ database = "sqlite::memory:", pool = { max = 2, min = 0 }, prefetch = 10,
                              log_queries = false }
      e2:close()
    end)
  end)

  describe("EARNORM_LOG_QUERIES", function()
    it("takes 1/0, true/false, yes/no, on/off and refuses anything else", function()
      local env_mod = require "earnorm.env"
      local saved = os.getenv
      local value
      os.getenv = function(k) if k == "EARNORM_LOG_QUERIES" then return value end return saved(k) end
      local ok, res = pcall(function()
        for _, v in ipairs({ "1", "true", "TRUE", "yes", "on" }) do
          value = v
          assert.is_true(env_mod.log_queries_env(), v)
        end
        for _, v in ipairs({ "0", "false", "no", "off", "" }) do
          value = v
          assert.is_false(env_mod.log_queries_env(), v)
        end
        value = "maybe"
        local err = raises_einval(env_mod.log_queries_env)
        assert.are.equal("EINVAL", err.code)
        assert.matches("EARNORM_LOG_QUERIES=\"maybe\": use 1 or 0", err.message, 1, true)
        err = raises_einval(orm.connect, "sqlite::memory:")
        assert.matches("EARNORM_LOG_QUERIES", err.message, 1, true)
      end)
      os.getenv = saved
      assert(ok, res)
    end)
  end)

  describe("the URL shown never holds a password", function()
    it("env.url and tostring(env) mask ?password= and user:pass@", function()
      local e = orm.connect("sqlite::memory:?timeout=100")
      assert.are.equal("sqlite::memory:?timeout=100", e.url)
      e:close()
      local err = raises_einval(orm.connect, "postgresql://ann:hunter2@127.0.0.1:1/x?password=hunter2&sslmod=x")
      assert.is_nil(err.message:find("hunter2", 1, true), err.message)
      err = raises_einval(orm.connect, "bad url?password=hunter2")
      assert.is_nil(err.message:find("hunter2", 1, true), err.message)
      assert.matches("password=***", err.message, 1, true)
    end)
  end)

  describe("orm.json marks", function()
    it("object() and array() say how an empty table is written; other tables are refused", function()
      assert.are.equal("{}", orm.json.encode(orm.json.object()))
      assert.are.equal("[]", orm.json.encode(orm.json.array()))
      assert.are.equal("[]", orm.json.encode({}))
      assert.are.equal('{"a":1}', orm.json.encode(orm.json.object({ a = 1 })))
      assert.are.equal("{}", orm.json.encode(orm.json.decode("{}")))
      assert.are.equal("[]", orm.json.encode(orm.json.decode("[]")))
      local err = raises_einval(orm.json.object, 5)
      assert.matches("orm.json.object expects a table or nothing, got a number", err.message, 1, true)
      err = raises_einval(orm.json.array, setmetatable({}, {}))
      assert.matches("orm.json.array: the table already has a metatable", err.message, 1, true)
    end)
  end)

  describe("capabilities", function()
    it("server names the engine and its version", function()
      assert.matches("^SQLite 3%.%d+", env:capabilities().server)
    end)
  end)
end)
