// Test-only helpers for cni/*_test.cpp: a temp directory, a fake weft-agent that serves the
// registration socket from a thread, and a node's CNI directories for the installer.
#pragma once

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cni/CniEnv.hpp"
#include "cni/Installer.hpp"
#include "common/Fd.hpp"
#include "common/PodRegistration.hpp"

namespace weft::cni::testing {

/// An EnvLookup over a fixed table, so tests never touch the process environment.
inline EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

/// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/weft-cni-test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = buf.data();
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A weft-agent stand-in: listens on a unix socket and serves `connections` clients one after
/// the other from a thread, recording each request.
class FakeAgent {
 public:
  enum class Behaviour {
    Accept,       ///< {"ok":true}
    Refuse,       ///< {"ok":false,"error":reason}
    Silent,       ///< reads the request, never answers (until the test ends)
    CloseAtOnce,  ///< closes the connection without reading or answering
  };

  FakeAgent(std::filesystem::path socket, Behaviour behaviour, std::string reason = {},
            int connections = 1)
      : socket_(std::move(socket)), behaviour_(behaviour), reason_(std::move(reason)) {
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = socket_.string();
    if (!listener_ || path.size() >= sizeof(addr.sun_path)) {
      throw std::runtime_error("FakeAgent: socket() failed or path too long");
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0 ||
        ::listen(listener_.get(), 8) < 0) {
      throw std::runtime_error("FakeAgent: bind/listen failed on " + path);
    }
    thread_ = std::thread([this, connections] { serve(connections); });
  }
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;
  ~FakeAgent() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    ::unlink(socket_.c_str());
  }

  /// Requests received so far, decoded.
  std::vector<PodRegistration> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void serve(int connections) {
    for (int served = 0; served < connections; ++served) {
      // Poll so a test whose client never connects still ends (the destructor sets stopping_).
      for (;;) {
        {
          std::lock_guard lock(mu_);
          if (stopping_) {
            return;
          }
        }
        pollfd pfd{listener_.get(), POLLIN, 0};
        if (::poll(&pfd, 1, 50) > 0) {
          break;
        }
      }
      Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) {
        continue;
      }
      if (behaviour_ == Behaviour::CloseAtOnce) {
        continue;
      }
      std::string line;
      char c = 0;
      while (::recv(conn.get(), &c, 1, 0) == 1 && c != '\n') {
        line.push_back(c);
      }
      if (auto reg = decode_registration(line)) {
        std::lock_guard lock(mu_);
        requests_.push_back(*reg);
      }
      if (behaviour_ == Behaviour::Silent) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_; });
        return;
      }
      RegistrationReply reply{behaviour_ == Behaviour::Accept, reason_};
      std::string out = encode(reply);
      [[maybe_unused]] ssize_t n = ::send(conn.get(), out.data(), out.size(), MSG_NOSIGNAL);
    }
  }

  std::filesystem::path socket_;
  Behaviour behaviour_;
  std::string reason_;
  Fd listener_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<PodRegistration> requests_;
  std::thread thread_;
};

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void spit(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

/// A node's CNI directories under a temp dir, with a stand-in for the weft-cni binary.
struct InstallerNode {
  TempDir root;
  InstallerOptions options;
  InstallerNode() {
    options.conf_dir = root.path() / "net.d";
    options.bin_dir = root.path() / "opt-cni-bin";
    options.self_exe = root.path() / "weft-cni-build";
    options.wait_seconds = 0;
    std::filesystem::create_directories(options.conf_dir);
    spit(options.self_exe, "#!/bin/false\nweft-cni stand-in\n");
  }
  std::vector<std::string> conf_files() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(options.conf_dir)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

}  // namespace weft::cni::testing
