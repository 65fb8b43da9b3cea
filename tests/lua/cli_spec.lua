-- The `earnorm` interpreter: a drop-in for `lua` with the ORM preloaded,
-- plus its options and subcommands. Every case runs the real binary in a
-- temporary directory of its own, with stdout, stderr and the exit status
-- captured apart.
local h = require "helper"
local orm = require "earnorm"

local BIN = h.bin

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function read_file(path)
  local fh = io.open(path, "rb")
  if not fh then return nil end
  local s = fh:read("a")
  fh:close()
  return s
end

local function write_file(path, text)
  local fh = assert(io.open(path, "wb"))
  fh:write(text)
  fh:close()
end

local function exists(path)
  local fh = io.open(path, "rb")
  if fh then fh:close() end
  return fh ~= nil
end

local function tmpdir()
  local p = assert(io.popen("mktemp -d"))
  local dir = p:read("l")
  p:close()
  assert(dir and dir ~= "", "mktemp -d failed")
  return dir
end

local function rmdir(dir)
  assert(dir:match("^/tmp/") or dir:match("^/var/"), "refusing to remove " .. dir)
  os.execute("rm -rf " .. sh_quote(dir))
end

local function ls(dir)
  local p = assert(io.popen("ls -1A " .. sh_quote(dir)))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  table.sort(out)
  return out
end

-- Run the interpreter in `dir` with `args` (a shell fragment); opts.stdin
-- feeds standard input, opts.env sets variables. The EARNORM_* variables
-- of the test's own environment never leak in.
local function run(dir, args, opts)
  opts = opts or {}
  local vars = {}
  for k, v in pairs(opts.env or {}) do vars[#vars + 1] = k .. "=" .. sh_quote(v) end
  table.sort(vars)
  local stdin = "/dev/null"
  if opts.stdin then
    stdin = dir .. "/.stdin"
    write_file(stdin, opts.stdin)
  end
  local cmd = string.format(
    "cd %s && env -u EARNORM_DATABASE_URL -u EARNORM_MODELS -u EARNORM_LOG_QUERIES -u EARNORM_CACHE_URL -u LUA_INIT %s %s %s <%s >%s 2>%s; echo $?",
    sh_quote(dir), table.concat(vars, " "), sh_quote(BIN), args, sh_quote(stdin),
    sh_quote(dir .. "/.stdout"), sh_quote(dir .. "/.stderr"))
  local p = assert(io.popen(cmd))
  local code = tonumber(p:read("a"):match("(%d+)%s*$"))
  p:close()
  local out, err = read_file(dir .. "/.stdout"), read_file(dir .. "/.stderr")
  os.remove(dir .. "/.stdout")
  os.remove(dir .. "/.stderr")
  if opts.stdin then os.remove(stdin) end
  return out, err, code
end

local MODEL = [[
local orm = require "earnorm"
return orm.model("%s", { name = orm.fields.Char{ required = true }, n = orm.fields.Integer{} })
]]

local function model_dir(dir, sub, model)
  os.execute("mkdir -p " .. sh_quote(dir .. "/" .. sub))
  write_file(dir .. "/" .. sub .. "/" .. model:gsub("%.", "_") .. ".lua", MODEL:format(model))
end

describe("the earnorm interpreter", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmdir(dir) end)

  describe("behaves like lua", function()
    it("-e runs a statement", function()
      local out, err, code = run(dir, "-e 'print(1 + 1)' -e 'print(_VERSION)'")
      assert.are.equal("2\nLua 5.4\n", out)
      assert.are.equal("", err)
      assert.are.equal(0, code)
    end)

    it("-v and --version print the version and exit 0", function()
      for _, opt in ipairs({ "-v", "--version" }) do
        local out, err, code = run(dir, opt)
        assert.are.equal("EarnORM " .. orm.VERSION .. " (Lua 5.4", out:sub(1, #("EarnORM " .. orm.VERSION .. " (Lua 5.4")))
        assert.are.equal(1, select(2, out:gsub("\n", "")))  -- one line, no prompt
        assert.are.equal("", err)
        assert.are.equal(0, code)
      end
      local out, _, code = run(dir, "-v -e 'print(\"after\")'")
      assert.matches("^EarnORM .-\nafter\n$", out)
      assert.are.equal(0, code)
    end)

    it("--help prints the usage on stdout and exits 0", function()
      local out, err, code = run(dir, "--help")
      assert.are.equal(0, code)
      assert.are.equal("", err)
      assert.matches("^usage: earnorm %[options%] %[script %[args%]%]", out)
      for _, word in ipairs({ "-e stat", "--db URL", "--models PATH", "--log-queries", "migrate" }) do
        assert.matches(word, out, 1, true)
      end
    end)

    it("an unknown option is an error with the usage on stderr", function()
      local out, err, code = run(dir, "--bogus")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("unrecognized option '--bogus'", err, 1, true)
      assert.matches("usage:", err, 1, true)
      out, err, code = run(dir, "-e")
      assert.are.equal(1, code)
      assert.matches("'-e' needs an argument", err, 1, true)
    end)

    it("- runs the script on stdin, with arguments", function()
      local out, err, code = run(dir, "- one two", { stdin = "print(arg[0], ...)\nprint(#arg)\n" })
      assert.are.equal("-\tone\ttwo\n2\n", out)
      assert.are.equal("", err)
      assert.are.equal(0, code)
    end)

    it("runs stdin when there is no script and stdin is not a terminal", function()
      local out, _, code = run(dir, "", { stdin = "print('from stdin')" })
      assert.are.equal("from stdin\n", out)
      assert.are.equal(0, code)
    end)

    it("sets arg: arg[0] the script, arg[1..n] its arguments, negative indices before", function()
      write_file(dir .. "/args.lua", [[
        local parts = {}
        for i = -3, #arg do parts[#parts + 1] = i .. "=" .. tostring(arg[i]) end
        print(table.concat(parts, " "))
        print(select("#", ...), ...)
      ]])
      local out, _, code = run(dir, "args.lua a 'b c'")
      assert.are.equal(0, code)
      assert.are.equal("-3=nil -2=nil -1=" .. BIN .. " 0=args.lua 1=a 2=b c\n2\ta\tb c\n", out)
      out, _, code = run(dir, "-e 'x = 1' args.lua z")
      assert.are.equal(0, code)
      assert.are.equal("-3=" .. BIN .. " -2=-e -1=x = 1 0=args.lua 1=z\n1\tz\n", out)
      out = run(dir, "-e 'print(#arg, arg[0], arg[1], arg[2])'")
      assert.are.equal("2\t" .. BIN .. "\t-e\tprint(#arg, arg[0], arg[1], arg[2])\n", out)
    end)

    it("exits 0 on success, 1 on an error with the message on stderr", function()
      write_file(dir .. "/ok.lua", "print('fine')")
      write_file(dir .. "/boom.lua", "print('before')\nerror('boom')\n")
      local out, err, code = run(dir, "ok.lua")
      assert.are.same({ "fine\n", "", 0 }, { out, err, code })
      out, err, code = run(dir, "boom.lua")
      assert.are.equal(1, code)
      assert.are.equal("before\n", out)
      assert.matches("^earnorm: boom%.lua:2: boom\n", err)
      assert.matches("stack traceback", err, 1, true)
      out, err, code = run(dir, "-e 'error(\"bad\")'")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("^earnorm: %(command line%):1: bad", err)
    end)

    it("an error object that is not a string is described as lua does", function()
      local out, err, code = run(dir, "-e 'error({})'")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("^earnorm: %(error object is a table value%)", err)
      out, err, code = run(dir, "-e 'error(setmetatable({}, { __tostring = function() return \"shown\" end }))'")
      assert.are.equal(1, code)
      assert.matches("^earnorm: shown", err)
    end)

    it("os.exit(n) gives n", function()
      local _, _, code = run(dir, "-e 'os.exit(3)'")
      assert.are.equal(3, code)
      _, _, code = run(dir, "-e 'os.exit(false)'")
      assert.are.equal(1, code)
      _, _, code = run(dir, "-e 'os.exit(true)'")
      assert.are.equal(0, code)
      write_file(dir .. "/exit.lua", "io.write('x') os.exit(7)")
      local out
      out, _, code = run(dir, "exit.lua")
      assert.are.equal(7, code)
      assert.are.equal("x", out)
    end)

    it("a syntax error and a missing script are errors on stderr", function()
      write_file(dir .. "/bad.lua", "local x = = 1\n")
      local out, err, code = run(dir, "bad.lua")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("bad.lua:1:", err, 1, true)
      assert.matches("near '='", err, 1, true)
      out, err, code = run(dir, "missing.lua")
      assert.are.equal(1, code)
      assert.matches("cannot open missing.lua", err, 1, true)
    end)

    it("an earnorm error left uncaught shows its code and message", function()
      local out, err, code = run(dir, "-e 'error(orm.ValidationError(\"not valid\"))'")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("earnorm: EVALIDATE: not valid", err, 1, true)
    end)

    it("-l loads a module into a global, -i runs the prompt after", function()
      local out, _, code = run(dir, "-l e=earnorm -e 'print(e.VERSION, e == orm)'")
      assert.are.equal(0, code)
      assert.are.equal(orm.VERSION .. "\ttrue\n", out)
      out, _, code = run(dir, "-i -e 'x = 21'", { stdin = "print(x * 2)\n" })
      assert.are.equal(0, code)
      assert.matches("\n?> 42\n", out)
    end)
  end)

  describe("globals and configuration", function()
    it("has the globals orm and env", function()
      local out, err, code = run(dir, "--db sqlite://g.db -e 'print(orm == require(\"earnorm\"), type(orm.model), env.backend, env.url, tostring(env))'")
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("true\tfunction\tsqlite\tsqlite://g.db\tearnorm.Env(sqlite://g.db)\n", out)
    end)

    it("connects on first use: a script that never touches env creates no database", function()
      local _, _, code = run(dir, "-e 'print(orm.VERSION)'")
      assert.are.equal(0, code)
      assert.are.same({}, ls(dir))
    end)

    it("defaults to sqlite://earnorm.db in the current directory", function()
      local out, _, code = run(dir, "-e 'print(env.url, env:ping().ok)'")
      assert.are.equal(0, code)
      assert.are.equal("sqlite://earnorm.db\ttrue\n", out)
      assert.is_true(exists(dir .. "/earnorm.db"))
    end)

    it("--db URL picks the database", function()
      local out, _, code = run(dir, "--db sqlite://chosen.db -e 'env:ping() print(env.url)'")
      assert.are.equal(0, code)
      assert.are.equal("sqlite://chosen.db\n", out)
      assert.is_true(exists(dir .. "/chosen.db"))
      assert.is_false(exists(dir .. "/earnorm.db"))
    end)

    it("EARNORM_DATABASE_URL picks the database, and --db wins over it", function()
      local out, _, code = run(dir, "-e 'env:ping() print(env.url)'",
                               { env = { EARNORM_DATABASE_URL = "sqlite://fromenv.db" } })
      assert.are.equal(0, code)
      assert.are.equal("sqlite://fromenv.db\n", out)
      assert.is_true(exists(dir .. "/fromenv.db"))
      assert.is_false(exists(dir .. "/earnorm.db"))
      out = run(dir, "--db sqlite://flag.db -e 'env:ping() print(env.url)'",
                { env = { EARNORM_DATABASE_URL = "sqlite://ignored.db" } })
      assert.are.equal("sqlite://flag.db\n", out)
      assert.is_true(exists(dir .. "/flag.db"))
      assert.is_false(exists(dir .. "/ignored.db"))
    end)

    it("-E ignores the EARNORM_* variables", function()
      model_dir(dir, "envmodels", "cli.envonly")
      local out, _, code = run(dir, "-E -e 'env:ping() print(env.url, orm.models[\"cli.envonly\"])'",
                               { env = { EARNORM_DATABASE_URL = "sqlite://fromenv.db",
                                         EARNORM_MODELS = "envmodels" } })
      assert.are.equal(0, code)
      assert.are.equal("sqlite://earnorm.db\tnil\n", out)
      assert.is_false(exists(dir .. "/fromenv.db"))
    end)

    it("runs LUA_INIT (code or @file) first, as lua does, unless -E", function()
      local out, _, code = run(dir, "-e 'print(INIT)'", { env = { LUA_INIT = "INIT = 'from init'" } })
      assert.are.equal(0, code)
      assert.are.equal("from init\n", out)
      write_file(dir .. "/init.lua", "INIT = 'from file'")
      out = run(dir, "-e 'print(INIT)'", { env = { LUA_INIT = "@init.lua" } })
      assert.are.equal("from file\n", out)
      out = run(dir, "-E -e 'print(INIT)'", { env = { LUA_INIT = "INIT = 'from init'" } })
      assert.are.equal("nil\n", out)
    end)

    it("-E also keeps LUA_PATH out of package.path", function()
      local out = run(dir, "-E -e 'print((package.path:find(\"/nowhere/\", 1, true)))'",
                      { env = { LUA_PATH = "/nowhere/?.lua" } })
      assert.are.equal("nil\n", out)
      out = run(dir, "-e 'print((package.path:find(\"/nowhere/\", 1, true)) ~= nil)'",
                { env = { LUA_PATH = "/nowhere/?.lua" } })
      assert.are.equal("true\n", out)
    end)

    it("a bad database URL is a clear error", function()
      local out, err, code = run(dir, "--db nosuch://x -e 'env:ping()'")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("nosuch", err, 1, true)
    end)

    it("--models DIR and EARNORM_MODELS load models", function()
      model_dir(dir, "mine", "cli.mine")
      model_dir(dir, "theirs", "cli.theirs")
      local probe = "-e 'print(orm.models[\"cli.mine\"] ~= nil, orm.models[\"cli.theirs\"] ~= nil)'"
      local out, err, code = run(dir, "--models mine " .. probe)
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.are.equal("true\tfalse\n", out)
      out = run(dir, probe, { env = { EARNORM_MODELS = "theirs" } })
      assert.are.equal("false\ttrue\n", out)
      out = run(dir, "--models mine " .. probe, { env = { EARNORM_MODELS = "theirs" } })
      assert.are.equal("true\tfalse\n", out)
      -- one file
      out = run(dir, "--models theirs/cli_theirs.lua " .. probe)
      assert.are.equal("false\ttrue\n", out)
    end)

    it("loads ./models when it exists, and nothing otherwise", function()
      local probe = "-e 'print(orm.models[\"cli.default\"] ~= nil)'"
      local out, _, code = run(dir, probe)
      assert.are.equal(0, code)
      assert.are.equal("false\n", out)
      model_dir(dir, "models", "cli.default")
      out, _, code = run(dir, probe)
      assert.are.equal(0, code)
      assert.are.equal("true\n", out)
      -- and the models are usable through env
      out, _, code = run(dir, "-e 'env:migrate() env[\"cli.default\"]:create{ name = \"x\", n = 4 } print(env[\"cli.default\"]:search{}.n)'")
      assert.are.equal(0, code)
      assert.are.equal("4\n", out)
    end)

    it("a missing models directory is an error", function()
      local out, err, code = run(dir, "--models nowhere -e 'print(1)'")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("models path 'nowhere' does not exist", err, 1, true)
    end)

    it("--log-queries and EARNORM_LOG_QUERIES=1 print each query with its parameters and time", function()
      model_dir(dir, "models", "cli.logged")
      local script = "-e 'env:migrate() env[\"cli.logged\"]:create{ name = \"Zoe\", n = 5 } " ..
                     "print(env[\"cli.logged\"]:search_count{ { \"name\", \"=\", \"Zoe\" } })'"
      local out, err, code = run(dir, "--db sqlite://l1.db --log-queries " .. script)
      assert.are.equal(0, code)
      assert.are.equal("1\n", out)
      local line = err:match("[^\n]*SELECT count%(%*%) FROM \"cli_logged\"[^\n]*")
      assert.is_not_nil(line, "no logged count query in: " .. err)
      assert.matches("%d+%.%d+ ms", line)
      assert.matches("'Zoe'", line)
      assert.matches("INSERT", err, 1, true)
      local out2, err2 = run(dir, "--db sqlite://l2.db " .. script, { env = { EARNORM_LOG_QUERIES = "1" } })
      assert.are.equal("1\n", out2)
      assert.matches("SELECT count%(%*%) FROM \"cli_logged\"[^\n]*'Zoe'", err2)
      local out3, err3 = run(dir, "--db sqlite://l3.db " .. script)
      assert.are.equal("1\n", out3)
      assert.are.equal("", err3)
      -- an env the script opens itself logs too
      local own = "-e 'local e = orm.connect(\"sqlite://l4.db\") e:migrate() " ..
                  "print(e[\"cli.logged\"]:search_count{ { \"n\", \">\", 4 } })'"
      local out4, err4 = run(dir, "--log-queries " .. own)
      assert.are.equal("0\n", out4)
      assert.matches("SELECT count%(%*%) FROM \"cli_logged\"[^\n]*4", err4)
    end)
  end)

  describe("options and configuration are never silently ignored", function()
    it("an unknown option names the closest known one", function()
      local out, err, code = run(dir, "--dbb sqlite://x.db")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("unrecognized option '--dbb' (did you mean '--db'?)", err, 1, true)
      local _
      _, err = run(dir, "--log-queryes -e 1")
      assert.matches("(did you mean '--log-queries'?)", err, 1, true)
      _, err, code = run(dir, "migrate --dryrun")
      assert.are.equal(1, code)
      assert.matches("unrecognized option '--dryrun' (did you mean '--dry-run'?)", err, 1, true)
    end)

    it("a misspelt subcommand is not taken for a missing script", function()
      local out, err, code = run(dir, "migrte")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("earnorm: unknown command 'migrte' (did you mean 'migrate'?)\n", err)
      -- a script of that name still runs
      write_file(dir .. "/migrte", "print('script')")
      out, _, code = run(dir, "migrte")
      assert.are.equal(0, code)
      assert.are.equal("script\n", out)
    end)

    it("options of one subcommand are refused elsewhere; --limit takes a number", function()
      local _, err, code = run(dir, "--dry-run -e 1")
      assert.are.equal(1, code)
      assert.matches("option '--dry-run' belongs to 'earnorm migrate'", err, 1, true)
      _, err, code = run(dir, "stats --order name")
      assert.are.equal(1, code)
      assert.matches("option '--order' belongs to 'earnorm explain'", err, 1, true)
      _, err, code = run(dir, "explain cli.thing --limit lots")
      assert.are.equal(1, code)
      assert.matches("--limit needs a non-negative integer, not 'lots'", err, 1, true)
      assert.is_false(exists(dir .. "/earnorm.db"))
    end)

    it("EARNORM_LOG_QUERIES takes 1/0, true/false, yes/no, on/off and refuses anything else", function()
      local script = "--db sqlite://q.db -e 'env:migrate()'"
      for _, v in ipairs({ "true", "yes", "ON", "1" }) do
        local _, err, code = run(dir, script, { env = { EARNORM_LOG_QUERIES = v } })
        assert.are.equal(0, code)
        assert.matches("%[sqlite [%d.]+ ms%]", err)
      end
      for _, v in ipairs({ "false", "no", "off", "0", "" }) do
        local _, err, code = run(dir, script, { env = { EARNORM_LOG_QUERIES = v } })
        assert.are.equal(0, code)
        assert.are.equal("", err)
      end
      local out, err, code = run(dir, script, { env = { EARNORM_LOG_QUERIES = "maybe" } })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("EARNORM_LOG_QUERIES='maybe': use 1 or 0", err, 1, true)
      -- -E ignores it, as the other variables
      local _
      _, _, code = run(dir, "-E " .. script, { env = { EARNORM_LOG_QUERIES = "maybe" } })
      assert.are.equal(0, code)
    end)

    it("--cache and EARNORM_CACHE_URL are refused until the cache exists", function()
      local out, err, code = run(dir, "--cache redis://127.0.0.1:6379/0 -e 'print(1)'")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("--cache: the cache is not built yet", err, 1, true)
      local _
      _, err, code = run(dir, "--cache bogus -e 'print(1)'")
      assert.are.equal(1, code)
      assert.matches("the cache is not built yet", err, 1, true)
      _, err, code = run(dir, "-e 'print(1)'", { env = { EARNORM_CACHE_URL = "redis://x" } })
      assert.are.equal(1, code)
      assert.matches("EARNORM_CACHE_URL: the cache is not built yet", err, 1, true)
      out, _, code = run(dir, "-E -e 'print(1)'", { env = { EARNORM_CACHE_URL = "redis://x" } })
      assert.are.equal(0, code)
      assert.are.equal("1\n", out)
    end)

    it("env.url, tostring(env) and migrate output never show a password", function()
      local out, err = run(dir, "--db 'sqlite://p.db?password=hunter2' -e 'print(env.url)'")
      -- SQLite reads no password: the option is refused, and still masked
      assert.matches("unknown option 'password' for sqlite", err, 1, true)
      assert.is_nil((out .. err):find("hunter2", 1, true))
      out, err = run(dir, "--db 'postgresql://a:hunter2@127.0.0.1:1/x?password=hunter2' -e 'print(tostring(env))'")
      assert.is_nil((out .. err):find("hunter2", 1, true))
    end)
  end)

  describe("subcommands", function()
    before_each(function() model_dir(dir, "models", "cli.thing") end)

    it("each has --help", function()
      for _, cmd in ipairs({ "migrate", "shell", "explain", "stats" }) do
        local out, err, code = run(dir, cmd .. " --help")
        assert.are.equal(0, code)
        assert.are.equal("", err)
        assert.matches("^usage: earnorm " .. cmd, out)
        assert.is_false(exists(dir .. "/earnorm.db"))
      end
      local out = run(dir, "migrate --help")
      assert.matches("--dry-run", out, 1, true)
    end)

    it("migrate creates the tables, then has nothing to do", function()
      local out, err, code = run(dir, "migrate --db sqlite://m.db")
      assert.are.equal(0, code)
      assert.are.equal("", err)
      assert.matches("CREATE TABLE \"cli_thing\"", out, 1, true)
      assert.matches("-- sqlite://m.db: 1 statement\n", out, 1, true)
      out, _, code = run(dir, "migrate --db sqlite://m.db")
      assert.are.equal(0, code)
      assert.are.equal("-- sqlite://m.db: 0 statements\n", out)
      out, _, code = run(dir, "--db sqlite://m.db -e 'env[\"cli.thing\"]:create{ name = \"x\" } print(env[\"cli.thing\"]:search_count{})'")
      assert.are.equal(0, code)
      assert.are.equal("1\n", out)
    end)

    it("migrate --dry-run prints the statements and changes nothing", function()
      local out, err, code = run(dir, "migrate --dry-run --db sqlite://d.db")
      assert.are.equal(0, code)
      assert.are.equal("", err)
      assert.matches("CREATE TABLE \"cli_thing\"", out, 1, true)
      assert.matches("(dry run: nothing changed)", out, 1, true)
      -- the table was not created: a search fails, and migrate still has the work to do
      local _, err2, code2 = run(dir, "--db sqlite://d.db -e 'env[\"cli.thing\"]:search_count{}'")
      assert.are.equal(1, code2)
      assert.matches("no such table", err2, 1, true)
      out, _, code = run(dir, "migrate --db sqlite://d.db")
      assert.are.equal(0, code)
      assert.matches("-- sqlite://d.db: 1 statement\n", out, 1, true)
    end)

    it("explain MODEL DOMAIN shows the normalized domain and the query", function()
      run(dir, "migrate --db sqlite://e.db")
      local out, err, code = run(dir, "explain cli.thing '{{\"n\", \">\", 1}}' --db sqlite://e.db")
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.matches("model: cli.thing\n", out, 1, true)
      assert.matches("backend: sqlite\n", out, 1, true)
      assert.matches("domain: [[\"n\", \">\", 1]]", out, 1, true)
      assert.matches("sql: SELECT", out, 1, true)
      -- JSON domains, options before the positionals, --order and --limit
      out, err, code = run(dir, "explain --db sqlite://e.db --order 'name desc' --limit 5 cli.thing '[[\"name\", \"=\", \"x\"]]'")
      assert.are.equal("", err)
      assert.are.equal(0, code)
      assert.matches("domain: [[\"name\", \"=\", \"x\"]]", out, 1, true)
      assert.matches("DESC", out, 1, true)
      assert.matches("LIMIT", out, 1, true)
      assert.is_false(exists(dir .. "/earnorm.db"))
    end)

    it("explain reports a missing model, an unknown model and a bad domain", function()
      local out, err, code = run(dir, "explain --db sqlite://e.db")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("which model?", err, 1, true)
      out, err, code = run(dir, "explain no.such --db sqlite://e.db")
      assert.are.equal(1, code)
      assert.matches("unknown model 'no.such'", err, 1, true)
      out, err, code = run(dir, "explain cli.thing 'garbage(' --db sqlite://e.db")
      assert.are.equal(1, code)
      assert.matches("cannot read the domain", err, 1, true)
      out, err, code = run(dir, "explain cli.thing '{{\"n\", \"~\", 1}}' --db sqlite://e.db")
      assert.are.equal(1, code)
      assert.matches("unknown operator '~'", err, 1, true)
    end)

    it("stats checks the database and prints figures", function()
      local out, err, code = run(dir, "stats --db sqlite://s.db")
      assert.are.equal(0, code)
      assert.are.equal("", err)
      assert.matches("^backend: sqlite  reachable: true  latency: [%d.]+ ms\n", out)
      assert.matches("\nqueries: %d+ %(select %d+, insert %d+, update %d+, delete %d+%)\n", out)
      assert.matches("\nrecord store: %d+ records, %d+ hits, %d+ misses\n", out)
      assert.is_true(exists(dir .. "/s.db"))
    end)

    it("migrate --dry-run creates no database file, and leaves an existing one as it was", function()
      local out, err, code = run(dir, "migrate --dry-run --db sqlite://fresh.db")
      assert.are.equal(0, code, err)
      assert.matches("CREATE TABLE \"cli_thing\"", out, 1, true)
      assert.matches("-- sqlite://fresh.db: 1 statement (dry run: nothing changed)", out, 1, true)
      assert.are.same({ "models" }, ls(dir))
      -- an existing database in WAL mode: not a byte changed, no -wal or -shm left
      run(dir, "migrate --db sqlite://old.db")
      local before = read_file(dir .. "/old.db")
      model_dir(dir, "models2", "cli.thing")
      write_file(dir .. "/models2/cli_thing.lua", [[
local orm = require "earnorm"
return orm.model("cli.thing", { name = orm.fields.Char{ required = true }, n = orm.fields.Integer{},
                                extra = orm.fields.Char{} })
]])
      out, err, code = run(dir, "migrate --dry-run --models models2 --db sqlite://old.db")
      assert.are.equal(0, code, err)
      assert.matches("ALTER TABLE \"cli_thing\" ADD COLUMN \"extra\"", out, 1, true)
      assert.are.equal(before, read_file(dir .. "/old.db"))
      assert.are.same({ "models", "models2", "old.db" }, ls(dir))
    end)

    it("stats on a server that cannot be reached says so, without a traceback", function()
      local out, err, code = run(dir, "stats --db 'postgresql://ann:hunter2@127.0.0.1:1/x?password=hunter2'")
      assert.are.equal(1, code)
      assert.are.equal("", err)
      assert.matches("^backend: postgresql  reachable: false  error: ", out)
      assert.is_nil(out:find("traceback", 1, true))
      assert.is_nil(out:find("hunter2", 1, true))
    end)

    it("shell runs what it reads, reports errors and goes on", function()
      run(dir, "migrate --db sqlite://sh.db")
      local input = table.concat({
        "print(1 + 2)",
        "6 * 7",
        "error('oops')",
        "x = env['cli.thing']:create{ name = 'from shell' }",
        "for i = 1, 2 do",
        "  print('loop', i)",
        "end",
        "env['cli.thing']:search_count{}",
        "",
      }, "\n")
      local out, err, code = run(dir, "shell --db sqlite://sh.db", { stdin = input })
      assert.are.equal(0, code)
      assert.matches("^EarnORM " .. orm.VERSION:gsub("%.", "%%."), out)
      assert.matches("> 3\n", out, 1, true)
      assert.matches("> 42\n", out, 1, true)
      assert.matches("loop\t1\nloop\t2\n", out, 1, true)
      assert.matches("> 1\n", out, 1, true)
      assert.matches("oops", err, 1, true)
      local again = run(dir, "--db sqlite://sh.db -e 'print(env[\"cli.thing\"]:search{}.name)'")
      assert.are.equal("from shell\n", again)
    end)
  end)
end)
