#include "schema/json.h"

namespace pgk::schema {

using nlohmann::json;

namespace {

template <typename T>
void PutOpt(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
template <typename T>
void GetOpt(const json& j, const char* key, std::optional<T>& v) {
  if (j.contains(key) && !j[key].is_null()) v = j[key].get<T>();
}
template <typename T>
void Get(const json& j, const char* key, T& v) {
  if (j.contains(key)) v = j[key].get<T>();
}

}  // namespace

// nlohmann's ADL hooks, one pair per model type.
void to_json(json& j, const Grant& g) { j = {{"grantee", g.grantee}, {"privilege", g.privilege}, {"grantable", g.grantable}}; }
void from_json(const json& j, Grant& g) {
  Get(j, "grantee", g.grantee);
  Get(j, "privilege", g.privilege);
  Get(j, "grantable", g.grantable);
}

void to_json(json& j, const Column& c) {
  j = {{"name", c.name}, {"type", c.type}, {"not_null", c.not_null}};
  PutOpt(j, "default", c.default_expr);
  if (!c.identity.empty()) j["identity"] = c.identity;
  PutOpt(j, "generated", c.generated);
  PutOpt(j, "collation", c.collation);
  PutOpt(j, "comment", c.comment);
  if (!c.grants.empty()) j["grants"] = c.grants;
}
void from_json(const json& j, Column& c) {
  Get(j, "name", c.name);
  Get(j, "type", c.type);
  Get(j, "not_null", c.not_null);
  GetOpt(j, "default", c.default_expr);
  Get(j, "identity", c.identity);
  GetOpt(j, "generated", c.generated);
  GetOpt(j, "collation", c.collation);
  GetOpt(j, "comment", c.comment);
  Get(j, "grants", c.grants);
}

void to_json(json& j, const Constraint& c) {
  j = {{"name", c.name}, {"kind", c.kind}, {"definition", c.definition}, {"columns", c.columns},
       {"deferrable", c.deferrable}, {"initially_deferred", c.initially_deferred}, {"validated", c.validated}};
  if (c.kind == "foreign key") {
    j["ref_table"] = c.ref_table;
    j["ref_columns"] = c.ref_columns;
    j["on_update"] = c.on_update;
    j["on_delete"] = c.on_delete;
    j["match"] = c.match;
  }
  if (c.no_inherit) j["no_inherit"] = true;
  if (c.inherited) j["inherited"] = true;
  PutOpt(j, "comment", c.comment);
}
void from_json(const json& j, Constraint& c) {
  Get(j, "name", c.name);
  Get(j, "kind", c.kind);
  Get(j, "definition", c.definition);
  Get(j, "columns", c.columns);
  Get(j, "ref_table", c.ref_table);
  Get(j, "ref_columns", c.ref_columns);
  Get(j, "on_update", c.on_update);
  Get(j, "on_delete", c.on_delete);
  Get(j, "match", c.match);
  Get(j, "deferrable", c.deferrable);
  Get(j, "initially_deferred", c.initially_deferred);
  Get(j, "validated", c.validated);
  Get(j, "no_inherit", c.no_inherit);
  Get(j, "inherited", c.inherited);
  GetOpt(j, "comment", c.comment);
}

void to_json(json& j, const Index& i) {
  j = {{"name", i.name}, {"definition", i.definition}, {"method", i.method}, {"unique", i.unique}, {"keys", i.keys}};
  if (i.nulls_not_distinct) j["nulls_not_distinct"] = true;
  if (!i.include.empty()) j["include"] = i.include;
  PutOpt(j, "predicate", i.predicate);
  if (!i.constraint.empty()) j["constraint"] = i.constraint;
  if (i.inherited) j["inherited"] = true;
  PutOpt(j, "comment", i.comment);
}
void from_json(const json& j, Index& i) {
  Get(j, "name", i.name);
  Get(j, "definition", i.definition);
  Get(j, "method", i.method);
  Get(j, "unique", i.unique);
  Get(j, "nulls_not_distinct", i.nulls_not_distinct);
  Get(j, "keys", i.keys);
  Get(j, "include", i.include);
  GetOpt(j, "predicate", i.predicate);
  Get(j, "constraint", i.constraint);
  Get(j, "inherited", i.inherited);
  GetOpt(j, "comment", i.comment);
}

void to_json(json& j, const Trigger& t) {
  j = {{"name", t.name}, {"definition", t.definition}, {"enabled", t.enabled}};
  if (t.inherited) j["inherited"] = true;
  PutOpt(j, "comment", t.comment);
}
void from_json(const json& j, Trigger& t) {
  Get(j, "name", t.name);
  Get(j, "definition", t.definition);
  Get(j, "enabled", t.enabled);
  Get(j, "inherited", t.inherited);
  GetOpt(j, "comment", t.comment);
}

void to_json(json& j, const Policy& p) {
  j = {{"name", p.name}, {"command", p.command}, {"permissive", p.permissive}, {"roles", p.roles}};
  PutOpt(j, "using", p.using_expr);
  PutOpt(j, "check", p.check_expr);
  PutOpt(j, "comment", p.comment);
}
void from_json(const json& j, Policy& p) {
  Get(j, "name", p.name);
  Get(j, "command", p.command);
  Get(j, "permissive", p.permissive);
  Get(j, "roles", p.roles);
  GetOpt(j, "using", p.using_expr);
  GetOpt(j, "check", p.check_expr);
  GetOpt(j, "comment", p.comment);
}

void to_json(json& j, const Table& t) {
  j = {{"schema", t.schema}, {"name", t.name}, {"kind", t.kind}, {"columns", t.columns},
       {"constraints", t.constraints}, {"indexes", t.indexes}};
  if (t.unlogged) j["unlogged"] = true;
  PutOpt(j, "partition_key", t.partition_key);
  PutOpt(j, "partition_of", t.partition_of);
  PutOpt(j, "partition_bound", t.partition_bound);
  if (!t.inherits.empty()) j["inherits"] = t.inherits;
  if (!t.triggers.empty()) j["triggers"] = t.triggers;
  if (!t.policies.empty()) j["policies"] = t.policies;
  if (t.rls_enabled) j["rls_enabled"] = true;
  if (t.rls_forced) j["rls_forced"] = true;
  if (!t.options.empty()) j["options"] = t.options;
  PutOpt(j, "comment", t.comment);
  if (!t.grants.empty()) j["grants"] = t.grants;
}
void from_json(const json& j, Table& t) {
  Get(j, "schema", t.schema);
  Get(j, "name", t.name);
  Get(j, "kind", t.kind);
  Get(j, "unlogged", t.unlogged);
  GetOpt(j, "partition_key", t.partition_key);
  GetOpt(j, "partition_of", t.partition_of);
  GetOpt(j, "partition_bound", t.partition_bound);
  Get(j, "inherits", t.inherits);
  Get(j, "columns", t.columns);
  Get(j, "constraints", t.constraints);
  Get(j, "indexes", t.indexes);
  Get(j, "triggers", t.triggers);
  Get(j, "policies", t.policies);
  Get(j, "rls_enabled", t.rls_enabled);
  Get(j, "rls_forced", t.rls_forced);
  Get(j, "options", t.options);
  GetOpt(j, "comment", t.comment);
  Get(j, "grants", t.grants);
}

void to_json(json& j, const Sequence& s) {
  j = {{"schema", s.schema}, {"name", s.name}, {"type", s.type}, {"start", s.start}, {"increment", s.increment},
       {"min_value", s.min_value}, {"max_value", s.max_value}, {"cache", s.cache}, {"cycle", s.cycle}};
  PutOpt(j, "owned_by", s.owned_by);
  PutOpt(j, "comment", s.comment);
  if (!s.grants.empty()) j["grants"] = s.grants;
}
void from_json(const json& j, Sequence& s) {
  Get(j, "schema", s.schema);
  Get(j, "name", s.name);
  Get(j, "type", s.type);
  Get(j, "start", s.start);
  Get(j, "increment", s.increment);
  Get(j, "min_value", s.min_value);
  Get(j, "max_value", s.max_value);
  Get(j, "cache", s.cache);
  Get(j, "cycle", s.cycle);
  GetOpt(j, "owned_by", s.owned_by);
  GetOpt(j, "comment", s.comment);
  Get(j, "grants", s.grants);
}

void to_json(json& j, const View& v) {
  j = {{"schema", v.schema}, {"name", v.name}, {"materialized", v.materialized}, {"definition", v.definition},
       {"columns", v.columns}, {"depends_on", v.depends_on}};
  if (!v.options.empty()) j["options"] = v.options;
  if (v.materialized) {
    j["indexes"] = v.indexes;
    j["with_data"] = v.with_data;
  }
  PutOpt(j, "comment", v.comment);
  if (!v.grants.empty()) j["grants"] = v.grants;
}
void from_json(const json& j, View& v) {
  Get(j, "schema", v.schema);
  Get(j, "name", v.name);
  Get(j, "materialized", v.materialized);
  Get(j, "definition", v.definition);
  Get(j, "columns", v.columns);
  Get(j, "options", v.options);
  Get(j, "indexes", v.indexes);
  Get(j, "depends_on", v.depends_on);
  Get(j, "with_data", v.with_data);
  GetOpt(j, "comment", v.comment);
  Get(j, "grants", v.grants);
}

void to_json(json& j, const Function& f) {
  j = {{"schema", f.schema}, {"name", f.name}, {"identity_args", f.identity_args}, {"kind", f.kind},
       {"result", f.result}, {"language", f.language}, {"volatility", f.volatility},
       {"security_definer", f.security_definer}, {"strict", f.strict}, {"body_hash", f.body_hash},
       {"definition", f.definition}};
  PutOpt(j, "comment", f.comment);
  if (!f.grants.empty()) j["grants"] = f.grants;
}
void from_json(const json& j, Function& f) {
  Get(j, "schema", f.schema);
  Get(j, "name", f.name);
  Get(j, "identity_args", f.identity_args);
  Get(j, "kind", f.kind);
  Get(j, "result", f.result);
  Get(j, "language", f.language);
  Get(j, "volatility", f.volatility);
  Get(j, "security_definer", f.security_definer);
  Get(j, "strict", f.strict);
  Get(j, "body_hash", f.body_hash);
  Get(j, "definition", f.definition);
  GetOpt(j, "comment", f.comment);
  Get(j, "grants", f.grants);
}

void to_json(json& j, const EnumType& e) {
  j = {{"schema", e.schema}, {"name", e.name}, {"labels", e.labels}};
  PutOpt(j, "comment", e.comment);
}
void from_json(const json& j, EnumType& e) {
  Get(j, "schema", e.schema);
  Get(j, "name", e.name);
  Get(j, "labels", e.labels);
  GetOpt(j, "comment", e.comment);
}

void to_json(json& j, const DomainConstraint& c) {
  j = {{"name", c.name}, {"definition", c.definition}, {"validated", c.validated}};
}
void from_json(const json& j, DomainConstraint& c) {
  Get(j, "name", c.name);
  Get(j, "definition", c.definition);
  Get(j, "validated", c.validated);
}

void to_json(json& j, const Domain& d) {
  j = {{"schema", d.schema}, {"name", d.name}, {"base_type", d.base_type}, {"not_null", d.not_null},
       {"constraints", d.constraints}};
  PutOpt(j, "default", d.default_expr);
  PutOpt(j, "collation", d.collation);
  PutOpt(j, "comment", d.comment);
}
void from_json(const json& j, Domain& d) {
  Get(j, "schema", d.schema);
  Get(j, "name", d.name);
  Get(j, "base_type", d.base_type);
  Get(j, "not_null", d.not_null);
  GetOpt(j, "default", d.default_expr);
  GetOpt(j, "collation", d.collation);
  Get(j, "constraints", d.constraints);
  GetOpt(j, "comment", d.comment);
}

void to_json(json& j, const CompositeAttribute& a) {
  j = {{"name", a.name}, {"type", a.type}};
  PutOpt(j, "collation", a.collation);
}
void from_json(const json& j, CompositeAttribute& a) {
  Get(j, "name", a.name);
  Get(j, "type", a.type);
  GetOpt(j, "collation", a.collation);
}

void to_json(json& j, const CompositeType& c) {
  j = {{"schema", c.schema}, {"name", c.name}, {"attributes", c.attributes}};
  PutOpt(j, "comment", c.comment);
}
void from_json(const json& j, CompositeType& c) {
  Get(j, "schema", c.schema);
  Get(j, "name", c.name);
  Get(j, "attributes", c.attributes);
  GetOpt(j, "comment", c.comment);
}

void to_json(json& j, const Extension& e) { j = {{"name", e.name}, {"schema", e.schema}, {"version", e.version}}; }
void from_json(const json& j, Extension& e) {
  Get(j, "name", e.name);
  Get(j, "schema", e.schema);
  Get(j, "version", e.version);
}

void to_json(json& j, const SchemaNs& s) {
  j = {{"name", s.name}};
  PutOpt(j, "comment", s.comment);
  if (!s.grants.empty()) j["grants"] = s.grants;
}
void from_json(const json& j, SchemaNs& s) {
  Get(j, "name", s.name);
  GetOpt(j, "comment", s.comment);
  Get(j, "grants", s.grants);
}

json ToJson(const Snapshot& s) {
  return {{"format", s.format},          {"schemas", s.schemas},     {"extensions", s.extensions},
          {"enums", s.enums},            {"domains", s.domains},     {"composite_types", s.composites},
          {"sequences", s.sequences},    {"tables", s.tables},       {"views", s.views},
          {"functions", s.functions},    {"not_compared", s.not_compared}};
}

Result<Snapshot> FromJson(const json& j, const std::string& origin) {
  if (!j.is_object() || !j.contains("format")) {
    return Status::Malformed(origin + " is not a pgkeeper schema snapshot (no \"format\" key)",
                             "create one with `pgkeeper schema snapshot -o FILE`");
  }
  if (j["format"] != 1) {
    return Status::Malformed(origin + " has snapshot format " + j["format"].dump() + "; this pgkeeper reads format 1",
                             "take the snapshot again with this version of pgkeeper");
  }
  Snapshot s;
  try {
    Get(j, "schemas", s.schemas);
    Get(j, "extensions", s.extensions);
    Get(j, "enums", s.enums);
    Get(j, "domains", s.domains);
    Get(j, "composite_types", s.composites);
    Get(j, "sequences", s.sequences);
    Get(j, "tables", s.tables);
    Get(j, "views", s.views);
    Get(j, "functions", s.functions);
    Get(j, "not_compared", s.not_compared);
  } catch (const json::exception& e) {
    return Status::Malformed(origin + " is not a valid snapshot: " + e.what());
  }
  Canonicalize(s);
  return s;
}

std::string SerializeSnapshot(const Snapshot& s) { return ToJson(s).dump(2) + "\n"; }

Result<Snapshot> ParseSnapshot(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    return Status::Malformed("cannot parse " + origin + ": " + e.what(), "is it a snapshot written by pgkeeper?");
  }
  return FromJson(j, origin);
}

}  // namespace pgk::schema
