#include "common/log.h"

#include <spdlog/sinks/base_sink.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

#include "common/mask.h"

namespace pgk::log {

namespace {

Verbosity g_verbosity = Verbosity::kNormal;

// A stderr sink that masks secrets after formatting, so no call site can forget to.
class MaskingStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  MaskingStderrSink() : color_(isatty(STDERR_FILENO) != 0) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text(msg.payload.data(), msg.payload.size());
    text = MaskSecrets(text);
    const char* prefix = "";
    const char* color = "";
    switch (msg.level) {
      case spdlog::level::warn:
        prefix = "warning: ";
        color = "\033[33m";
        break;
      case spdlog::level::err:
      case spdlog::level::critical:
        prefix = "error: ";
        color = "\033[31m";
        break;
      case spdlog::level::debug:
      case spdlog::level::trace:
        prefix = "debug: ";
        color = "\033[2m";
        break;
      default:
        break;
    }
    // On a terminal, erase a progress line (cli/progress.h) first; it redraws below.
    if (color_) std::fputs("\r\033[K", stderr);
    if (color_ && *color) {
      std::fprintf(stderr, "%s%s%s\033[0m\n", color, prefix, text.c_str());
    } else {
      std::fprintf(stderr, "%s%s\n", prefix, text.c_str());
    }
  }
  void flush_() override { std::fflush(stderr); }

 private:
  bool color_;
};

}  // namespace

void Init(Verbosity verbosity) {
  g_verbosity = verbosity;
  auto logger = std::make_shared<spdlog::logger>("pgkeeper", std::make_shared<MaskingStderrSink>());
  switch (verbosity) {
    case Verbosity::kQuiet:
      logger->set_level(spdlog::level::err);
      break;
    case Verbosity::kNormal:
      logger->set_level(spdlog::level::info);
      break;
    case Verbosity::kVerbose:
      logger->set_level(spdlog::level::debug);
      break;
    case Verbosity::kTrace:
      logger->set_level(spdlog::level::trace);
      break;
  }
  spdlog::set_default_logger(logger);
}

Verbosity CurrentVerbosity() { return g_verbosity; }

}  // namespace pgk::log
