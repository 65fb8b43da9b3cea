/* Lua shared by the suites: the models, and data built once. */
static const char *bench_models_lua =
    "local orm = require 'earnorm'\n"
    "local f = orm.fields\n"
    /* _log_access = false: the raw side writes and reads the same columns
     * (create_date / write_date would be work it does not do) */
    "if not orm.models['bench.rec'] then\n"
    "  orm.model('bench.rec', { _log_access = false, name = f.Char{}, email = f.Char{},\n"
    "                           age = f.Integer{}, score = f.Float{}, active = f.Boolean{} })\n"
    "  orm.model('bench.parent', { _log_access = false, name = f.Char{} })\n"
    "  orm.model('bench.child', { _log_access = false, name = f.Char{},\n"
    "                             parent_id = f.Many2one{ 'bench.parent' } })\n"
    "end\n"
    "FIELDS = { 'name', 'email', 'age', 'score', 'active' }\n"
    "if not data then\n"
    "  local list = {}\n"
    "  for i = 0, ROWS - 1 do\n"
    "    list[i + 1] = { name = 'name ' .. i, email = 'user' .. i .. '@example.com',\n"
    "                    age = i % 90, score = (i % 1000) / 10, active = i % 3 ~= 0 }\n"
    "  end\n"
    "  data = list\n"
    "end\n"
    "function orm_create() local r = P:create(data); assert(#r == ROWS) end\n"
    "function orm_search_read() orm_rows = P:search_read({}, { fields = FIELDS }); assert(#orm_rows == ROWS) end\n"
    "function reset_results() orm_rows = nil; raw_rows = nil; collectgarbage() end\n";

/* The same values the Lua side creates: row i. */
static inline void bench_row(int i, char *name, char *email, int *age, double *score, int *active)
{
    sprintf(name, "name %d", i);
    sprintf(email, "user%d@example.com", i);
    *age = i % 90;
    *score = (i % 1000) / 10.0;
    *active = i % 3 != 0;
}
