--- x2many commands, as Odoo's Command: values for One2many and Many2many
-- fields in create and write.
--
--   P:create{ name = "Ann", tag_ids = { orm.Command.link(t1), orm.Command.create{ name = "new" } } }
--   rec:write{ child_ids = { orm.Command.unlink(kid), orm.Command.update(other, { age = 3 }) } }
--   rec:write{ tag_ids = tags }            -- a recordset or a list of ids: set exactly these
--   rec:write{ tag_ids = {} }              -- or orm.null: clear
--
-- A command is a plain table { op, id, value }, so Odoo-style tuples work too.
local M = {
  CREATE = 0, UPDATE = 1, DELETE = 2, UNLINK = 3, LINK = 4, CLEAR = 5, SET = 6,
}

local function id_of(x)
  if type(x) == "userdata" then return x.id end
  return x
end

--- Create a record from vals and link it.
function M.create(vals) return { 0, 0, vals } end
--- Write vals on a linked record.
function M.update(rec, vals) return { 1, id_of(rec), vals } end
--- Delete a record (and so its link).
function M.delete(rec) return { 2, id_of(rec), 0 } end
--- Remove the link only (a One2many with a required inverse deletes the record).
function M.unlink(rec) return { 3, id_of(rec), 0 } end
--- Link an existing record.
function M.link(rec) return { 4, id_of(rec), 0 } end
--- Remove every link.
function M.clear() return { 5, 0, 0 } end
--- Link exactly these records (a recordset or a list of ids).
function M.set(recs) return { 6, 0, recs } end

return M
