// The creation order of types, functions, tables and views. The model keeps no
// dependency graph beyond View::depends_on, so dependencies are read from the text
// PostgreSQL printed: a type name, a function signature, an SQL-standard body.
#include <algorithm>

#include "schema/ddl.h"

namespace pgk::schema::ddl_internal {

namespace {

// "public.t[]" -> "public.t"; "SETOF x" -> "x".
std::string TypeName(std::string type) {
  if (type.rfind("SETOF ", 0) == 0) type.erase(0, 6);
  while (type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0) type.resize(type.size() - 2);
  return type;
}

// Splits at commas outside parentheses and quotes.
std::vector<std::string> SplitTopLevel(const std::string& list) {
  std::vector<std::string> out;
  std::string current;
  int depth = 0;
  bool quoted = false;
  for (char c : list) {
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '(') ++depth;
    if (!quoted && c == ')') --depth;
    if (!quoted && depth == 0 && c == ',') {
      out.push_back(StripStatement(current));
      current.clear();
      continue;
    }
    current += c;
  }
  if (!StripStatement(current).empty()) out.push_back(StripStatement(current));
  return out;
}

// The types an argument list ("a integer, OUT b public.t") or a function result
// ("SETOF public.t", "TABLE(x public.t)") may name. An argument is "[mode] [name] type"
// and its name cannot be told from a multi-word type, so both readings are candidates.
std::vector<std::string> SignatureTypes(const std::string& text) {
  std::string body = text;
  if (body.rfind("TABLE(", 0) == 0 && body.back() == ')') body = body.substr(6, body.size() - 7);
  std::vector<std::string> out;
  for (std::string arg : SplitTopLevel(body)) {
    for (const char* mode : {"IN ", "OUT ", "INOUT ", "VARIADIC "})
      if (arg.rfind(mode, 0) == 0) arg.erase(0, std::string(mode).size());
    out.push_back(TypeName(arg));
    bool quoted = false;
    for (size_t i = 0; i < arg.size(); ++i) {
      if (arg[i] == '"') quoted = !quoted;
      if (!quoted && arg[i] == ' ') {
        out.push_back(TypeName(arg.substr(i + 1)));
        break;
      }
    }
  }
  return out;
}

void TypeOrder(const Snapshot& s, Plan& plan) {
  // Nodes: domains, then composites. Enums need nothing and come before both.
  const int domains = static_cast<int>(s.domains.size());
  Names names;
  for (int i = 0; i < domains; ++i) names.Add(s.domains[i].schema, s.domains[i].name, i);
  for (size_t i = 0; i < s.composites.size(); ++i)
    names.Add(s.composites[i].schema, s.composites[i].name, domains + static_cast<int>(i));
  std::vector<std::vector<int>> deps(domains + s.composites.size());
  for (int i = 0; i < domains; ++i) deps[i] = names.Find(TypeName(s.domains[i].base_type));
  for (size_t i = 0; i < s.composites.size(); ++i)
    for (const CompositeAttribute& a : s.composites[i].attributes)
      for (int id : names.Find(TypeName(a.type))) deps[domains + i].push_back(id);
  for (int id : TopoSort(deps)) {
    if (id < domains) {
      plan.types.push_back({.domain = &s.domains[id]});
    } else {
      plan.types.push_back({.composite = &s.composites[id - domains]});
    }
  }
}

void TableOrder(const Snapshot& s, Plan& plan) {
  Names names;
  for (size_t i = 0; i < s.tables.size(); ++i) names.Add(s.tables[i].schema, s.tables[i].name, static_cast<int>(i));
  std::vector<std::vector<int>> deps(s.tables.size());
  for (size_t i = 0; i < s.tables.size(); ++i) {
    const Table& t = s.tables[i];
    std::vector<std::string> refs = t.inherits;
    if (t.partition_of) refs.push_back(*t.partition_of);
    for (const Column& c : t.columns) refs.push_back(TypeName(c.type));  // row type columns
    for (const std::string& ref : refs)
      for (int id : names.Find(ref)) deps[i].push_back(id);
  }
  for (int id : TopoSort(deps)) plan.tables.push_back(&s.tables[id]);
  for (const Table& t : s.tables) plan.by_name[t.QualifiedName()] = &t;
  for (const Table& t : s.tables) {
    int depth = 0;
    for (const Table* p = &t; p->partition_of && depth <= static_cast<int>(s.tables.size()); ++depth) {
      auto it = plan.by_name.find(*p->partition_of);
      if (it == plan.by_name.end()) break;
      p = it->second;
    }
    plan.depth[&t] = depth;
  }
}

// Functions and views. A function is created before the tables unless it needs one: a
// table or view row type in its signature, or (SQL-standard "BEGIN ATOMIC" bodies, which
// PostgreSQL parses at creation even with check_function_bodies off) a relation or a
// function its body uses. Other bodies are not checked at creation, so they need nothing.
void FunctionAndViewOrder(const Snapshot& s, Plan& plan) {
  const int functions = static_cast<int>(s.functions.size());
  const int views = static_cast<int>(s.views.size());
  Names table_names, view_names, routines;
  for (const Table& t : s.tables) table_names.Add(t.schema, t.name, 0);
  for (int i = 0; i < views; ++i) view_names.Add(s.views[i].schema, s.views[i].name, functions + i);
  for (int i = 0; i < functions; ++i) routines.Add(s.functions[i].schema, s.functions[i].name, i);

  // Nodes: functions, then views. Level 0: before tables; 1: after tables; 2: with views.
  std::vector<std::vector<int>> deps(functions + views);
  std::vector<int> level(functions + views, 0);
  for (int i = 0; i < functions; ++i) {
    const Function& f = s.functions[i];
    std::vector<std::string> types = SignatureTypes(f.identity_args);
    for (const std::string& t : SignatureTypes(f.result)) types.push_back(t);
    for (const std::string& t : types) {
      if (!table_names.Find(t).empty()) level[i] = 1;
      for (int id : view_names.Find(t)) deps[i].push_back(id);
    }
    size_t body = f.definition.find("BEGIN ATOMIC");
    if (body == std::string::npos) continue;
    // Bodies are printed with an empty search_path: user relations are qualified, and a
    // bare name is a column or a parameter.
    for (const Token& token : Tokens(std::string_view(f.definition).substr(body))) {
      if (token.call) {
        for (int id : routines.Find(token.text, false))
          if (id != i) deps[i].push_back(id);
      } else {
        if (!table_names.Find(token.text, false).empty()) level[i] = 1;
        for (int id : view_names.Find(token.text, false)) deps[i].push_back(id);
      }
    }
  }
  for (int i = 0; i < views; ++i) {
    const View& v = s.views[i];
    level[functions + i] = 2;
    for (const std::string& ref : v.depends_on)
      for (int id : view_names.Find(ref)) deps[functions + i].push_back(id);
    for (const Token& token : Tokens(v.definition))
      if (token.call)
        for (int id : routines.Find(token.text, false)) deps[functions + i].push_back(id);
  }
  std::vector<int> order = TopoSort(deps);
  for (int id : order)
    for (int dep : deps[id]) level[id] = std::max(level[id], dep >= functions ? 2 : level[dep]);

  for (int id : order) {
    if (id >= functions) {
      plan.late.push_back({.view = &s.views[id - functions]});
      continue;
    }
    const Function& f = s.functions[id];
    std::vector<std::string> spellings = {Qualified(f.schema, f.name)};
    if (f.schema == "public") spellings.push_back(QuoteIdentIfNeeded(f.name));
    for (const std::string& spelling : spellings) {
      plan.functions.insert(spelling);
      if (level[id] > 0) plan.late_functions.insert(spelling);
    }
    if (level[id] == 0) plan.early_functions.push_back(&f);
    if (level[id] == 1) plan.table_functions.push_back(&f);
    if (level[id] == 2) plan.late.push_back({.function = &f});
  }
}

}  // namespace

Plan MakePlan(const Snapshot& s) {
  Plan plan;
  TypeOrder(s, plan);
  TableOrder(s, plan);
  FunctionAndViewOrder(s, plan);
  return plan;
}

bool Calls(std::string_view expr, const std::set<std::string>& functions) {
  for (const Token& token : Tokens(expr))
    if (token.call && functions.count(token.text)) return true;
  return false;
}

}  // namespace pgk::schema::ddl_internal
