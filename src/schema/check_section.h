// The "schema" section of `pgkeeper check`: drift between the live database and the
// expected schema (schema.expect, or the migrations directory at the applied version),
// when either is configured or present. Errors in the diff are errors of the check.
#pragma once

namespace pgk::schema {

void RegisterSchemaCheck();  // idempotent

}  // namespace pgk::schema
