--- Delegation inheritance, Odoo's _inherits:
--
--   orm.model("res.users", { _inherits = { ["res.partner"] = "partner_id" },
--                            login = f.Char{} })
--
-- The child holds a Many2one to each parent (declared by the model, or
-- added: required, ondelete = "cascade", index), and every field of a
-- parent that the child does not define itself becomes a field of the
-- child read and written through that Many2one: a related field
-- ("partner_id.name") whose domain leaves are searched through the path
-- and whose order is the path's (C orders by a Many2one path). create
-- makes the parents of a whole batch in one create call per parent, then
-- the children pointing at them, in one atomic scope; write writes the
-- parents of the records (one write per parent model); copy copies the
-- parents too (the Many2one is not copied: the copy gets a parent of its
-- own). Unlinking a child leaves its parent; unlinking a parent applies
-- the Many2one's ondelete to its children.
--
-- The state lives on the model's ORM state S (earnorm.recordset's
-- class_state): S._inherits = { [parent] = field }, S._delegated = {
-- [name] = { parent =, via =, field =, path = } } (field: the name in the
-- parent model, path: the stored path from the child).
local core = require "earnorm.core"
local fields = require "earnorm.fields"

local M = {}

local NAME_PATTERN = "^[%a_][%w_]*$"
local X2MANY = { One2many = true, Many2many = true }
-- What a delegated field keeps of its parent's declaration (the rest is
-- the parent's business: required, unique, index, defaults, computes...).
local KEEP = { "string", "help", "size", "choices", "digits", "comodel", "copy", "prefetch" }

local function fail(code, msg, model, field, level)
  error(core.new_error(code, msg, model, field), level + 1)
end

-- parent -> { [child name] = true }: who delegates to a model (for fields
-- an extension of the parent adds later).
local children_of = {}

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

--- Read and check spec._inherits: nil, or { [parent] = field name }.
function M.read(name, spec)
  local inh = spec._inherits
  if inh == nil then return nil end
  local function bad(msg) fail("EINVAL", name .. ": _inherits " .. msg, name, nil, 4) end
  if type(inh) ~= "table" or core.is_recordset(inh) or inh == core.null then
    bad("must be a table { [\"parent.model\"] = \"many2one_field\" }, got a " .. type(inh))
  end
  local out, used, n = {}, {}, 0
  for k, v in pairs(inh) do
    n = n + 1
    if type(k) ~= "string" then
      bad(string.format("maps a parent model's name to the Many2one field that points to it "
        .. "({ [\"res.partner\"] = \"partner_id\" }); key %s is a %s", tostring(k), type(k)))
    end
    if type(v) ~= "string" or not v:match(NAME_PATTERN) then
      bad(string.format("[%q] must be the name of a Many2one field of %s, got %s", k, name,
        type(v) == "string" and string.format("%q", v) or "a " .. type(v)))
    end
    if k == name then bad(string.format("names %s itself: a model cannot delegate to itself", name)) end
    if used[v] then
      bad(string.format("uses field %s for both %s and %s", v, used[v], k))
    end
    used[v] = k
    out[k] = v
  end
  if n == 0 then bad("is empty: name a parent model") end
  return out
end

-- The delegated field `fname` of the child: a related field through `via`
-- to the parent's field `pname` (spec ps).
local function delegated_spec(ctx, fname, via, pname, ps, path)
  local opts = {}
  for _, k in ipairs(KEEP) do opts[k] = ps[k] end
  -- a computed field of the parent without an inverse cannot be written
  -- through the child either
  if ps.readonly or (ps.compute and ps.inverse == nil) then opts.readonly = true end
  opts.related = via .. "." .. pname
  local spec = fields[ps.type](opts)
  spec.search = function(_, op, value) return { { path, op, value } } end
  return ctx.related_spec(ctx.name, fname, spec)
end

--- Add the Many2one fields and the delegated fields of a declaration to
-- `own` (its field list). ctx: { name, spec, own, parents (names from
-- _inherit), existing (the model's state when this is an extension),
-- registry, class_state, wait_for, related_spec, is_auto }. Returns what
-- attach() needs, or nil when the model delegates nothing.
function M.declare(ctx)
  local name, own = ctx.name, ctx.own
  local inh = M.read(name, ctx.spec)
  local states = {}
  -- the _inherits of what it is built from
  local merged, delegated = {}, {}
  local function take(S)
    if S and S._inherits then
      for p, v in pairs(S._inherits) do if merged[p] == nil then merged[p] = v end end
      for k, d in pairs(S._delegated) do if delegated[k] == nil then delegated[k] = d end end
    end
  end
  take(ctx.existing)
  for _, p in ipairs(ctx.parents) do
    if p ~= name then take(ctx.class_state[ctx.registry[p]]) end
  end
  if not inh then
    if next(merged) == nil then return nil end
    return { inherits = merged, delegated = delegated, new = {} }
  end
  -- what the model has without delegation: its own fields, its parents'
  local have, own_at = {}, {}
  for i, e in ipairs(own) do have[e.name] = e.spec; own_at[e.name] = i end
  local function have_from(S)
    if not S then return end
    for n, s in pairs(S._fields) do if have[n] == nil then have[n] = s end end
  end
  have_from(ctx.existing)
  for _, p in ipairs(ctx.parents) do
    if p ~= name then have_from(ctx.class_state[ctx.registry[p]]) end
  end
  local new = {}
  for _, parent in ipairs(sorted_keys(inh)) do
    local via = inh[parent]
    if not ctx.registry[parent] and not ctx.wait_for(parent) then
      local close = core.closest(parent, sorted_keys(ctx.registry))
      fail("ENOTFOUND", string.format("%s: _inherits names unknown model %s%s", name, parent,
        close and (" (did you mean '" .. close .. "'?)") or ""), name, nil, 3)
    end
    local P = ctx.class_state[ctx.registry[parent]]
    states[parent] = P
    if P._abstract then
      fail("EINVAL", string.format("%s: _inherits names %s, which is abstract (it has no "
        .. "records to delegate to; list it in _inherit instead)", name, parent), name, nil, 3)
    end
    if merged[parent] ~= nil and merged[parent] ~= via then
      fail("EINVAL", string.format("%s: _inherits gives %s through %s, already given through %s",
        name, parent, via, merged[parent]), name, via, 3)
    end
    local m2o = have[via]
    if m2o == nil then
      m2o = fields.Many2one{ parent, required = true, ondelete = "cascade", index = true,
                             string = parent }
      own[#own + 1] = { name = via, spec = m2o }
      have[via] = m2o
    else
      if m2o.type ~= "Many2one" or m2o.comodel ~= parent then
        fail("EINVAL", string.format("%s.%s: _inherits delegates %s through %s, which must be a "
          .. "Many2one to %s (it is %s%s)", name, via, parent, via, parent,
          m2o.type == "Many2one" and "a Many2one to " or "a ",
          m2o.type == "Many2one" and tostring(m2o.comodel) or m2o.type), name, via, 3)
      end
      if m2o.compute then
        fail("EINVAL", string.format("%s.%s: _inherits delegates %s through %s, which is "
          .. "computed: it must be a stored Many2one", name, via, parent, via), name, via, 3)
      end
      if m2o.ondelete == "set null" or m2o.required == false then
        fail("EINVAL", string.format("%s.%s: _inherits delegates %s through %s: it must be "
          .. "required, with ondelete \"cascade\" or \"restrict\" (a record needs its %s)",
          name, via, parent, via, parent), name, via, 3)
      end
      if own_at[via] then
        local copy = setmetatable({}, getmetatable(m2o))
        for k, v in pairs(m2o) do copy[k] = v end
        copy.required = true
        if copy.ondelete == nil then copy.ondelete = "cascade" end
        if copy.index == nil then copy.index = true end
        own[own_at[via]].spec = copy
        have[via] = copy
      elseif not m2o.required then
        fail("EINVAL", string.format("%s.%s: _inherits delegates %s through %s, which %s takes "
          .. "from a parent without required = true; declare it required there", name, via,
          parent, via, name), name, via, 3)
      end
    end
    merged[parent] = via
  end
  -- the parents' fields the model does not define itself (the first
  -- parent, by name, wins a name two parents have)
  for _, parent in ipairs(sorted_keys(inh)) do
    local P, via = states[parent], inh[parent]
    for _, pname in ipairs(P._field_order) do
      local ps = P._fields[pname]
      if have[pname] == nil and pname ~= "id" and not X2MANY[ps.type] and not ctx.is_auto(ps) then
        local pd = P._delegated and P._delegated[pname]
        local path = via .. "." .. (pd and pd.path or pname)
        local spec = delegated_spec(ctx, pname, via, pname, ps, path)
        own[#own + 1] = { name = pname, spec = spec }
        have[pname] = spec
        local d = { parent = parent, via = via, field = pname, path = path }
        delegated[pname] = d
        new[#new + 1] = pname
      end
    end
  end
  return { inherits = merged, delegated = delegated, new = new, declared = inh }
end

--- After the declaration went in: record what S delegates.
function M.attach(S, info)
  if not info then return end
  M.any = true -- some model delegates: paths are rewritten (M.path)
  S._inherits = S._inherits or {}
  S._delegated = S._delegated or {}
  for p, v in pairs(info.inherits) do
    S._inherits[p] = v
    children_of[p] = children_of[p] or {}
    children_of[p][S._name] = true
  end
  for k, d in pairs(info.delegated) do
    if S._delegated[k] == nil then S._delegated[k] = d end
  end
  local view = {}
  for p, v in pairs(S._inherits) do view[p] = v end
  rawset(S._class, "_inherits", core.readonly(view, S._name .. "._inherits"))
end

--- An extension of `parent` added fields: give them to the models that
-- delegate to it (a new declaration of each, through define).
function M.propagate(parent, ctx)
  local kids = children_of[parent]
  if not kids then return end
  local P = ctx.class_state[ctx.registry[parent]]
  for _, child in ipairs(sorted_keys(kids)) do
    local C = ctx.class_state[ctx.registry[child]]
    local via = C and C._inherits and C._inherits[parent]
    if via then
      local spec, new = { _inherit = child }, {}
      for _, pname in ipairs(P._field_order) do
        local ps = P._fields[pname]
        if C._fields[pname] == nil and pname ~= "id" and not X2MANY[ps.type] and
           not ctx.is_auto(ps) then
          local pd = P._delegated and P._delegated[pname]
          local path = via .. "." .. (pd and pd.path or pname)
          spec[pname] = delegated_spec({ name = child, related_spec = ctx.related_spec }, pname,
                                       via, pname, ps, path)
          spec[pname].related = nil -- already expanded
          new[pname] = { parent = parent, via = via, field = pname, path = path }
        end
      end
      if next(new) ~= nil then
        ctx.define(child, spec, new)
      end
    end
  end
end

-- ---------------------------------------------------------------------
-- Records

--- A field path with each delegated field on it replaced by its stored
-- path, model by model ("user_id.name" on a model whose user_id is a
-- Many2one to a delegating model: "user_id.partner_id.name"). state_of:
-- a model's name -> its ORM state. The path itself when nothing changes.
function M.path(cls, text, state_of)
  if not M.any and not cls._delegated then return text end
  local out, S, changed = {}, cls, false
  for seg in text:gmatch("[^.]+") do
    local d = S and S._delegated and S._delegated[seg]
    local spec = S and S._fields and S._fields[seg]
    if d then out[#out + 1] = d.path; changed = true else out[#out + 1] = seg end
    local co = spec and spec.comodel
    S = co and state_of and state_of(co) or nil
  end
  if not changed then return text end
  return table.concat(out, ".")
end

--- A domain leaf on a delegated field (or a path through one) as the leaf
-- on its stored path; anything else as it is.
function M.leaf(cls, item, state_of)
  local p = M.path(cls, item[1], state_of)
  if p == item[1] then return item end
  return { p, item[2], item[3] }
end

--- An order text with delegated fields replaced by their paths.
function M.order(cls, text, state_of)
  if type(text) ~= "string" or (not M.any and not cls._delegated) then return text end
  return (text:gsub("([%w_%.]+)", function(w)
    if w:lower() == "asc" or w:lower() == "desc" then return w end
    return M.path(cls, w, state_of)
  end))
end

-- The values of vals that go to each parent: own, { [parent] = vals }.
local function split(cls, vals)
  local own, per = {}, nil
  for k, v in pairs(vals) do
    local d = type(k) == "string" and cls._delegated[k]
    if d then
      per = per or {}
      per[d.parent] = per[d.parent] or {}
      per[d.parent][d.field] = v
    else
      own[k] = v
    end
  end
  return own, per
end

local function unset(v)
  return v == nil or v == false or v == core.null or (core.is_recordset(v) and #v == 0)
end

--- create: the parents of the records that have none, in one create call
-- per parent model, then the children. Called by Recordset's create with
-- the values list (checked) and the function that creates the children.
function M.create(self, cls, list, create_own, atomic)
  local own, pers = {}, {}
  for i, v in ipairs(list) do own[i], pers[i] = split(cls, v) end
  return atomic(self, function()
    for _, parent in ipairs(sorted_keys(cls._inherits)) do
      local via = cls._inherits[parent]
      local P = self.env[parent]
      local todo, at = {}, {}
      for i, o in ipairs(own) do
        local pv = pers[i] and pers[i][parent]
        if unset(o[via]) then
          todo[#todo + 1] = pv or {}
          at[#todo] = i
        elseif pv then
          -- Odoo: a record given its parent writes the parent's values there
          local id = o[via]
          P:browse(core.is_recordset(id) and id.id or id):write(pv)
        end
      end
      if #todo > 0 then
        local made = P:create(todo)
        for j, i in ipairs(at) do own[i][via] = made[j].id end
      end
    end
    return create_own(own)
  end)
end

--- write: delegated values go to the records' parents (one write per
-- parent model, with the values of that parent), the rest to the records.
-- Returns nil when vals has no delegated field (the plain write goes on).
function M.write(self, cls, vals, atomic)
  local own, per = split(cls, vals)
  if not per then return nil end
  atomic(self, function()
    for _, parent in ipairs(sorted_keys(per)) do
      local via = cls._inherits[parent]
      local parents = core.mapped(self, via)
      if #parents > 0 then parents:write(per[parent]) end
    end
    if next(own) ~= nil then self:write(own) end
  end)
  return true
end

--- copy: the Many2one fields are left out (unless `default` names them),
-- so each copy gets a new parent made of the copied delegated values.
-- Returns the list of field names copy reads.
function M.copy_names(cls, names, default)
  local out, drop = {}, {}
  for _, via in pairs(cls._inherits) do
    if not (default and default[via] ~= nil) then drop[via] = true end
  end
  for _, n in ipairs(names) do
    if not drop[n] then out[#out + 1] = n end
  end
  for _, n in ipairs(cls._field_order) do
    local d = cls._delegated[n]
    local s = cls._fields[n]
    if d and s.copy ~= false and not s.readonly and not (default and default[d.via] ~= nil) then
      out[#out + 1] = n
    end
  end
  return out
end

-- ---------------------------------------------------------------------
-- sorted() by delegated fields: the values are read through the records
-- (prefetched along the paths), then sorted here.

local function cmp_values(a, b)
  if core.is_recordset(a) then a = #a > 0 and a.id or nil end
  if core.is_recordset(b) then b = #b > 0 and b.id or nil end
  if a == b then return 0 end
  if a == nil then return -1 end
  if b == nil then return 1 end
  if type(a) == "boolean" then a = a and 1 or 0 end
  if type(b) == "boolean" then b = b and 1 or 0 end
  if type(a) ~= type(b) then a, b = tostring(a), tostring(b) end
  if a < b then return -1 end
  return a > b and 1 or 0
end

--- recs:sorted(order) when the order names a delegated field; nil when it
-- does not (core.sorted does it).
function M.sorted(recs, cls, text, reverse)
  local dl = cls._delegated or {}
  local items, any = {}, false
  for part in text:gmatch("[^,]+") do
    local f, dir = part:match("^%s*([%w_%.]+)%s*(%a*)%s*$")
    if not f then return nil end
    local head = f:match("^[^.]+")
    if dl[head] or f:find(".", 1, true) then any = true end
    items[#items + 1] = { f = f, desc = dir:lower() == "desc" }
  end
  if not any then return nil end
  local paths = {}
  for _, it in ipairs(items) do
    local d = dl[it.f]
    if d then paths[#paths + 1] = d.path
    elseif it.f:find(".", 1, true) then paths[#paths + 1] = it.f end
  end
  recs:prefetch(paths)
  local ents = {}
  for i = 1, #recs do
    local rec = recs[i]
    local keys = {}
    for j, it in ipairs(items) do
      local v = rec
      for seg in it.f:gmatch("[^.]+") do
        if v == nil or (core.is_recordset(v) and #v == 0) then v = nil; break end
        v = v[seg]
      end
      keys[j] = v
    end
    ents[i] = { i = i, keys = keys, id = rec.id }
  end
  table.sort(ents, function(a, b)
    for j, it in ipairs(items) do
      local c = cmp_values(a.keys[j], b.keys[j])
      if c ~= 0 then
        if it.desc then c = -c end
        if reverse then c = -c end
        return c < 0
      end
    end
    return a.i < b.i
  end)
  local ids = {}
  for i, e in ipairs(ents) do ids[i] = e.id end
  return core.browse(recs, ids)
end

return M
