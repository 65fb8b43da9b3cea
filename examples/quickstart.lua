-- EarnORM quickstart: run with `make demo`, or `earnorm examples/quickstart.lua`
-- from the repository root (models/ is loaded and `env` is connected for you).
local orm = require "earnorm"

print("backend:", env.backend)
for _, stmt in ipairs(env:migrate()) do print("migrate:", stmt) end

local P = env["res.partner"]

-- create: one record, then a batch (one transaction: all or nothing)
local ann = P:create{ name = "Ann", age = 31, email = "Ann@Example.com", price = "19.90" }
local many = P:create{
  { name = "Bob", age = 17, parent_id = ann },
  { name = "Acme", kind = "company", email = "hello@acme.test", data = { tier = "gold", seats = 12 } },
  { name = "Cy", age = 64, score = 4.5, birthday = "1960-02-29" },
}
print(("created %s and %s"):format(tostring(ann), tostring(many)))
print("computed display:", ann.display)
print("before_create lowered the e-mail:", ann.email)
print("a model method:", ann:greeting())

-- search with a domain: adults, or companies, or people without an e-mail
local recs = P:search({ { "age", ">", 18 }, "|", { "kind", "=", "company" }, { "email", "=", orm.null } },
                      { order = "age desc, name", limit = 10 })
print(("search: %d records, first %s"):format(#recs, recs[1] and recs[1].name or "-"))

local adults = P:search{ { "age", ">=", 18 } }
print("adults:", table.concat(adults:mapped("name"), ", "))
print("Bob's parent:", many[1].parent_id.name)
print("JSON field:", many[2].data.tier, many[2].data.seats)

-- write through a recordset, count, read plain tables; a model with an
-- `active` field hides archived records from searches and groups
adults:filtered(function(r) return r.age > 40 end):write{ active = false }
print("active:", P:search_count{ { "active", "=", true } })
for _, row in ipairs(P:search_read({}, { fields = { "name", "age", "kind" }, limit = 5 })) do
  print(("  %-5s age=%-4s kind=%s"):format(row.name, tostring(row.age), row.kind))
end

-- group: how many of each kind, and their average age
for _, g in ipairs(P:read_group({}, { "age:avg" }, { "kind" })) do
  print(("group kind=%s count=%d avg age=%s"):format(g.kind, g.__count, tostring(g.age)))
end

-- validation happens in C and in Lua validators; a failed batch writes nothing
local ok, err = pcall(P.create, P, { { name = "Dee", age = 30 }, { name = "Eve", age = 200 } })
print("batch with a bad age:", ok, err.code, err.message)
print("Dee was not written:", P:search_count{ { "name", "=", "Dee" } } == 0)
ok, err = pcall(P.create, P, { name = "Corp", kind = "company", age = 3 })
print("validator:", ok, tostring(err))

-- transactions: roll back on error
pcall(function()
  env:transaction(function(tx)
    tx["res.partner"]:create{ name = "Ghost" }
    error("changed my mind")
  end)
end)
print("rolled back:", P:search_count{ { "name", "=", "Ghost" } } == 0)

recs:unlink()
local s = env:stats()
print(("stats: %d queries on %s, record store %d hits / %d misses"):format(
  s.queries, s.backend, s.store.hits, s.store.misses))
