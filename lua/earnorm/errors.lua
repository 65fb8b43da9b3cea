--- Error objects: every failure the ORM raises is an earnorm.Error with
-- code ("EVALIDATE", "EINVAL", ...), message, model, field and domain
-- ("SQLITE", "LUA", ...). tostring(err) gives "EVALIDATE: message".
local core = require "earnorm.core"

local M = {}

local function ctor(code)
  -- Error(msg) or Error{ message = ..., field = ..., model = ... }
  return setmetatable({ code = code }, {
    __call = function(_, arg, opts)
      if type(arg) == "table" then
        return core.new_error(arg.code or code, arg.message or arg[1] or code,
                              arg.model, arg.field)
      end
      opts = opts or {}
      return core.new_error(code, tostring(arg), opts.model, opts.field)
    end,
  })
end

M.Error = ctor("ERROR")
M.ValidationError = ctor("EVALIDATE")
M.is_error = core.is_error

--- Wrap a non-earnorm error raised by user code, naming where it ran.
function M.wrap(err, model, where)
  -- rethrown as is, the memory error stays one (EO_ENOMEM for C hosts)
  if err == "not enough memory" then return err end
  if core.is_error(err) then
    if err.model == nil or err.model == "" then err.model = model end
    return err
  end
  return core.new_error("ERROR", string.format("%s: error in %s: %s", model, where,
                                               tostring(err)), model, nil, "LUA")
end

return M
