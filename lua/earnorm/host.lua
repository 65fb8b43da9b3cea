--- The C host API's Lua side (bindings/engine.c calls these): the JSON
-- calls go through the same model API scripts use.
--
-- Results are what engine.h promises: lists are JSON arrays (empty ones
-- too: "[]"), and rows hold every field asked for, NULL as null.
local core = require "earnorm.core"

local M = {}

-- decoded "[]" carries this mark (value.c); "{}" carries the object one
local ARRAY = getmetatable(core.json_mark({}, "array"))

local function is_empty_array(t)
  return type(t) == "table" and next(t) == nil and getmetatable(t) == ARRAY
end

--- vals: one object (one record) or an array of them; "[]" creates none.
function M.create(env, model, vals)
  local P = env[model]
  if is_empty_array(vals) then return {} end
  return P:create(vals).ids
end

-- opts with nulls = true, so that every row has every field asked for
local function with_nulls(opts)
  if opts == nil then return { nulls = true } end
  if type(opts) ~= "table" then return opts end -- search_read names the error
  local copy = {}
  for k, v in pairs(opts) do copy[k] = v end
  copy.nulls = true
  return copy
end

function M.search_read(env, model, domain, opts)
  return env[model]:search_read(domain or {}, with_nulls(opts))
end

function M.read(env, model, ids, fields)
  return env[model]:browse(ids):read(fields, { nulls = true })
end

function M.search_count(env, model, domain)
  return env[model]:search_count(domain or {})
end

function M.write(env, model, ids, vals)
  env[model]:browse(ids):write(vals)
  return true
end

function M.unlink(env, model, ids)
  env[model]:browse(ids):unlink()
  return true
end

function M.migrate(env) return env:migrate() end
function M.begin(env, isolation) env:begin{ isolation = isolation }; return true end
function M.commit(env) env:commit(); return true end
function M.rollback(env) env:rollback(); return true end
function M.ping(env) return env:ping() end
function M.stats(env) return env:stats() end

return M
