--- The C host API's Lua side (bindings/engine.c calls these): the JSON
-- calls go through the same model API scripts use.
local M = {}

function M.create(env, model, vals)
  return env[model]:create(vals).ids
end

function M.search_read(env, model, domain, opts)
  return env[model]:search_read(domain or {}, opts or {})
end

function M.read(env, model, ids, fields)
  return env[model]:browse(ids):read(fields)
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
