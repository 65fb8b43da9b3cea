--- The sandbox model files run in. A model file is untrusted code: it gets
-- an allow-list of globals, copies of the safe standard libraries (what it
-- changes in them stays in its sandbox), read-only views of the public
-- earnorm modules, and `require` of those modules only, loaded from the
-- binary, never from a file. Reading an undefined global raises (a typo is
-- a bug, not a nil). docs/sandbox.md lists what a model file can do.
--
-- C closes what an environment cannot (bindings/lua/sandbox.c): the string
-- metatable is locked, pattern matching, string.rep and
-- table.insert/remove/move/sort honour the time limit (for the whole VM),
-- os.date takes a bounded format, setmetatable refuses __gc, getmetatable
-- hides the host's metatables. The time limit itself is the VM's
-- (bindings/lua/vm.c): once a call times out, pcall here rethrows, so a
-- model cannot swallow it.
--
-- Model classes: a file may change the classes it declared or extended
-- (orm.model returns them); any other class it reaches through orm.models
-- is a read-only view. What the ORM keeps of a class (fields, handlers,
-- constraints) is read-only for every file (earnorm.model).
--
-- The checks below never call a method on a string a model gave us, and
-- use only functions captured when this module loads.
local core = require "earnorm.core"
local guard = require "earnorm.sandbox.core"
-- Out of package.loaded, its functions are named in errors by how the
-- model calls them ("bad argument #1 to 'setmetatable'"), not by module.
package.loaded["earnorm.sandbox.core"] = nil

local error, next, pairs, ipairs, pcall, xpcall, rawequal = error, next, pairs, ipairs, pcall, xpcall, rawequal
local setmetatable, type, tostring = setmetatable, type, tostring
local format, find = string.format, string.find
local create, resume, close, status = coroutine.create, coroutine.resume, coroutine.close,
                                     coroutine.status
local timed_out, poll = guard.timed_out, guard.poll

local M = {}

local MEMORY_ERROR = "not enough memory"

-- Globals given as they are: functions with nothing to change in them.
local FUNCTIONS = {}
for _, k in ipairs({ "assert", "error", "ipairs", "next", "pairs", "print", "rawequal",
                     "rawget", "rawlen", "rawset", "select", "tonumber", "tostring", "type" }) do
  FUNCTIONS[k] = _G[k]
end

-- The earnorm modules a model file may require.
local PUBLIC = { ["earnorm"] = true, ["earnorm.fields"] = true, ["earnorm.errors"] = true,
                 ["earnorm.command"] = true }
local PUBLIC_LIST = "earnorm, earnorm.fields, earnorm.errors and earnorm.command"

-- Members of the earnorm module a model file cannot call.
local WITHHELD = {
  connect = "model code works in the env of its records, self.env",
  load_models = "the host loads model files",
}


--- pcall and friends rethrow the time limit: a model cannot catch it.
local function after_call(ok, ...)
  if not ok and timed_out() then error((...), 0) end
  return ok, ...
end

local function safe_pcall(...) return after_call(pcall(...)) end

-- An error raised by the count hook propagates with hooks off: Lua runs
-- the message handler, and later the pending __close handlers of a
-- coroutine it killed, with nothing to stop them. So once the call has
-- timed out the model's handler is skipped, and a coroutine the limit
-- stopped is never closed (it stays dead, its variables unclosed).
local function safe_xpcall(f, msgh, ...)
  if type(msgh) ~= "function" then return xpcall(f, msgh, ...) end  -- Lua's own error
  return after_call(xpcall(f, function(e)
    if timed_out() then return e end
    return msgh(e)
  end, ...))
end

local stopped = setmetatable({}, { __mode = "k" })  -- coroutines the time limit stopped
local STOPPED = "cannot close a coroutine the time limit stopped"

local function after_resume(co, ok, ...)
  if not ok and timed_out() then
    stopped[co] = true
    error((...), 0)
  end
  return ok, ...
end

-- A coroutine has the hook count of its creator: resumed (or closed, which
-- runs its pending __close) after the time limit, it would run thousands
-- of instructions before its own hook fired. poll() raises first.
local function safe_resume(co, ...)
  poll()
  return after_resume(co, resume(co, ...))
end

local function safe_close(co)
  if stopped[co] then return false, STOPPED end
  poll()
  return after_call(close(co))
end

-- coroutine.wrap closes a coroutine that fails, from C: made of resume
-- and close here, so the rules above apply to it too.
local function wrap_result(co, ok, ...)
  if ok then return ... end
  local e = ...
  if timed_out() then
    stopped[co] = true
    error(e, 0)
  end
  if status(co) == "dead" then
    local closed, ce = close(co)
    if not closed then e = ce end
  end
  -- as Lua's: a string gets the caller's position, a memory error stays one
  if type(e) ~= "string" or rawequal(e, MEMORY_ERROR) then error(e, 0) end
  error(e, 2)
end

local function safe_wrap(f)
  local co = create(f)
  return function(...)
    poll()
    return wrap_result(co, resume(co, ...))
  end
end

-- load_models runs each model file in a coroutine of its own, so that a
-- file can wait for a model a later file declares (earnorm.model). To
-- the file that coroutine is the main thread, as under plain Lua: it is
-- not yieldable, running() gives the main thread, and yield fails as it
-- does outside a coroutine.
local running, isyieldable, yield = coroutine.running, coroutine.isyieldable, coroutine.yield
local main_thread = core.main_thread
local loading_state -- set below, once earnorm.model is loaded

local function in_loader(co)
  local L = loading_state()
  return L ~= nil and co ~= nil and rawequal(co, L.current)
end

local function safe_running()
  local co, main = running()
  if in_loader(co) then return main_thread(), true end
  return co, main
end

local function safe_isyieldable(co)
  if co == nil then co = running() end
  if in_loader(co) then return false end
  return isyieldable(co)
end

local function safe_yield(...)
  if in_loader((running())) then error("attempt to yield from outside a coroutine", 2) end
  return yield(...)
end

local function copy(lib, changes)
  local t = {}
  for k, v in next, lib do t[k] = v end
  for k, v in next, changes do
    if v == false then t[k] = nil else t[k] = v end
  end
  return t
end

local function refuse_dump()
  error("string.dump is not available to model files (bytecode is refused)", 2)
end

-- Libraries a model file gets a copy of, and what differs in the copy
-- (false: left out).
local LIBS = {
  string = copy(string, { dump = refuse_dump }),
  table = copy(table, {}),
  math = copy(math, { randomseed = false }),  -- the generator is the host's too
  utf8 = copy(utf8, {}),
  coroutine = copy(coroutine, { resume = safe_resume, close = safe_close, wrap = safe_wrap,
                               running = safe_running, isyieldable = safe_isyieldable,
                               yield = safe_yield }),
  -- os.date with a format of at most 1024 bytes: one strftime per conversion
  os = { time = os.time, date = guard.date, clock = os.clock, difftime = os.difftime },
}

local function describe(v)
  if type(v) == "string" then return format("%q", v) end
  return type(v)
end

-- Read-only views of host tables, one set per model file: what a file
-- rawsets into its view stays in that file. Tables found in a view are
-- viewed too. The classes in orm.models are viewed (read-only) except the
-- ones this file declared or extended: orm.model returned those to it.
local model = require "earnorm.model"
local registry = model.registry
loading_state = model.loading

local function read_only_class(name)
  return format("model %s is read-only in this model file: another file declared it "
                .. "(to extend it, declare it again with _inherit = %q)", name, name)
end

local function viewer()
  local views = setmetatable({}, { __mode = "k" })
  local own = setmetatable({}, { __mode = "k" })   -- classes orm.model gave this file
  local own_name = {}                              -- model name -> this file's last class of it
  local function define(...)
    local cls = model.define(...)
    own[cls] = true
    own_name[cls._name] = cls
    return cls
  end
  local view
  -- A helper module's function, seen from a file: the tables it returns
  -- are viewed too (a helper's private state it hands out stays its own).
  local function results(name, n, ...)
    if n == 0 then return end
    local x = ...
    if type(x) == "table" then x = views[x] or view(x, name, nil, true) end
    return x, results(name, n - 1, select(2, ...))
  end
  local function viewed(name, ...) return results(name, select("#", ...), ...) end
  local function helper_fn(fn, name)
    local w = views[fn]
    if w then return w end
    w = function(...) return viewed(name, fn(...)) end
    views[fn] = w
    return w
  end
  function view(t, name, class, helper)
    local v = views[t]
    if v then return v end
    local function get(k)
      local x = t[k]
      if type(x) ~= "table" then
        if rawequal(x, model.define) then return define end
        if helper and type(x) == "function" then
          return helper_fn(x, name .. "." .. tostring(k) .. "()")
        end
        return x
      end
      if rawequal(t, registry) then
        local mine = type(k) == "string" and own_name[k]
        if mine then return mine end
        if own[x] then return x end
        return views[x] or view(x, name .. "." .. tostring(k), tostring(k))
      end
      return views[x] or view(x, name .. "." .. tostring(k), nil, helper)
    end
    v = setmetatable({}, {
      __index = function(_, k)
        if name == "earnorm" and WITHHELD[k] then
          return function()
            error(format("earnorm.%s is not available in a model file: %s", k, WITHHELD[k]), 2)
          end
        end
        return get(k)
      end,
      __newindex = function(_, k)
        if class then error(read_only_class(class), 2) end
        error(format("%s.%s is read-only in a model file", name, tostring(k)), 2)
      end,
      __call = function(_, ...)
        if helper then return viewed(name .. "()", t(...)) end
        return t(...)
      end,
      __len = function() return #t end,
      __pairs = function()
        return function(_, k)
          local nk = next(t, k)
          if nk == nil then return nil end
          return nk, get(nk)
        end, v, nil
      end,
      __metatable = "locked",
    })
    views[t] = v
    return v
  end
  return view
end

-- Helper modules (require "lib.x" in a model file): files under the
-- models directory's lib/, each run once per load in a sandbox of its
-- own; every file that requires one gets its own read-only view of what
-- it returned.
local LOADING = {}
local HELPER_NAME = "^lib%.[%a_][%w_]*[%.%w_]*$"

local run_chunk

local function load_helper(loader, name, env_of)
  local cache = loader.helpers
  local got = cache[name]
  if got == LOADING then
    error(format("require(%q): a require loop (%s is still loading)", name, name), 3)
  end
  if got then return got.value end
  if not loader.root then
    error(format("require(%q): helper modules load only with the models directory", name), 3)
  end
  cache[name] = LOADING
  local chunk, err = core.load_helper_file(loader.root, name, env_of())
  if not chunk then
    cache[name] = nil
    error(core.new_error("EINVAL", err, nil, nil, "LUA"), 0)
  end
  loader.helper_depth = loader.helper_depth + 1
  loader.helper_name = loader.helper_name or name -- the outermost (said when a model cannot wait)
  local ok, res = pcall(run_chunk, chunk)
  loader.helper_depth = loader.helper_depth - 1
  if loader.helper_depth == 0 then loader.helper_name = nil end
  if not ok then
    cache[name] = nil
    error(res, 0)
  end
  if res == nil then res = true end
  cache[name] = { value = res }
  return res
end

--- A fresh environment table for one model file (loader: the state of
-- the load_models running it, for helper modules).
function M.new_env(loader)
  local env = {}
  for k, v in next, FUNCTIONS do env[k] = v end
  for k, lib in next, LIBS do env[k] = copy(lib, {}) end
  env.pcall = safe_pcall
  env.xpcall = safe_xpcall
  env.getmetatable = guard.getmetatable
  env.setmetatable = guard.setmetatable
  local view = viewer()
  env.require = function(name)
    if type(name) == "string" and loader and not PUBLIC[name] and find(name, "^lib%.") then
      if not find(name, HELPER_NAME) or find(name, "%.%.") or find(name, "%.$") then
        error(format("require(%s): a helper module is named lib.<name> with words of letters, "
                     .. "digits and '_' (a file under the models directory's lib/)",
                     describe(name)), 2)
      end
      local mod = load_helper(loader, name, function() return M.new_env(loader) end)
      if type(mod) == "function" then return view({ mod }, name, nil, true)[1] end
      if type(mod) ~= "table" then return mod end
      return view(mod, name, nil, true)
    end
    if type(name) ~= "string" or not PUBLIC[name] then
      error(format("require(%s) is not allowed in a model file (only %s)", describe(name),
                   PUBLIC_LIST), 2)
    end
    local mod = guard.require(name)
    if mod == nil then error(format("require(%q): no such embedded module", name), 2) end
    return view(mod, name)
  end
  env._G = env
  return setmetatable(env, {
    __index = function(_, k)
      error(format("undefined global '%s'", tostring(k)), 2)
    end,
    __metatable = "locked",
  })
end

--- Run one model file; returns what it returns (its model, usually).
-- follow: path may be a symbolic link (the host named it); a file found
-- in a models directory must be a regular file.
function M.run_model_file(path, follow, loader)
  -- the time limit lets the embedded modules' code unwind: a model file
  -- must not pass for one of them
  if guard.embedded_chunk("@" .. path) then
    error(core.new_error("EINVAL", format(
      "%s: a model file cannot have the name of an embedded module (load it as ./%s)", path, path),
      nil, nil, "LUA"), 0)
  end
  -- "t": a precompiled (binary) model file is refused
  local chunk, err = core.load_model_file(path, M.new_env(loader), follow and true or false,
                                          loader and loader.root)
  if not chunk then
    -- err is "path:line: message" for syntax errors
    error(core.new_error("EINVAL", err, nil, nil, "LUA"), 0)
  end
  return run_chunk(chunk)
end

-- Run a model file's or helper module's chunk; errors become earnorm errors.
function run_chunk(chunk)
  local ok, res = pcall(chunk)
  if not ok then
    if core.is_error(res) then error(res, 0) end
    -- rethrown as is, a memory error stays one (EO_ENOMEM for C hosts)
    if rawequal(res, MEMORY_ERROR) then error(res, 0) end
    error(core.new_error("ERROR", tostring(res), nil, nil, "LUA"), 0)
  end
  return res
end

return M
