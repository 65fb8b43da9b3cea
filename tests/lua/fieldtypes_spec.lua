-- Field types built on others: Html (Text), Monetary (Decimal + currency),
-- Reference ("model,id"), Properties (Json checked against a schema per
-- record type). Runs on every backend ($EARNORM_TEST_DB); storage is read
-- back with the raw client (sqlite3, psql, pymongo).
local h = require "helper"
local orm = require "earnorm"
local f = orm.fields

orm.model("ft.currency", { _description = "Currency", name = f.Char{} })
orm.model("ft.partner", { _description = "Partner", name = f.Char{}, active = f.Boolean{ default = true } })
orm.model("ft.bare", { _log_access = false }) -- nothing to load but the id
orm.model("ft.kind", { name = f.Char{}, properties_definition = f.Json{}, schema = f.Json{} })
orm.model("ft.doc", {
  name = f.Char{ required = true },
  body = f.Html{},
  clean = f.Html{ sanitize = false },
  currency_id = f.Many2one{ "ft.currency" },
  amount = f.Monetary{},
  code = f.Char{},
  fee = f.Monetary{ currency_field = "code", digits = { 10, 3 } },
  ref = f.Reference{ selection = { "ft.partner", "ft.currency", "ft.bare" } },
  kind_id = f.Many2one{ "ft.kind" },
  props = f.Properties{ definition = "kind_id" },
  other = f.Properties{ definition = "kind_id", definition_field = "schema" },
  parent_id = f.Many2one{ "ft.doc" },
})

local D = "ft.doc"

-- The stored value of column `col` of the ft_doc row named `name`, as
-- "<driver type>|<text>".
local function raw(col, name)
  local cmd
  if h.backend == "sqlite" then
    cmd = string.format([[sqlite3 '%s' "SELECT typeof(%s) || '|' || %s FROM ft_doc WHERE name = '%s'"]],
                        h.url:match("^sqlite://(.+)$"), col, col, name)
  elseif h.backend == "postgresql" then
    cmd = string.format([[psql '%s' -XAtc "SELECT pg_typeof(%s)::text || '|' || %s::text FROM ft_doc WHERE name = '%s'"]],
                        h.url, col, col, name)
  else
    cmd = string.format([[python3 -c "
import pymongo, sys
from bson import json_util
d = pymongo.MongoClient('%s').get_default_database()['ft_doc'].find_one({'name': '%s'})
v = d.get('%s')
print(type(v).__name__ + '|' + (v if isinstance(v, str) else json_util.dumps(v, sort_keys=True)))
"]], h.url, name, col)
  end
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a"):gsub("\n$", "")
  p:close()
  return out
end

-- Run a script in a fresh interpreter (for declarations that would break
-- this process's registry); returns its output.
local function run(body)
  local path = os.tmpname() .. ".lua"
  local fh = assert(io.open(path, "w"))
  fh:write('local orm = require "earnorm"\nlocal f = orm.fields\n', body, "\n")
  fh:close()
  local out, code = h.run("'" .. path .. "'")
  os.remove(path)
  return out, code
end

local function names(env, domain)
  return table.concat(env[D]:search(domain, { order = "name" }):mapped("name"), ",")
end

describe("Html", function()
  local env
  before_each(function() env = h.fresh_env() end)
  after_each(function() env:close() end)

  it("is stored as the text given (no sanitizing yet) and searched as Text", function()
    local markup = '<p onclick="x()">Hi <b>there</b><script>1</script></p>'
    local d = env[D]:create{ name = "h1", body = markup, clean = "<i>x</i>" }
    assert.are.equal(markup, d.body)
    assert.are.equal(markup, raw("body", "h1"):match("|(.*)$"))
    assert.are.equal(1, env[D]:search_count{ { "body", "ilike", "<B>THERE" } })
    assert.are.equal(0, env[D]:search_count{ { "body", "=", "Hi" } })
    local err = h.error_of(env[D].create, env[D], { name = "h2", body = { 1 } })
    assert.are.equal("EINVAL", err.code)
    assert.truthy(err.message:find("ft.doc.body: expected a value for a Html field, got a table", 1, true),
                  err.message)
  end)

  it("refuses sanitize = true as not built yet, and sanitize on other types", function()
    local err = h.error_of(orm.model, "ft.bad_html", { body = f.Html{ sanitize = true } })
    assert.are.equal("EINVAL", err.code)
    assert.truthy(err.message:find("ft.bad_html.body: sanitize = true is not built yet", 1, true),
                  err.message)
    err = h.error_of(orm.model, "ft.bad_html", { body = f.Html{ sanitize = "yes" } })
    assert.truthy(err.message:find("sanitize must be a boolean", 1, true), err.message)
    err = h.error_of(orm.model, "ft.bad_html", { body = f.Text{ sanitize = false } })
    assert.truthy(err.message:find("option 'sanitize' applies to Html fields, not Text", 1, true),
                  err.message)
    err = h.error_of(orm.model, "ft.bad_html", { body = f.Html{ sanitise = false } })
    assert.truthy(err.message:find("unknown option 'sanitise' (did you mean 'sanitize'?)", 1, true),
                  err.message)
    assert.is_nil(orm.models["ft.bad_html"])
  end)
end)

describe("Monetary", function()
  local env, eur
  before_each(function()
    env = h.fresh_env()
    eur = env["ft.currency"]:create{ name = "EUR" }
  end)
  after_each(function() env:close() end)

  it("holds exact amounts with Decimal's default digits (18, 2), or its own", function()
    local d = env[D]:create{ name = "m1", currency_id = eur, amount = "12.345", code = "EUR", fee = 0.0015 }
    assert.are.equal("12.35", d.amount)
    assert.are.equal("0.002", d.fee)
    local stored = raw("amount", "m1")
    if h.backend == "sqlite" then
      assert.are.equal("integer|1235", stored)     -- a scaled integer, as Decimal
    elseif h.backend == "postgresql" then
      assert.are.equal("numeric|12.35", stored)
    else
      -- Decimal128 where the server has it, else the scaled integer (FerretDB)
      assert.truthy(stored == 'Decimal128|{"$numberDecimal": "12.35"}' or stored == "Int64|1235", stored)
    end
    local fg = env[D]:fields_get({ "amount", "fee" })
    assert.are.same({ 18, 2 }, fg.amount.digits)
    assert.are.same({ 10, 3 }, fg.fee.digits)
    assert.are.equal("monetary", fg.amount.type)
    assert.are.equal("currency_id", fg.amount.currency_field)
    assert.are.equal("code", fg.fee.currency_field)
    local err = h.error_of(env[D].create, env[D], { name = "m2", fee = "123456789" })
    assert.are.equal("EVALIDATE", err.code)
    assert.truthy(err.message:find("does not fit digits (10, 3)", 1, true), err.message)
  end)

  it("sums exactly in read_group and compares exactly in domains", function()
    local list = {}
    for i = 1, 10 do list[i] = { name = "s" .. i, currency_id = eur, amount = "0.10" } end
    env[D]:create(list)
    local rows = env[D]:read_group({}, { "amount:sum" }, { "currency_id" })
    assert.are.equal(1, #rows)
    assert.are.equal("1.00", rows[1].amount)
    assert.are.equal(10, env[D]:search_count{ { "amount", "=", "0.1" } })
    assert.are.equal(10, env[D]:search_count{ { "amount", ">=", 0.1 } })
    assert.are.equal(0, env[D]:search_count{ { "amount", ">", "0.10" } })
  end)

  it("needs its currency field: a Many2one or Char of the model, checked when the registry is complete", function()
    local out = run([[
orm.model("m.cur", { name = f.Char{} })
orm.model("m.inv", { total = f.Monetary{} })
local env = orm.connect("sqlite://:memory:")
local ok, err = pcall(env.migrate, env)
print(ok, err.code, err.message)]])
    assert.truthy(out:find("false\tENOTFOUND\tm.inv.total: currency_field 'currency_id' is not a field of m.inv", 1, true), out)
    out = run([[
orm.model("m.inv", { cur = f.Integer{}, total = f.Monetary{ currency_field = "cur" } })
local env = orm.connect("sqlite://:memory:")
local ok, err = pcall(env.migrate, env)
print(ok, err.code, err.message)]])
    assert.truthy(out:find("false\tENOTFOUND\tm.inv.total: currency_field 'cur' is a Integer field; a Monetary's currency field must be a Many2one or a Char", 1, true), out)
    local err = h.error_of(orm.model, "ft.bad_money", { amount = f.Float{ currency_field = "x" } })
    assert.truthy(err.message:find("option 'currency_field' applies to Monetary fields, not Float", 1, true), err.message)
  end)
end)

describe("Reference", function()
  local env, ann, eur
  before_each(function()
    env = h.fresh_env()
    ann = env["ft.partner"]:create{ name = "Ann" }
    eur = env["ft.currency"]:create{ name = "EUR" }
  end)
  after_each(function() env:close() end)

  it("takes a record or \"model,id\", stores \"model,id\" and reads the record", function()
    local d = env[D]:create{ name = "r1", ref = ann }
    local e = env[D]:create{ name = "r2", ref = "ft.currency," .. tostring(eur.id) }
    assert.are.equal("ft.partner", d.ref._name)
    assert.are.equal(ann, d.ref)
    assert.are.equal("Ann", d.ref.name)
    assert.are.equal(eur, e.ref)
    local text = "ft.partner," .. tostring(ann.id)
    if h.backend == "sqlite" then
      assert.are.equal("text|" .. text, raw("ref", "r1"))
    elseif h.backend == "postgresql" then
      assert.are.equal("character varying|" .. text, raw("ref", "r1"))
    else
      assert.truthy(text:match("^ft%.partner,%x+$") and #tostring(ann.id) == 24)
      assert.are.equal("str|" .. text, raw("ref", "r1"))
    end
    -- plain reads give the stored text
    local rows = env[D]:search_read({ { "name", "=", "r1" } }, { fields = { "ref" } })
    assert.are.equal(text, rows[1].ref)
    d.ref = eur
    assert.are.equal("ft.currency", d.ref._name)
    d.ref = orm.null
    assert.is_nil(d.ref)
    local fg = env[D]:fields_get({ "ref" }).ref
    assert.are.equal("reference", fg.type)
    assert.are.same({ { "ft.partner", "Partner" }, { "ft.currency", "Currency" }, { "ft.bare", "ft.bare" } },
                    fg.selection)
  end)

  it("refuses a model outside the selection (EINVAL) and a record that does not exist (ENOTFOUND)", function()
    local kind = env["ft.kind"]:create{ name = "k" }
    local err = h.error_of(env[D].create, env[D], { name = "x", ref = kind })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("ref", err.field)
    assert.truthy(err.message:find("ft.doc.ref: model ft.kind is not one this Reference may point to (ft.partner, ft.currency, ft.bare)", 1, true), err.message)
    err = h.error_of(env[D].create, env[D], { name = "x", ref = "ft.kind,1" })
    assert.are.equal("EINVAL", err.code)
    local missing = h.backend == "mongodb" and "ft.partner,0123456789abcdef01234567" or "ft.partner,999999"
    err = h.error_of(env[D].create, env[D], { name = "x", ref = missing })
    assert.are.equal("ENOTFOUND", err.code)
    assert.are.equal("ref", err.field)
    assert.are.equal("ft.doc.ref: record '" .. missing .. "' does not exist", err.message)
    local wrong = h.backend == "mongodb" and "ft.partner,5" or "ft.partner,0123456789abcdef01234567"
    err = h.error_of(env[D].create, env[D], { name = "x", ref = wrong })
    assert.are.equal("EINVAL", err.code)
    assert.truthy(err.message:find("does not name a record id of this database", 1, true), err.message)
    for _, bad in ipairs{ "ft.partner", "ft.partner,", "Ft.partner,1", "ft.partner,-1", "ft.partner,1,2" } do
      err = h.error_of(env[D].create, env[D], { name = "x", ref = bad })
      assert.are.equal("EINVAL", err.code, bad)
      assert.truthy(err.message:find('expected "model,id"', 1, true), err.message)
    end
    err = h.error_of(env[D].create, env[D], { name = "x", ref = 5 })
    assert.truthy(err.message:find('expected a record or "model,id", got integer', 1, true), err.message)
    local d = env[D]:create{ name = "ok", ref = ann }
    err = h.error_of(function() d.ref = missing end)
    assert.are.equal("ENOTFOUND", err.code)
    assert.are.equal(ann, d.ref)
    assert.are.equal(0, env[D]:search_count{ { "name", "=", "x" } })
  end)

  it("keeps the value of a deleted record and reads it as an empty recordset", function()
    local d = env[D]:create{ name = "r1", ref = ann }
    local text = raw("ref", "r1")
    ann:unlink()
    local fresh = h.fresh_env and orm.connect{ database = h.url }
    for _, e in ipairs{ env, fresh } do
      local r = e[D]:search{ { "name", "=", "r1" } }
      assert.are.equal(1, #r)
      assert.are.equal(0, #r.ref)
      assert.are.equal("ft.partner", r.ref._name)
    end
    assert.are.equal(text, raw("ref", "r1"))
    assert.are.equal(1, env[D]:search_count{ { "ref", "!=", orm.null } })
    fresh:close()
    -- a model with no field to load but the id
    local b = env["ft.bare"]:create{}
    local e2 = env[D]:create{ name = "r2", ref = b }
    assert.are.equal(b, e2.ref)
    b:unlink()
    assert.are.equal(0, #env[D]:search{ { "name", "=", "r2" } }.ref)
  end)

  it("reads the references of many records in one query per model", function()
    local ps, list = {}, {}
    for i = 1, 20 do ps[i] = { name = "p" .. i } end
    ps = env["ft.partner"]:create(ps)
    for i = 1, 20 do list[i] = { name = string.format("d%02d", i), ref = i % 2 == 0 and ps[i] or eur } end
    env[D]:create(list)
    local fresh = orm.connect{ database = h.url }
    local docs = fresh[D]:search({}, { order = "name" })
    local before = fresh:stats().queries
    local got = {}
    for rec in docs:each() do got[#got + 1] = rec.ref.name end
    assert.are.equal("EUR", got[1])
    assert.are.equal("p2", got[2])
    assert.are.equal("p20", got[20])
    -- the docs' own fields, then one query per model referenced
    assert.are.equal(3, fresh:stats().queries - before)
    fresh:close()
  end)

  it("searches with =, !=, in, not in and null, given records or \"model,id\"", function()
    env[D]:create{ { name = "a", ref = ann }, { name = "b", ref = eur }, { name = "c" } }
    assert.are.equal("a", names(env, { { "ref", "=", ann } }))
    assert.are.equal("b", names(env, { { "ref", "=", "ft.currency," .. tostring(eur.id) } }))
    assert.are.equal("a,b", names(env, { { "ref", "in", { ann, eur } } }))
    assert.are.equal("a", names(env, { { "ref", "in", env["ft.partner"]:search{} } }))
    assert.are.equal("b,c", names(env, { { "ref", "!=", ann } }))
    assert.are.equal("c", names(env, { { "ref", "not in", { ann, eur } } }))
    assert.are.equal("c", names(env, { { "ref", "=", orm.null } }))
    assert.are.equal("a,b", names(env, { { "ref", "!=", orm.null } }))
    assert.are.equal("a", names(env, { "!", { "ref", "!=", ann } }))
    -- a Reference on a related record
    env[D]:search{ { "name", "=", "c" } }:write{ parent_id = env[D]:search{ { "name", "=", "a" } } }
    assert.are.equal("c", names(env, { { "parent_id.ref", "=", ann } }))
    assert.are.equal("c", names(env, { { "parent_id", "any", { { "ref", "=", ann } } } }))
    local err = h.error_of(names, env, { { "ref", "like", "ft" } })
    assert.are.equal("EINVAL", err.code)
    assert.truthy(err.message:find('a Reference takes =, !=, in and not in', 1, true), err.message)
    err = h.error_of(names, env, { { "ref", ">", "ft.partner,1" } })
    assert.are.equal("EINVAL", err.code)
  end)

  it("requires a selection of defined models", function()
    local err = h.error_of(orm.model, "ft.bad_ref", { r = f.Reference{} })
    assert.truthy(err.message:find("ft.bad_ref.r: a Reference needs selection", 1, true), err.message)
    err = h.error_of(orm.model, "ft.bad_ref", { r = f.Reference{ selection = { "Not A Model" } } })
    assert.truthy(err.message:find("selection: 'Not A Model' is not a model name", 1, true), err.message)
    err = h.error_of(orm.model, "ft.bad_ref", { r = f.Selection{ selection = { "a" } } })
    assert.truthy(err.message:find("option 'selection' applies to Reference fields, not Selection", 1, true), err.message)
    local out = run([[
orm.model("r.doc", { r = f.Reference{ selection = { "r.nothere" } } })
local env = orm.connect("sqlite://:memory:")
local ok, err = pcall(env.migrate, env)
print(ok, err.code, err.message)]])
    assert.truthy(out:find("false\tENOTFOUND\tr.doc.r: selection names model r.nothere, which is not defined", 1, true), out)
  end)
end)

describe("Properties", function()
  local env, shirt, mug
  before_each(function()
    env = h.fresh_env()
    local K = env["ft.kind"]
    shirt = K:create{ name = "shirt", properties_definition = {
      { name = "color", type = "selection", string = "Color", selection = { "red", "blue" }, default = "red" },
      { name = "size", type = "integer" },
      { name = "weight", type = "float" },
      { name = "ironed", type = "boolean", default = false },
      { name = "since", type = "date" },
      { name = "label", type = "char" },
    }, schema = { { name = "grade", type = "char", default = "A" } } }
    mug = K:create{ name = "mug", properties_definition = { { name = "volume", type = "float", default = 0.3 } } }
  end)
  after_each(function() env:close() end)

  it("checks values against the schema of the record's type, fills defaults, reads back a table", function()
    local d = env[D]:create{ name = "p1", kind_id = shirt, props = { size = 3, weight = 2, since = "2024-02-29", label = "x" } }
    assert.are.same({ color = "red", size = 3, weight = 2.0, ironed = false, since = "2024-02-29", label = "x" }, d.props)
    assert.are.equal("float", math.type(d.props.weight))
    assert.are.same({ grade = "A" }, d.other)
    local stored = raw("props", "p1")
    if h.backend == "sqlite" then
      assert.are.equal("text|", stored:sub(1, 5))
      assert.are.same(d.props, orm.json.decode(stored:sub(6)))
    elseif h.backend == "postgresql" then
      assert.are.equal("jsonb|", stored:sub(1, 6))
      assert.are.same(d.props, orm.json.decode(stored:sub(7)))
    else
      assert.are.equal("dict|", stored:sub(1, 5)) -- a sub-document: dotted paths reach it
      assert.truthy(stored:find('"color": "red"', 1, true), stored)
    end
    local m = env[D]:create{ name = "p2", kind_id = mug }
    assert.are.same({ volume = 0.3 }, m.props)
    local none = env[D]:create{ name = "p3" }
    assert.is_nil(none.props)
    local fg = env[D]:fields_get({ "props", "other" })
    assert.are.equal("properties", fg.props.type)
    assert.are.equal("kind_id", fg.props.definition_record)
    assert.are.equal("properties_definition", fg.props.definition_record_field)
    assert.are.equal("schema", fg.other.definition_record_field)
  end)

  it("refuses unknown properties (naming the closest), wrong types, and properties without a type", function()
    local err = h.error_of(env[D].create, env[D], { name = "x", kind_id = shirt, props = { colr = "red" } })
    assert.are.equal("EINVAL", err.code)
    assert.are.equal("props", err.field)
    assert.are.equal("ft.doc.props: unknown property 'colr' (did you mean 'color'?)", err.message)
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = mug, props = { color = "red" } })
    assert.are.equal("ft.doc.props: unknown property 'color'", err.message)
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = shirt, props = { color = "green" } })
    assert.are.equal('ft.doc.props: property \'color\' (selection) must be one of: red, blue, got string "green"', err.message)
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = shirt, props = { size = "3" } })
    assert.are.equal('ft.doc.props: property \'size\' (integer) must be an integer, got string "3"', err.message)
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = shirt, props = { size = 2.5 } })
    assert.truthy(err.message:find("must be an integer, got number 2.5", 1, true), err.message)
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = shirt, props = { since = "2023-02-29" } })
    assert.truthy(err.message:find("must be a date 'YYYY-MM-DD'", 1, true), err.message)
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = shirt, props = { ironed = 1 } })
    assert.truthy(err.message:find("must be a boolean, got number 1", 1, true), err.message)
    err = h.error_of(env[D].create, env[D], { name = "x", props = { size = 1 } })
    assert.are.equal("ft.doc.props: the record has no definition, so it takes no properties", err.message)
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = shirt, props = { size = { 1 } } })
    assert.are.equal("EINVAL", err.code)
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = shirt, props = "size" })
    assert.truthy(err.message:find("expected a table of property values, got a string", 1, true), err.message)
    assert.are.equal(0, env[D]:search_count{ { "name", "=", "x" } })
  end)

  it("refuses a bad schema naming the definition record", function()
    local k = env["ft.kind"]:create{ name = "bad", properties_definition = { { name = "n", type = "integr" } } }
    local err = h.error_of(env[D].create, env[D], { name = "x", kind_id = k })
    assert.are.equal("EINVAL", err.code)
    assert.truthy(err.message:find("ft.doc.props: the schema of ft.kind(" .. tostring(k.id)
                                   .. ").properties_definition, property 1 ('n'): unknown type \"integr\" (did you mean 'integer'?)", 1, true), err.message)
    k.properties_definition = { { name = "n", type = "integer", default = "x" } }
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = k })
    assert.truthy(err.message:find("the default \"x\" is not an integer", 1, true), err.message)
    k.properties_definition = { { name = "n", type = "integer", defualt = 1 } }
    err = h.error_of(env[D].create, env[D], { name = "x", kind_id = k })
    assert.truthy(err.message:find("unknown key 'defualt' (did you mean 'default'?)", 1, true), err.message)
  end)

  it("writes per definition: defaults of each, reset when the type changes", function()
    local a = env[D]:create{ name = "a", kind_id = shirt, props = { color = "blue", size = 4 } }
    local b = env[D]:create{ name = "b", kind_id = mug, props = { volume = 0.5 } }
    a.props = { size = 5 }
    assert.are.same({ color = "red", size = 5, ironed = false }, a.props)
    ;(a | b):write{ props = {} }
    assert.are.same({ color = "red", ironed = false }, a.props)
    assert.are.same({ volume = 0.3 }, b.props)
    local err = h.error_of(function() (a | b):write{ props = { size = 1 } } end)
    assert.are.equal("ft.doc.props: unknown property 'size'", err.message)
    assert.are.same({ volume = 0.3 }, b.props)
    b.kind_id = shirt
    assert.are.same({ color = "red", ironed = false }, b.props)
    b:write{ kind_id = mug, props = { volume = 1 } }
    assert.are.same({ volume = 1.0 }, b.props)
    b.kind_id = orm.null
    assert.is_nil(b.props)
  end)

  it("searches one property with =, !=, in, not in, ordering and null, comparing types as MongoDB does", function()
    local K = env["ft.kind"]
    local loose = K:create{ name = "loose", properties_definition = {
      { name = "color", type = "char" }, { name = "size", type = "char" }, { name = "ironed", type = "integer" } } }
    env[D]:create{
      { name = "a", kind_id = shirt, props = { color = "red", size = 5, ironed = true } },
      { name = "b", kind_id = shirt, props = { color = "blue", size = 7, weight = 5.0 } },
      { name = "c", kind_id = loose, props = { color = "5", size = "5", ironed = 1 } },
      { name = "d" },
    }
    assert.are.equal("a", names(env, { { "props.color", "=", "red" } }))
    assert.are.equal("a", names(env, { { "props.size", "=", 5 } }))        -- not the string "5"
    assert.are.equal("b", names(env, { { "props.weight", "=", 5 } }))      -- 5 = 5.0
    assert.are.equal("c", names(env, { { "props.size", "=", "5" } }))
    assert.are.equal("a", names(env, { { "props.ironed", "=", true } }))   -- not the integer 1
    assert.are.equal("c", names(env, { { "props.ironed", "=", 1 } }))
    assert.are.equal("b", names(env, { { "props.ironed", "=", false } }))
    assert.are.equal("b,c,d", names(env, { { "props.color", "!=", "red" } }))
    assert.are.equal("a,c", names(env, { { "props.color", "in", { "red", "5" } } }))
    assert.are.equal("b,d", names(env, { { "props.color", "not in", { "red", "5" } } }))
    assert.are.equal("b", names(env, { { "props.color", "not in", { "red", "5", orm.null } } }))
    assert.are.equal("a,d", names(env, { { "props.weight", "=", orm.null }, { "name", "!=", "c" } }))
    assert.are.equal("b", names(env, { { "props.weight", "!=", orm.null } }))
    assert.are.equal("b", names(env, { { "props.size", ">", 5 } }))
    assert.are.equal("a,b", names(env, { { "props.size", ">=", 5 } }))     -- numbers only
    assert.are.equal("c", names(env, { { "props.size", ">=", "0" } }))     -- strings only
    assert.are.equal("a", names(env, { { "props.color", ">", "c" } }))
    assert.are.equal("a", names(env, { { "other.grade", "=", "A" }, { "props.color", "=", "red" } }))
    assert.are.equal("a", names(env, { { "props.color", "=?", "red" } }))
    local err = h.error_of(names, env, { { "props.color", "like", "r" } })
    assert.are.equal("EINVAL", err.code)
    assert.truthy(err.message:find("a property takes =, !=, in, not in, <, <=, > and >=", 1, true), err.message)
    err = h.error_of(names, env, { { "props.color.x", "=", "r" } })
    assert.truthy(err.message:find("a property name holds only letters, digits and '_'", 1, true), err.message)
    err = h.error_of(names, env, { { "props.ironed", ">", true } })
    assert.truthy(err.message:find("compare numbers or strings", 1, true), err.message)
  end)

  it("needs a definition Many2one whose model has the Json schema field", function()
    local err = h.error_of(orm.model, "ft.bad_props", { p = f.Properties{} })
    assert.truthy(err.message:find("ft.bad_props.p: a Properties field needs definition", 1, true), err.message)
    err = h.error_of(orm.model, "ft.bad_props", { p = f.Json{ definition = "x" } })
    assert.truthy(err.message:find("option 'definition' applies to Properties fields, not Json", 1, true), err.message)
    local out = run([[
orm.model("p.kind", { name = f.Char{} })
orm.model("p.doc", { kind_id = f.Many2one{ "p.kind" }, p = f.Properties{ definition = "kind_id" } })
local env = orm.connect("sqlite://:memory:")
local ok, err = pcall(env.migrate, env)
print(ok, err.code, err.message)]])
    assert.truthy(out:find("false\tENOTFOUND\tp.doc.p: the definition model p.kind needs a stored Json field 'properties_definition'", 1, true), out)
    out = run([[
orm.model("p.doc", { kind = f.Char{}, p = f.Properties{ definition = "kind" } })
local env = orm.connect("sqlite://:memory:")
local ok, err = pcall(env.migrate, env)
print(ok, err.code, err.message)]])
    assert.truthy(out:find("false\tENOTFOUND\tp.doc.p: definition 'kind' must be a Many2one field of p.doc", 1, true), out)
  end)
end)

describe("the C JSON API", function()
  it("creates, reads and searches the new types", function()
    local url = h.url
    if h.backend == "sqlite" then url = "sqlite://" .. os.tmpname() .. ".db" end
    local env = orm.connect{ database = url }
    env:migrate()
    env[D]:search{}:unlink()
    env["ft.kind"]:search{}:unlink()
    local k = env["ft.kind"]:create{ name = "k", properties_definition = { { name = "qty", type = "integer", default = 1 } } }
    local p = env["ft.partner"]:create{ name = "Ann" }
    local host = require "earnorm.host"
    local ref = "ft.partner," .. tostring(p.id)
    local ids = host.create(env, D, { { name = "j1", body = "<b>b</b>", amount = "1.005", ref = ref,
                                        kind_id = k.id, props = { qty = 2 } } })
    local rows = host.search_read(env, D, { { "props.qty", "=", 2 }, { "ref", "=", ref } },
                                  { fields = { "body", "amount", "ref", "props" } })
    assert.are.equal(1, #rows)
    assert.are.equal("<b>b</b>", rows[1].body)
    assert.are.equal("1.01", rows[1].amount)
    assert.are.equal(ref, rows[1].ref)
    assert.are.same({ qty = 2 }, rows[1].props)
    local err = h.error_of(host.create, env, D, { { name = "j2", kind_id = k.id, props = { qyt = 1 } } })
    assert.are.equal("ft.doc.props: unknown property 'qyt' (did you mean 'qty'?)", err.message)
    assert.are.equal(1, #ids)
    env:close()
  end)
end)
