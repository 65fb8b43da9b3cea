/*
 * earnorm.h - the umbrella header: everything a C host needs.
 *
 * Hosts usually need only the engine (engine.h): open, load Lua models,
 * migrate, and the JSON calls. The lower headers are there for adapter
 * authors and for hosts that drive the core without Lua.
 */
#ifndef EARNORM_EARNORM_H
#define EARNORM_EARNORM_H

#include "common.h"
#include "alloc.h"
#include "error.h"
#include "value.h"
#include "model.h"
#include "domain.h"
#include "query.h"
#include "env.h"
#include "orm.h"
#include "depends.h"
#include "embedded.h"
#include "engine.h"

#endif /* EARNORM_EARNORM_H */
