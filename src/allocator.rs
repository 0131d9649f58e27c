//! How the process's memory allocator treats large blocks.
//!
//! Each password hash borrows 19 MiB for a moment. glibc's allocator serves blocks that large
//! with `mmap` and returns them to the system when freed, until the first such free: then it
//! raises its threshold and keeps later ones in per-thread heaps, where they stay resident.
//! Hashes run on many blocking threads in turn, so without a fixed threshold the resident
//! memory of a busy instance climbs to hundreds of MiB and never comes back down.

/// Blocks at least this large always come from `mmap` and go straight back when freed.
const MMAP_THRESHOLD_BYTES: i32 = 1024 * 1024;

/// Fixes the threshold; the same for every call, so calling it again is harmless.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes a tuning parameter of the allocator; it is thread-safe
        // and takes plain integers.
        let applied = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) };
        if applied != 1 {
            tracing::warn!("could not fix the allocator's mmap threshold");
        }
    }
}
