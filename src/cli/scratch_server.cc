#include "cli/scratch_server.h"

namespace pgk::cli {

Result<std::unique_ptr<ScratchServer>> ScratchServer::Start(const Context& ctx, const std::string& target,
                                                            const std::string& dir) {
  auto server = std::unique_ptr<ScratchServer>(new ScratchServer());
  if (target == "server") {
    PGK_ASSIGN_OR_RETURN(pg::ConnTarget t, ctx.Target());
    server->conninfo_ = t.conninfo;
    return server;
  }
  PGK_ASSIGN_OR_RETURN(server->cluster_, pg::LocalCluster::Open({.dir = ctx.LocalDir(dir)}));
  PGK_RETURN_IF_ERROR(server->cluster_->Init());
  PGK_RETURN_IF_ERROR(server->cluster_->Start());
  server->conninfo_ = server->cluster_->ConnInfo("postgres");
  return server;
}

Status ScratchServer::Stop() {
  if (!cluster_ || cluster_->already_running()) return Status::Ok();
  Status s = cluster_->Stop();
  cluster_.reset();
  return s;
}

}  // namespace pgk::cli
