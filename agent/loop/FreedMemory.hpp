// Giving the memory that the allocator keeps for reuse back to the kernel once a wave of work is
// over, so that the agent's RSS follows what it holds now rather than its peak.
#pragma once

namespace weft::proxy {

/// How the process's allocator returns freed memory: set once by main() (which knows which
/// allocator it links) before any other thread starts. Unset: glibc's malloc_trim.
using MemoryPurge = void (*)();
void set_memory_purge(MemoryPurge purge);

/// Returns to the kernel what this thread's heap keeps for reuse. Allocators keep a heap per
/// thread and only its own thread purges it, so each thread that allocates calls this itself:
/// the workers on their tick after a wave of connections, the control thread after it
/// published a view.
void return_freed_memory();

}  // namespace weft::proxy
