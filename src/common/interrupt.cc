#include "common/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace pgk {

namespace {

std::mutex g_mutex;
std::map<int, std::function<void()>> g_hooks;
int g_next_id = 1;
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_exit_code{-1};
std::atomic<int> g_signal{0};
std::function<void()> g_reload;  // guarded by g_mutex

}  // namespace

void InstallInterruptHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set] {
      int sig = 0;
      for (;;) {
        sigwait(&set, &sig);
        if (sig != SIGHUP) break;
        std::function<void()> reload;
        {
          std::lock_guard<std::mutex> lock(g_mutex);
          reload = g_reload;
        }
        if (!reload) break;
        reload();
      }
      g_signal = sig;
      g_interrupted = true;
      std::fprintf(stderr, "\npgkeeper: interrupted (%s), cleaning up\n", strsignal(sig));
      std::map<int, std::function<void()>> hooks;
      {
        std::lock_guard<std::mutex> lock(g_mutex);
        hooks.swap(g_hooks);
      }
      for (auto it = hooks.rbegin(); it != hooks.rend(); ++it) it->second();
      std::fflush(stdout);
      std::fflush(stderr);
      int code = g_exit_code.load();
      ::_exit(code >= 0 ? code : 128 + sig);
    }).detach();
  });
}

int AddCleanupHook(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(g_mutex);
  int id = g_next_id++;
  g_hooks[id] = std::move(fn);
  return id;
}

void RemoveCleanupHook(int id) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_hooks.erase(id);
}

void SetReloadHandler(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_reload = std::move(fn);
}

void SetInterruptExitCode(int code) { g_exit_code = code; }

bool Interrupted() { return g_interrupted; }

int InterruptSignal() { return g_signal; }

void AwaitInterruptExit() {
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

}  // namespace pgk
