-- The EarnORM half of the MongoDB interop test (see mongo_interop.sh).
--
-- Usage: earnorm mongo_interop.lua STEP URL STATE
--   write  create records with every field type (checked raw by pymongo)
--   read   read the documents pymongo inserted, search them, write to them
--
-- STATE holds lines "item|partner NAME HEX" shared with mongo_interop.py.
-- Prints TAP lines without numbers ("ok - name"); the shell numbers them.
local orm = require "earnorm"
local f = orm.fields

local step, url, state = arg[1], arg[2], arg[3]
assert(step and url and state, "usage: mongo_interop.lua write|read URL STATE")

orm.model("interop.partner", {
  _order = "name",
  name = f.Char{ required = true },
})

orm.model("interop.item", {
  _order = "name",
  name       = f.Char{ required = true, index = true },
  note       = f.Text{},
  code       = f.Char{ size = 32 },
  qty        = f.Integer{},
  big        = f.Integer{},
  ratio      = f.Float{},
  flag       = f.Boolean{},
  day        = f.Date{},
  at         = f.Datetime{},
  kind       = f.Selection{ choices = { "draft", "open", "done" } },
  data       = f.Json{},
  price      = f.Decimal{ digits = { 12, 2 } },
  blob       = f.Binary{},
  partner_id = f.Many2one{ "interop.partner", ondelete = "set null" },
})

-- ---------------------------------------------------------------------
-- TAP and comparisons
-- ---------------------------------------------------------------------

local failures = 0

local function show(v)
  if type(v) == "string" then
    return string.format("%q", v):gsub("\\\n", "\\n")
  elseif type(v) == "number" then
    return string.format("%s (%s)", tostring(v), math.type(v))
  elseif type(v) == "table" and not orm.is_recordset(v) then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = tostring(k) .. "=" .. show(v[k]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return tostring(v)
end

local function report(good, name, diag)
  if good then
    print("ok - " .. name)
  else
    failures = failures + 1
    print("not ok - " .. name)
    if diag then
      for line in tostring(diag):gmatch("[^\n]+") do print("#   " .. line) end
    end
  end
  io.stdout:flush()
end

-- check(name, fn): fn returns ok[, diag]; an error in fn is a failure.
local function check(name, fn)
  local ok, good, diag = pcall(fn)
  if not ok then
    report(false, name, "raised: " .. tostring(good))
  else
    report(good, name, diag)
  end
end

-- Strict equality: same Lua type, same number subtype, tables deeply.
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then return math.type(a) == math.type(b) and a == b end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local function is(name, get, want)
  check(name, function()
    local got = get()
    return same(got, want), "got:      " .. show(got) .. "\nexpected: " .. show(want)
  end)
end

local function read_state()
  local ids = { item = {}, partner = {} }
  local fh = io.open(state, "r")
  if fh then
    for line in fh:lines() do
      local kind, name, hex = line:match("^(%S+) (%S+) (%x+)$")
      if kind then ids[kind][name] = hex end
    end
    fh:close()
  end
  return ids
end

local function remember(kind, name, id)
  local fh = assert(io.open(state, "a"))
  fh:write(kind, " ", name, " ", tostring(id), "\n")
  fh:close()
end

local env = orm.connect{ database = url }
env:migrate()
local Item, Partner = env["interop.item"], env["interop.partner"]

-- The names of the records a domain finds, sorted.
local function names(domain)
  local out = {}
  for rec in Item:search(domain):each() do out[#out + 1] = rec.name end
  table.sort(out)
  return out
end

local function finds(name, domain, want)
  table.sort(want)
  is(name, function() return names(domain) end, want)
end

-- ---------------------------------------------------------------------
-- step 1: EarnORM writes every field type
-- ---------------------------------------------------------------------

local function step_write()
  local acme
  check("EarnORM creates partner Acme with a 24-hex id", function()
    acme = Partner:create{ name = "Acme" }
    remember("partner", "Acme", acme.id)
    return type(acme.id) == "string" and acme.id:match("^%x+$") and #acme.id == 24,
           "id: " .. show(acme.id)
  end)
  local vals = {
    { name = "eo-full",
      note = "Text with \u{fc}n\u{ef}c\u{f6}d\u{e9} \u{2713}\nand a second line",
      code = "C-1",
      qty = 42,
      big = 9007199254740993,            -- 2^53 + 1: not a double
      ratio = 0.1,
      flag = true,
      day = "2024-02-29",
      at = "2024-03-10 13:45:30",
      kind = "open",
      data = { tier = "gold", seats = 12, ratio = 0.5, ok = true, tags = { "a", "b", "c" },
               nested = { deep = { list = { 1, { x = "y" } } } } },
      price = "12.34",
      blob = "\0\1\255\128bin\0",
      partner_id = acme and acme.id },
    { name = "eo-false", flag = false, qty = 0, big = math.mininteger, ratio = -2.5,
      day = "1969-12-31", at = "2024-03-10T15:45:30.250+02:00", kind = "draft",
      data = { 10, 20, 30 }, price = "-0.5", blob = "", note = "" },
    { name = "eo-empty" },
    { name = "eo-null", note = orm.null, code = orm.null, qty = orm.null, big = orm.null,
      ratio = orm.null, flag = orm.null, day = orm.null, at = orm.null, kind = orm.null,
      data = orm.null, price = orm.null, blob = orm.null, partner_id = orm.null },
    { name = "eo-dotted", data = { ["a.b"] = 1, plain = { ["x.y"] = "z" } },
      big = math.maxinteger },
    { name = "eo-scalar", data = "just text" },
    -- operator injection: values that look like MongoDB operators
    { name = "eo-inject", code = "$gt", note = '{"$ne": null}', data = { ["$gt"] = "" } },
  }
  for _, v in ipairs(vals) do
    check("EarnORM creates " .. v.name, function()
      local rec = Item:create(v)
      remember("item", v.name, rec.id)
      return #rec == 1
    end)
  end
end

-- ---------------------------------------------------------------------
-- step 2: EarnORM reads, searches and writes what pymongo inserted
-- ---------------------------------------------------------------------

local function step_read()
  local ids = read_state()
  local acme, pyp = ids.partner.Acme, ids.partner.PyPartner
  env:invalidate()

  local function one(name)
    local recs = Item:search{ { "name", "=", name } }
    check("EarnORM finds pymongo's " .. name .. " by name, with pymongo's ObjectId as id",
          function()
            return #recs == 1 and recs.id == ids.item[name],
                   "found " .. #recs .. ", id " .. show(#recs == 1 and recs.id or nil) ..
                   ", pymongo " .. show(ids.item[name])
          end)
    return recs
  end

  -- py-full: every type, as pymongo wrote it
  local r = one("py-full")
  local L = "pymongo -> EarnORM py-full: "
  is(L .. "note (Unicode, tab)", function() return r.note end, "pymongo \u{2713} text\twith tab")
  is(L .. "code", function() return r.code end, "PY")
  is(L .. "qty from an int32 is integer 7", function() return r.qty end, 7)
  is(L .. "big from an int64 is 4611686018427387905", function() return r.big end,
     4611686018427387905)
  is(L .. "ratio is float 3.25", function() return r.ratio end, 3.25)
  is(L .. "flag is true", function() return r.flag end, true)
  is(L .. "day (datetime at midnight) is 2023-12-31", function() return r.day end, "2023-12-31")
  is(L .. "at keeps milliseconds", function() return r.at end, "2023-12-31 23:59:58.123000")
  is(L .. "kind", function() return r.kind end, "done")
  is(L .. "data (sub-document with array, float, false)", function() return r.data end,
     { k = { 1, { z = "deep" } }, s = "t", n = 2.5, b = false })
  is(L .. "price from the stored decimal is \"43.21\"", function() return r.price end, "43.21")
  is(L .. "blob keeps NUL and high bytes", function() return r.blob end, "\0\255py\128\0")
  check(L .. "partner_id is EarnORM's Acme (an ObjectId ref)", function()
    local p = r.partner_id
    return orm.is_recordset(p) and #p == 1 and p.id == acme and p.name == "Acme",
           "got " .. show(#p) .. " record(s), id " .. show(#p == 1 and p.id or nil)
  end)
  check(L .. "search_read gives the same values", function()
    local rows = Item:search_read({ { "name", "=", "py-full" } },
      { fields = { "qty", "big", "ratio", "flag", "day", "at", "kind", "data", "price", "blob",
                   "partner_id" } })
    local row = rows[1] or {}
    local want = { id = ids.item["py-full"], qty = 7, big = 4611686018427387905, ratio = 3.25,
                   flag = true, day = "2023-12-31", at = "2023-12-31 23:59:58.123000",
                   kind = "done", data = { k = { 1, { z = "deep" } }, s = "t", n = 2.5, b = false },
                   price = "43.21", blob = "\0\255py\128\0", partner_id = acme }
    return #rows == 1 and same(row, want), "got:      " .. show(row) .. "\nexpected: " .. show(want)
  end)

  -- py-sparse: missing fields and explicit nulls
  local s = one("py-sparse")
  L = "pymongo -> EarnORM py-sparse: "
  is(L .. "kind", function() return s.kind end, "open")
  for _, field in ipairs{ "note", "code", "qty", "big", "ratio", "flag", "day", "at", "data",
                          "price", "blob" } do
    is(L .. field .. " (missing or null) is nil", function() return s[field] end, nil)
  end
  check(L .. "partner_id null is an empty recordset", function()
    return orm.is_recordset(s.partner_id) and #s.partner_id == 0, show(s.partner_id)
  end)
  check(L .. "search_read leaves unset fields out", function()
    local rows = Item:search_read({ { "name", "=", "py-sparse" } },
                                  { fields = { "note", "qty", "flag", "partner_id", "kind" } })
    local row = rows[1] or {}
    local want = { id = ids.item["py-sparse"], kind = "open" }
    return #rows == 1 and same(row, want), "got:      " .. show(row) .. "\nexpected: " .. show(want)
  end)

  -- py-array: a top-level array, numbers of other BSON types
  local a = one("py-array")
  L = "pymongo -> EarnORM py-array: "
  is(L .. "data (top-level array)", function() return a.data end, { 1, "two", { three = 3 } })
  is(L .. "ratio from an int32 is float 7.0", function() return a.ratio end, 7.0)
  is(L .. "qty from an int64 is integer 5", function() return a.qty end, 5)
  is(L .. "price from an int32 scaled decimal is \"1.50\"", function() return a.price end, "1.50")
  is(L .. "day", function() return a.day end, "2024-02-29")

  -- py-dotted: the {"__json__": text} form
  local d = one("py-dotted")
  is("pymongo -> EarnORM py-dotted: {\"__json__\": text} reads as the JSON value",
     function() return d.data end, { ["a.b"] = 2, ["$gt"] = "" })

  -- searches on values pymongo wrote (and EarnORM's own, side by side)
  local all = { "eo-full", "eo-false", "eo-empty", "eo-null", "eo-dotted", "eo-scalar",
                "eo-inject", "py-full", "py-sparse", "py-array", "py-dotted" }
  local function all_but(...)
    local skip, out = {}, {}
    for _, n in ipairs{ ... } do skip[n] = true end
    for _, n in ipairs(all) do if not skip[n] then out[#out + 1] = n end end
    return out
  end
  L = "search: "
  finds(L .. "day = '2023-12-31' (pymongo datetime)", { { "day", "=", "2023-12-31" } },
        { "py-full" })
  finds(L .. "day = '2024-02-29' (both clients)", { { "day", "=", "2024-02-29" } },
        { "eo-full", "py-array" })
  finds(L .. "day < '2000-01-01' (pre-epoch date)", { { "day", "<", "2000-01-01" } },
        { "eo-false" })
  finds(L .. "at = a datetime with milliseconds", { { "at", "=", "2023-12-31 23:59:58.123" } },
        { "py-full" })
  finds(L .. "at > a millisecond before", { { "at", ">", "2023-12-31 23:59:58.122" } },
        { "eo-full", "eo-false", "py-full" })
  finds(L .. "kind in {'done', 'open'}", { { "kind", "in", { "done", "open" } } },
        { "eo-full", "py-full", "py-sparse" })
  finds(L .. "kind = 'draft'", { { "kind", "=", "draft" } }, { "eo-false", "py-array" })
  finds(L .. "price > '12.34'", { { "price", ">", "12.34" } }, { "py-full" })
  finds(L .. "price >= '1.5' (int32 and int64 decimals)", { { "price", ">=", "1.5" } },
        { "eo-full", "py-full", "py-array" })
  finds(L .. "price < 0", { { "price", "<", "0" } }, { "eo-false" })
  finds(L .. "big = 4611686018427387905 (int64)", { { "big", "=", 4611686018427387905 } },
        { "py-full" })
  finds(L .. "big > 2^53 (exact 64-bit comparison)", { { "big", ">", 9007199254740992 } },
        { "eo-full", "eo-dotted", "py-full" })
  finds(L .. "qty > 6", { { "qty", ">", 6 } }, { "eo-full", "py-full" })
  finds(L .. "ratio > 3 (double and int32)", { { "ratio", ">", 3 } }, { "py-full", "py-array" })
  finds(L .. "partner_id = Acme (ObjectId)", { { "partner_id", "=", acme } },
        { "eo-full", "py-full" })
  finds(L .. "partner_id.name = 'Acme' (through the relation)",
        { { "partner_id.name", "=", "Acme" } }, { "eo-full", "py-full" })
  finds(L .. "partner_id = null (missing or null)", { { "partner_id", "=", orm.null } },
        all_but("eo-full", "py-full"))
  finds(L .. "flag = true", { { "flag", "=", true } }, { "eo-full", "py-full" })
  finds(L .. "flag = false (also never set or null)", { { "flag", "=", false } },
        all_but("eo-full", "py-full"))
  finds(L .. "note = null (missing or null, not '')", { { "note", "=", orm.null } },
        { "eo-empty", "eo-null", "eo-dotted", "eo-scalar", "py-sparse", "py-array", "py-dotted" })
  finds(L .. "name =like 'py-%'", { { "name", "=like", "py-%" } },
        { "py-full", "py-sparse", "py-array", "py-dotted" })

  -- operator injection: operator-looking values are data
  L = "injection: "
  finds(L .. "code = '$gt' matches the literal only", { { "code", "=", "$gt" } }, { "eo-inject" })
  finds(L .. "code in {'$gt', '$ne'} matches the literal only",
        { { "code", "in", { "$gt", "$ne" } } }, { "eo-inject" })
  finds(L .. "code != '$gt'", { { "code", "!=", "$gt" } }, all_but("eo-inject"))
  finds(L .. "note = '{\"$ne\": null}' (text)", { { "note", "=", '{"$ne": null}' } },
        { "eo-inject" })
  finds(L .. "Json data = {$gt = ''} matches the stored value only",
        { { "data", "=", { ["$gt"] = "" } } }, { "eo-inject" })
  finds(L .. "Json data = {$ne = 'zzz'} matches nothing", { { "data", "=", { ["$ne"] = "zzz" } } },
        {})
  finds(L .. "Json data = {$exists = true} matches nothing",
        { { "data", "=", { ["$exists"] = true } } }, {})
  finds(L .. "Json data != {$gt = ''} matches every other record",
        { { "data", "!=", { ["$gt"] = "" } } }, all_but("eo-inject"))
  for _, case in ipairs{ { "note", { ["$ne"] = 1 } }, { "name", { ["$regex"] = "." } },
                         { "code", { ["$gt"] = "" } } } do
    check(L .. case[1] .. " = {" .. next(case[2]) .. " = ...} (a table on a text field) " ..
          "is refused or matches nothing", function()
      local ok, res = pcall(names, { { case[1], "=", case[2] } })
      return not ok or #res == 0, ok and ("found " .. show(res)) or nil
    end)
  end
  finds(L .. "note like '.*' is a literal substring", { { "note", "like", ".*" } }, {})
  finds(L .. "code like '$' is a literal substring", { { "code", "like", "$" } }, { "eo-inject" })
  finds(L .. "code ilike '$GT'", { { "code", "ilike", "$GT" } }, { "eo-inject" })

  -- EarnORM writes on pymongo documents (pymongo checks them next)
  check("EarnORM writes py-full (qty, note, day, price, data, flag, code cleared)", function()
    r:write{ qty = 8, note = "edited by earnorm", day = "2024-01-01", price = "99.99",
             data = { edited = true, list = { 1, 2 } }, flag = false, code = orm.null }
    return true
  end)
  check("EarnORM sets py-sparse.partner_id to pymongo's partner", function()
    s.partner_id = pyp
    return true
  end)
  check("EarnORM creates eo-ref pointing at pymongo's partner", function()
    local rec = Item:create{ name = "eo-ref", partner_id = pyp }
    remember("item", "eo-ref", rec.id)
    return #rec == 1
  end)
  env:invalidate()
  is("EarnORM reads back its write on py-full: at untouched",
     function() return Item:search{ { "name", "=", "py-full" } }.at end,
     "2023-12-31 23:59:58.123000")
  is("EarnORM reads pymongo's partner through eo-ref.partner_id",
     function() return Item:search{ { "name", "=", "eo-ref" } }.partner_id.name end, "PyPartner")
end

local ok, err = pcall(step == "write" and step_write or step_read)
if not ok then report(false, "step " .. step .. " raised an error", tostring(err)) end
env:close()
os.exit(failures == 0 and 0 or 1)
