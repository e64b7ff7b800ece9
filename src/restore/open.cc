#include "restore/open.h"

namespace pgk::restore {

Result<std::unique_ptr<repo::Repository>> OpenRepositoryForReading(const std::string& url, const std::string& key_file,
                                                                   const Config& config, bool metadata_only) {
  repo::OpenOptions o;
  o.url = !url.empty() ? url : config.GetString("repository.url").value_or("");
  if (o.url.empty()) {
    return Status::InvalidArgument("no backup repository given",
                                   "pass --repo URL, or set repository.url in the config file");
  }
  o.key_file = !key_file.empty() ? key_file : config.GetString("repository.key_file").value_or("");
  o.create = false;
  o.metadata_only = metadata_only;
  return repo::Repository::Open(o);
}

}  // namespace pgk::restore
