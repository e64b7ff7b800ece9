#include "physical/pgdata.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgk::physical {

namespace {

// pg_wal/archive_status itself is kept (see Walk), but not the archiver's .ready/.done
// flags: a restored cluster would believe segments it never had were archived.
constexpr const char* kContentsExcluded[] = {"pg_wal",       "pg_wal/archive_status", "pg_stat_tmp", "pg_replslot",
                                             "pg_dynshmem",  "pg_notify",             "pg_serial",   "pg_snapshots",
                                             "pg_subtrans"};
// Only at the top of the data directory.
constexpr const char* kTopFilesExcluded[] = {
    "postmaster.pid",  "postmaster.opts",  "backup_label", "backup_label.old", "tablespace_map",
    "backup_manifest", "recovery.signal",  "standby.signal", "postgresql.auto.conf.tmp", "current_logfiles.tmp"};

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Basename(const std::string& rel) {
  auto slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

Status Errno(const std::string& what, const std::string& path, int err) {
  return Status::IO(what + " " + path + ": " + std::strerror(err),
                    err == EACCES ? "run the backup as the data directory's owner (or root)" : "");
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Errno("cannot open directory", dir, errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

struct Walker {
  std::vector<PgdataEntry>* out;

  // `full` is the real path on disk, `rel` the path recorded in the backup.
  Status Walk(const std::string& full, const std::string& rel) {
    PGK_ASSIGN_OR_RETURN(auto names, ListDir(full));
    std::set<std::string> unlogged = UnloggedRelations(names);
    bool skip_contents = ContentsExcluded(rel);
    for (const auto& name : names) {
      std::string child_full = full + "/" + name;
      std::string child_rel = rel.empty() ? name : rel + "/" + name;
      if (name.rfind("pgsql_tmp", 0) == 0) continue;
      struct stat st {};
      if (::lstat(child_full.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // removed since the listing (a dropped relation)
        return Errno("cannot stat", child_full, errno);
      }
      bool is_dir = S_ISDIR(st.st_mode);
      // pg_wal/archive_status is recreated empty; every other excluded directory's
      // subdirectories go with their contents.
      if (skip_contents && !(rel == "pg_wal" && name == "archive_status" && is_dir)) continue;
      PgdataEntry e;
      e.path = child_rel;
      e.mode = st.st_mode & 07777;
      e.mtime_ns = MtimeNs(st);
      if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t n = ::readlink(child_full.c_str(), buf, sizeof buf - 1);
        if (n < 0) return Errno("cannot read link", child_full, errno);
        std::string target(buf, static_cast<size_t>(n));
        struct stat tst {};
        bool target_is_dir = ::stat(child_full.c_str(), &tst) == 0 && S_ISDIR(tst.st_mode);
        if (rel == "pg_tblspc" && target_is_dir) {
          e.type = PgdataEntry::Type::kLink;
          e.link_target = target;
          out->push_back(e);
          PGK_RETURN_IF_ERROR(Walk(child_full, child_rel));
        } else if (rel.empty() && name == "pg_wal" && target_is_dir) {
          // WAL on another disk (initdb -X): restored as a plain directory.
          e.type = PgdataEntry::Type::kDirectory;
          e.mode = tst.st_mode & 07777;
          out->push_back(e);
          PGK_RETURN_IF_ERROR(Walk(child_full, child_rel));
        } else {
          e.type = PgdataEntry::Type::kLink;
          e.link_target = target;
          out->push_back(e);
        }
        continue;
      }
      if (is_dir) {
        e.type = PgdataEntry::Type::kDirectory;
        out->push_back(e);
        PGK_RETURN_IF_ERROR(Walk(child_full, child_rel));
        continue;
      }
      if (!S_ISREG(st.st_mode)) continue;  // sockets, fifos
      if (ExcludedFile(child_rel) || IsTempRelation(name)) continue;
      std::string relfilenode, fork;
      uint32_t seg = 0;
      if (ParseRelationFile(name, &relfilenode, &fork, &seg) && unlogged.count(relfilenode) && fork != "init") continue;
      e.type = PgdataEntry::Type::kFile;
      e.size = static_cast<uint64_t>(st.st_size);
      e.page_checked = IsPageCheckedPath(child_rel, &e.segment_no);
      out->push_back(e);
    }
    return Status::Ok();
  }
};

}  // namespace

bool ContentsExcluded(const std::string& rel_dir) {
  for (const char* d : kContentsExcluded)
    if (rel_dir == d) return true;
  return false;
}

bool ExcludedFile(const std::string& rel) {
  if (rel.find('/') == std::string::npos) {
    for (const char* f : kTopFilesExcluded)
      if (rel == f) return true;
  }
  std::string name = Basename(rel);
  return name.rfind("pg_internal.init", 0) == 0 || name.rfind("pgsql_tmp", 0) == 0;
}

bool ParseRelationFile(const std::string& name, std::string* relfilenode, std::string* fork, uint32_t* segment_no) {
  std::string base = name;
  *segment_no = 0;
  auto dot = base.find('.');
  if (dot != std::string::npos) {
    std::string seg = base.substr(dot + 1);
    if (!AllDigits(seg) || seg.size() > 9) return false;
    *segment_no = static_cast<uint32_t>(std::stoul(seg));
    base = base.substr(0, dot);
  }
  auto underscore = base.find('_');
  std::string f;
  if (underscore != std::string::npos) {
    f = base.substr(underscore + 1);
    if (f != "fsm" && f != "vm" && f != "init") return false;
    base = base.substr(0, underscore);
  }
  if (!AllDigits(base)) return false;
  *relfilenode = base;
  *fork = f;
  return true;
}

std::set<std::string> UnloggedRelations(const std::vector<std::string>& names) {
  std::set<std::string> out;
  for (const auto& n : names) {
    std::string rel, fork;
    uint32_t seg = 0;
    if (ParseRelationFile(n, &rel, &fork, &seg) && fork == "init") out.insert(rel);
  }
  return out;
}

bool IsTempRelation(const std::string& name) {
  // t<backend id>_<relfilenode>[_fork][.segment]
  if (name.size() < 4 || name[0] != 't') return false;
  auto underscore = name.find('_');
  if (underscore == std::string::npos || !AllDigits(name.substr(1, underscore - 1))) return false;
  std::string rel, fork;
  uint32_t seg = 0;
  return ParseRelationFile(name.substr(underscore + 1), &rel, &fork, &seg);
}

bool IsPageCheckedPath(const std::string& rel, uint32_t* segment_no) {
  if (rel.rfind("global/", 0) != 0 && rel.rfind("base/", 0) != 0 && rel.rfind("pg_tblspc/", 0) != 0) return false;
  std::string relfilenode, fork;
  return ParseRelationFile(Basename(rel), &relfilenode, &fork, segment_no);
}

Result<std::vector<PgdataEntry>> ScanPgdata(const std::filesystem::path& pgdata) {
  struct stat st {};
  if (::stat(pgdata.c_str(), &st) != 0) return Errno("cannot read the data directory", pgdata.string(), errno);
  if (::access((pgdata / "PG_VERSION").c_str(), F_OK) != 0) {
    return Status::InvalidArgument(pgdata.string() + " is not a PostgreSQL data directory (no PG_VERSION)",
                                   "pass the server's data directory with --pgdata");
  }
  std::vector<PgdataEntry> out;
  Walker w{&out};
  PGK_RETURN_IF_ERROR(w.Walk(pgdata.string(), ""));
  std::sort(out.begin(), out.end(), [](const PgdataEntry& a, const PgdataEntry& b) { return a.path < b.path; });
  return out;
}

}  // namespace pgk::physical
