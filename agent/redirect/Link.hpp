// Owned libbpf link handle.
#pragma once

#include <bpf/libbpf.h>

#include <memory>

namespace weft::redirect {

struct LinkDeleter {
  void operator()(bpf_link* link) const noexcept { bpf_link__destroy(link); }
};

/// Owns a bpf_link. Destroying it closes the fd; a link that is also pinned in bpffs stays
/// attached (the pin holds a reference), which is how redirection outlives the agent.
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

}  // namespace weft::redirect
