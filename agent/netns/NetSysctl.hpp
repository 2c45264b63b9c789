// Network sysctls of a pod, written from inside its netns.
#pragma once

#include <string>

namespace weft {

/// Sets net.`key` (e.g. "ipv4.tcp_fwmark_accept") to 1 in the calling thread's netns, through
/// `proc_dir` (/proc/sys/net is the netns of the thread that opens it). Returns 0 or the errno:
/// ENOENT when the netns has no such family or the kernel no such setting.
int enable_net_sysctl(const std::string& proc_dir, std::string key);

}  // namespace weft
