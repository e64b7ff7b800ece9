#include "backup/file_writer.h"

namespace pgk::backup {

Status WriteBackupFile(repo::Repository& repository, const FileSpec& spec,
                       const std::function<Status(pipeline::Sink&)>& produce, repo::ManifestFile* entry) {
  std::string path = repo::BackupDir(spec.backup_id) + spec.name;
  PGK_ASSIGN_OR_RETURN(auto writer, repository.storage().OpenWrite(path, {.atomic = true, .sync = true}));
  pipeline::PipelineOptions po;
  po.name = path;
  po.compression = spec.compression;
  po.compression_level = spec.compression_level;
  po.compression_threads = spec.compression_threads;
  po.key = spec.data_key;
  pipeline::FileStats stats;
  PGK_ASSIGN_OR_RETURN(auto sink, pipeline::BuildWritePipeline(*writer, po, &stats));
  Status s = produce(*sink);
  if (s.ok()) s = sink->Finish();
  if (!s.ok()) {
    writer->Abort();
    return s.WithContext("writing " + path);
  }
  entry->name = spec.name;
  entry->kind = spec.kind;
  entry->table = spec.table;
  repo::FillFromStats(stats, entry);
  return Status::Ok();
}

}  // namespace pgk::backup
