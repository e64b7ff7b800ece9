#include "schema/diff.h"

#include <algorithm>
#include <functional>
#include <map>
#include <regex>
#include <set>

namespace pgk::schema {

namespace {

class Differ {
 public:
  explicit Differ(DiffResult* out) : out_(out) {}

  void Add(Severity sev, const std::string& kind, const std::string& object, const std::string& item,
           const std::string& what, const std::string& expected = "", const std::string& actual = "") {
    out_->differences.push_back({sev, kind, object, item, what, expected, actual});
  }

  template <typename T>
  void Optional(Severity sev, const std::string& kind, const std::string& object, const std::string& item,
                const std::string& what, const std::optional<T>& e, const std::optional<T>& a) {
    if (e != a) Add(sev, kind, object, item, what, e.value_or("(none)"), a.value_or("(none)"));
  }

  void Grants(const std::string& kind, const std::string& object, const std::string& item,
              const std::vector<Grant>& e, const std::vector<Grant>& a) {
    auto render = [](const Grant& g) {
      return g.privilege + " to " + g.grantee + (g.grantable ? " with grant option" : "");
    };
    std::set<std::string> es, as;
    for (const auto& g : e) es.insert(render(g));
    for (const auto& g : a) as.insert(render(g));
    for (const auto& g : es)
      if (!as.count(g)) Add(Severity::kInfo, kind, object, item, "grant missing", g, "");
    for (const auto& g : as)
      if (!es.count(g)) Add(Severity::kInfo, kind, object, item, "extra grant", "", g);
  }

  // Matches two named collections; calls `both` for pairs and reports missing/extra.
  template <typename T, typename Key>
  void Match(const std::vector<T>& e, const std::vector<T>& a, Key key, const std::string& kind,
             const std::function<std::string(const T&)>& object_of, const std::function<std::string(const T&)>& item_of,
             Severity missing_sev, const std::function<void(const T&, const T&)>& both,
             const std::function<bool(const T&)>& skip = nullptr) {
    std::map<std::string, const T*> am;
    for (const auto& x : a)
      if (!skip || !skip(x)) am[key(x)] = &x;
    std::set<std::string> seen;
    for (const auto& x : e) {
      if (skip && skip(x)) continue;
      auto it = am.find(key(x));
      if (it == am.end()) {
        Add(missing_sev, kind, object_of(x), item_of(x), "missing");
      } else {
        seen.insert(key(x));
        both(x, *it->second);
      }
    }
    for (const auto& x : a) {
      if (skip && skip(x)) continue;
      if (!seen.count(key(x))) Add(Severity::kWarning, kind, object_of(x), item_of(x), "extra");
    }
  }

  void Columns(const std::string& obj, const Table& e, const Table& a);
  void Constraints(const std::string& obj, const Table& e, const Table& a);
  void Indexes(const std::string& kind, const std::string& obj, const std::vector<Index>& e, const std::vector<Index>& a);
  void Tables(const Snapshot& e, const Snapshot& a);
  void Others(const Snapshot& e, const Snapshot& a);

 private:
  DiffResult* out_;
};

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// The index definition without its name, to recognise the same index under another name.
std::string Unnamed(const Index& i) {
  static const std::regex name_re(R"(^(CREATE (UNIQUE )?INDEX )\S+( ON ))");
  return std::regex_replace(i.definition, name_re, "$1$3");
}

void Differ::Columns(const std::string& obj, const Table& e, const Table& a) {
  Match<Column>(
      e.columns, a.columns, [](const Column& c) { return c.name; }, "table",
      [&](const Column&) { return obj; }, [](const Column& c) { return "column " + QuoteIdentIfNeeded(c.name); },
      Severity::kError, [&](const Column& x, const Column& y) {
        std::string item = "column " + QuoteIdentIfNeeded(x.name);
        if (x.type != y.type) Add(Severity::kError, "table", obj, item, "type", x.type, y.type);
        if (x.not_null != y.not_null) {
          Add(Severity::kError, "table", obj, item, "nullability", x.not_null ? "NOT NULL" : "nullable",
              y.not_null ? "NOT NULL" : "nullable");
        }
        Optional(Severity::kWarning, "table", obj, item, "default", x.default_expr, y.default_expr);
        if (x.identity != y.identity) {
          Add(Severity::kError, "table", obj, item, "identity", x.identity.empty() ? "(none)" : x.identity,
              y.identity.empty() ? "(none)" : y.identity);
        }
        Optional(Severity::kError, "table", obj, item, "generated expression", x.generated, y.generated);
        Optional(Severity::kWarning, "table", obj, item, "collation", x.collation, y.collation);
        Optional(Severity::kInfo, "table", obj, item, "comment", x.comment, y.comment);
        Grants("table", obj, item, x.grants, y.grants);
      });
}

void Differ::Constraints(const std::string& obj, const Table& e, const Table& a) {
  Match<Constraint>(
      e.constraints, a.constraints, [](const Constraint& c) { return c.name; }, "table",
      [&](const Constraint&) { return obj; },
      [](const Constraint& c) { return c.kind + " " + QuoteIdentIfNeeded(c.name); }, Severity::kError,
      [&](const Constraint& x, const Constraint& y) {
        std::string item = x.kind + " " + QuoteIdentIfNeeded(x.name);
        if (x.kind == "foreign key" && y.kind == "foreign key" &&
            (x.ref_table != y.ref_table || x.ref_columns != y.ref_columns)) {
          Add(Severity::kError, "table", obj, item, "foreign key target",
              x.ref_table + "(" + Join(x.ref_columns) + ")", y.ref_table + "(" + Join(y.ref_columns) + ")");
        } else if (x.definition != y.definition) {
          // NOT VALID alone (a constraint not validated yet) is a warning, not a mismatch.
          auto strip = [](std::string d) {
            auto p = d.find(" NOT VALID");
            if (p != std::string::npos) d.erase(p, 10);
            return d;
          };
          if (strip(x.definition) == strip(y.definition)) {
            Add(Severity::kWarning, "table", obj, item, "validation", x.validated ? "valid" : "NOT VALID",
                y.validated ? "valid" : "NOT VALID");
          } else {
            Add(Severity::kError, "table", obj, item, "definition", x.definition, y.definition);
          }
        }
        Optional(Severity::kInfo, "table", obj, item, "comment", x.comment, y.comment);
      },
      [](const Constraint& c) { return c.inherited; });
}

void Differ::Indexes(const std::string& kind, const std::string& obj, const std::vector<Index>& e,
                     const std::vector<Index>& a) {
  // Constraint-backed indexes are compared through their constraints.
  auto own = [](const std::vector<Index>& v) {
    std::vector<const Index*> out;
    for (const auto& i : v)
      if (i.constraint.empty() && !i.inherited) out.push_back(&i);
    return out;
  };
  auto ev = own(e), av = own(a);
  std::map<std::string, const Index*> am;
  for (auto* i : av) am[i->name] = i;
  std::set<std::string> matched;
  std::vector<const Index*> missing;
  for (auto* i : ev) {
    auto it = am.find(i->name);
    if (it == am.end()) {
      missing.push_back(i);
      continue;
    }
    matched.insert(i->name);
    if (i->definition != it->second->definition) {
      Add(Severity::kError, kind, obj, "index " + QuoteIdentIfNeeded(i->name), "definition", i->definition,
          it->second->definition);
    }
    Optional(Severity::kInfo, kind, obj, "index " + QuoteIdentIfNeeded(i->name), "comment", i->comment,
             it->second->comment);
  }
  std::vector<const Index*> extra;
  for (auto* i : av)
    if (!matched.count(i->name)) extra.push_back(i);
  for (auto* m : missing) {
    auto same = std::find_if(extra.begin(), extra.end(), [&](const Index* x) { return Unnamed(*x) == Unnamed(*m); });
    if (same != extra.end()) {
      Add(Severity::kWarning, kind, obj, "index " + QuoteIdentIfNeeded(m->name), "name", m->name, (*same)->name);
      extra.erase(same);
    } else {
      Add(Severity::kError, kind, obj, "index " + QuoteIdentIfNeeded(m->name), "missing", m->definition, "");
    }
  }
  for (auto* x : extra) Add(Severity::kWarning, kind, obj, "index " + QuoteIdentIfNeeded(x->name), "extra", "", x->definition);
}

void Differ::Tables(const Snapshot& es, const Snapshot& as) {
  Match<Table>(
      es.tables, as.tables, [](const Table& t) { return t.QualifiedName(); }, "table",
      [](const Table& t) { return t.QualifiedName(); }, [](const Table&) { return std::string(); }, Severity::kError,
      [&](const Table& e, const Table& a) {
        std::string obj = e.QualifiedName();
        if (e.kind != a.kind) Add(Severity::kError, "table", obj, "", "kind", e.kind, a.kind);
        Optional(Severity::kError, "table", obj, "", "partition key", e.partition_key, a.partition_key);
        Optional(Severity::kError, "table", obj, "", "parent", e.partition_of, a.partition_of);
        Optional(Severity::kError, "table", obj, "", "partition bounds", e.partition_bound, a.partition_bound);
        if (e.inherits != a.inherits) Add(Severity::kError, "table", obj, "", "inherits", Join(e.inherits), Join(a.inherits));
        if (e.unlogged != a.unlogged) {
          Add(Severity::kWarning, "table", obj, "", "persistence", e.unlogged ? "unlogged" : "logged",
              a.unlogged ? "unlogged" : "logged");
        }
        Columns(obj, e, a);
        Constraints(obj, e, a);
        Indexes("table", obj, e.indexes, a.indexes);
        Match<Trigger>(
            e.triggers, a.triggers, [](const Trigger& t) { return t.name; }, "table",
            [&](const Trigger&) { return obj; }, [](const Trigger& t) { return "trigger " + QuoteIdentIfNeeded(t.name); },
            Severity::kError,
            [&](const Trigger& x, const Trigger& y) {
              std::string item = "trigger " + QuoteIdentIfNeeded(x.name);
              if (x.definition != y.definition) Add(Severity::kError, "table", obj, item, "definition", x.definition, y.definition);
              if (x.enabled != y.enabled) Add(Severity::kWarning, "table", obj, item, "enabled", x.enabled, y.enabled);
            },
            [](const Trigger& t) { return t.inherited; });
        if (e.rls_enabled != a.rls_enabled) {
          Add(Severity::kError, "table", obj, "", "row level security", e.rls_enabled ? "enabled" : "disabled",
              a.rls_enabled ? "enabled" : "disabled");
        }
        if (e.rls_forced != a.rls_forced) {
          Add(Severity::kError, "table", obj, "", "forced row level security", e.rls_forced ? "forced" : "not forced",
              a.rls_forced ? "forced" : "not forced");
        }
        Match<Policy>(
            e.policies, a.policies, [](const Policy& p) { return p.name; }, "table", [&](const Policy&) { return obj; },
            [](const Policy& p) { return "policy " + QuoteIdentIfNeeded(p.name); }, Severity::kError,
            [&](const Policy& x, const Policy& y) {
              std::string item = "policy " + QuoteIdentIfNeeded(x.name);
              if (x.command != y.command || x.permissive != y.permissive || x.roles != y.roles ||
                  x.using_expr != y.using_expr || x.check_expr != y.check_expr) {
                Add(Severity::kError, "table", obj, item, "definition",
                    x.command + " to " + Join(x.roles) + " using " + x.using_expr.value_or("-") + " check " +
                        x.check_expr.value_or("-"),
                    y.command + " to " + Join(y.roles) + " using " + y.using_expr.value_or("-") + " check " +
                        y.check_expr.value_or("-"));
              }
            });
        if (e.options != a.options) Add(Severity::kWarning, "table", obj, "", "storage options", Join(e.options), Join(a.options));
        Optional(Severity::kInfo, "table", obj, "", "comment", e.comment, a.comment);
        Grants("table", obj, "", e.grants, a.grants);
      });
}

void Differ::Others(const Snapshot& es, const Snapshot& as) {
  Match<SchemaNs>(
      es.schemas, as.schemas, [](const SchemaNs& s) { return s.name; }, "schema",
      [](const SchemaNs& s) { return QuoteIdentIfNeeded(s.name); }, [](const SchemaNs&) { return std::string(); },
      Severity::kError, [&](const SchemaNs& e, const SchemaNs& a) {
        Optional(Severity::kInfo, "schema", QuoteIdentIfNeeded(e.name), "", "comment", e.comment, a.comment);
        Grants("schema", QuoteIdentIfNeeded(e.name), "", e.grants, a.grants);
      });
  Match<Extension>(
      es.extensions, as.extensions, [](const Extension& x) { return x.name; }, "extension",
      [](const Extension& x) { return "extension " + x.name; }, [](const Extension&) { return std::string(); },
      Severity::kError, [&](const Extension& e, const Extension& a) {
        if (e.version != a.version) Add(Severity::kWarning, "extension", "extension " + e.name, "", "version", e.version, a.version);
        if (e.schema != a.schema) Add(Severity::kWarning, "extension", "extension " + e.name, "", "schema", e.schema, a.schema);
      });
  Match<EnumType>(
      es.enums, as.enums, [](const EnumType& x) { return Qualified(x.schema, x.name); }, "enum",
      [](const EnumType& x) { return Qualified(x.schema, x.name); }, [](const EnumType&) { return std::string(); },
      Severity::kError, [&](const EnumType& e, const EnumType& a) {
        std::string obj = Qualified(e.schema, e.name);
        for (const auto& l : e.labels)
          if (std::find(a.labels.begin(), a.labels.end(), l) == a.labels.end())
            Add(Severity::kError, "enum", obj, "label '" + l + "'", "missing");
        for (const auto& l : a.labels)
          if (std::find(e.labels.begin(), e.labels.end(), l) == e.labels.end())
            Add(Severity::kWarning, "enum", obj, "label '" + l + "'", "extra");
        Optional(Severity::kInfo, "enum", obj, "", "comment", e.comment, a.comment);
      });
  Match<Domain>(
      es.domains, as.domains, [](const Domain& x) { return Qualified(x.schema, x.name); }, "domain",
      [](const Domain& x) { return Qualified(x.schema, x.name); }, [](const Domain&) { return std::string(); },
      Severity::kError, [&](const Domain& e, const Domain& a) {
        std::string obj = Qualified(e.schema, e.name);
        if (e.base_type != a.base_type) Add(Severity::kError, "domain", obj, "", "type", e.base_type, a.base_type);
        if (e.not_null != a.not_null) {
          Add(Severity::kError, "domain", obj, "", "nullability", e.not_null ? "NOT NULL" : "nullable",
              a.not_null ? "NOT NULL" : "nullable");
        }
        Optional(Severity::kWarning, "domain", obj, "", "default", e.default_expr, a.default_expr);
        Optional(Severity::kWarning, "domain", obj, "", "collation", e.collation, a.collation);
        Match<DomainConstraint>(
            e.constraints, a.constraints, [](const DomainConstraint& c) { return c.name; }, "domain",
            [&](const DomainConstraint&) { return obj; },
            [](const DomainConstraint& c) { return "check " + QuoteIdentIfNeeded(c.name); }, Severity::kError,
            [&](const DomainConstraint& x, const DomainConstraint& y) {
              if (x.definition != y.definition)
                Add(Severity::kError, "domain", obj, "check " + QuoteIdentIfNeeded(x.name), "definition", x.definition,
                    y.definition);
            });
      });
  Match<CompositeType>(
      es.composites, as.composites, [](const CompositeType& x) { return Qualified(x.schema, x.name); }, "type",
      [](const CompositeType& x) { return Qualified(x.schema, x.name); },
      [](const CompositeType&) { return std::string(); }, Severity::kError,
      [&](const CompositeType& e, const CompositeType& a) {
        auto render = [](const CompositeType& c) {
          std::vector<std::string> parts;
          for (const auto& at : c.attributes) parts.push_back(QuoteIdentIfNeeded(at.name) + " " + at.type);
          return Join(parts);
        };
        if (e.attributes != a.attributes)
          Add(Severity::kError, "type", Qualified(e.schema, e.name), "", "attributes", render(e), render(a));
      });
  Match<Sequence>(
      es.sequences, as.sequences, [](const Sequence& x) { return x.QualifiedName(); }, "sequence",
      [](const Sequence& x) { return x.QualifiedName(); }, [](const Sequence&) { return std::string(); },
      Severity::kError, [&](const Sequence& e, const Sequence& a) {
        auto render = [](const Sequence& s) {
          return s.type + " start " + std::to_string(s.start) + " increment " + std::to_string(s.increment) + " min " +
                 std::to_string(s.min_value) + " max " + std::to_string(s.max_value) + " cache " +
                 std::to_string(s.cache) + (s.cycle ? " cycle" : "");
        };
        if (render(e) != render(a)) Add(Severity::kWarning, "sequence", e.QualifiedName(), "", "settings", render(e), render(a));
        Optional(Severity::kWarning, "sequence", e.QualifiedName(), "", "owned by", e.owned_by, a.owned_by);
        Grants("sequence", e.QualifiedName(), "", e.grants, a.grants);
      });
  Match<View>(
      es.views, as.views, [](const View& x) { return x.QualifiedName(); }, "view",
      [](const View& x) { return x.QualifiedName(); }, [](const View&) { return std::string(); }, Severity::kError,
      [&](const View& e, const View& a) {
        std::string kind = e.materialized ? "materialized view" : "view";
        if (e.materialized != a.materialized) Add(Severity::kError, kind, e.QualifiedName(), "", "kind", kind, a.materialized ? "materialized view" : "view");
        if (e.definition != a.definition) Add(Severity::kError, kind, e.QualifiedName(), "", "definition", e.definition, a.definition);
        if (e.options != a.options) Add(Severity::kWarning, kind, e.QualifiedName(), "", "options", Join(e.options), Join(a.options));
        Indexes(kind, e.QualifiedName(), e.indexes, a.indexes);
        Optional(Severity::kInfo, kind, e.QualifiedName(), "", "comment", e.comment, a.comment);
        Grants(kind, e.QualifiedName(), "", e.grants, a.grants);
      });
  Match<Function>(
      es.functions, as.functions, [](const Function& x) { return x.Signature(); }, "function",
      [](const Function& x) { return x.Signature(); }, [](const Function&) { return std::string(); }, Severity::kError,
      [&](const Function& e, const Function& a) {
        std::string obj = e.Signature();
        if (e.kind != a.kind) Add(Severity::kError, e.kind, obj, "", "kind", e.kind, a.kind);
        if (e.result != a.result) Add(Severity::kError, e.kind, obj, "", "result type", e.result, a.result);
        if (e.language != a.language) Add(Severity::kError, e.kind, obj, "", "language", e.language, a.language);
        if (e.body_hash != a.body_hash) Add(Severity::kError, e.kind, obj, "", "body", e.body_hash, a.body_hash);
        if (e.volatility != a.volatility || e.security_definer != a.security_definer || e.strict != a.strict) {
          auto attrs = [](const Function& f) {
            return f.volatility + (f.security_definer ? " security definer" : "") + (f.strict ? " strict" : "");
          };
          Add(Severity::kError, e.kind, obj, "", "attributes", attrs(e), attrs(a));
        }
        Optional(Severity::kInfo, e.kind, obj, "", "comment", e.comment, a.comment);
        Grants(e.kind, obj, "", e.grants, a.grants);
      });
}

}  // namespace

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "?";
}

std::string Difference::Message() const {
  std::string subject = item.empty() ? object_kind + " " + object : item;
  if (what == "missing") return subject + " is missing" + (expected.empty() ? "" : ": " + expected);
  if (what == "extra") return subject + " is extra (not expected)" + (actual.empty() ? "" : ": " + actual);
  if (what == "name") return "index " + expected + " exists under another name, " + actual + ", with the same definition";
  if (what == "grant missing") return subject + ": grant " + expected + " is missing";
  if (what == "extra grant") return subject + ": extra grant " + actual;
  return subject + ": " + what + " differs: expected " + expected + ", found " + actual;
}

int DiffResult::Count(Severity s) const {
  return static_cast<int>(std::count_if(differences.begin(), differences.end(),
                                        [s](const Difference& d) { return d.severity == s; }));
}

DiffResult Diff(const Snapshot& expected, const Snapshot& actual) {
  DiffResult r;
  Differ d(&r);
  d.Others(expected, actual);
  d.Tables(expected, actual);
  // Keep the output grouped by object: stable sort by object name, kinds in order seen.
  std::stable_sort(r.differences.begin(), r.differences.end(),
                   [](const Difference& a, const Difference& b) { return a.object < b.object; });
  std::set<std::string> kinds;
  for (const auto& [k, n] : expected.not_compared) kinds.insert(k);
  for (const auto& [k, n] : actual.not_compared) kinds.insert(k);
  r.not_compared.assign(kinds.begin(), kinds.end());
  return r;
}

void ExcludeTables(Snapshot& s, const std::vector<std::string>& names) {
  std::set<std::string> excluded(names.begin(), names.end());
  std::erase_if(s.tables, [&](const Table& t) { return excluded.count(t.QualifiedName()); });
}

}  // namespace pgk::schema
