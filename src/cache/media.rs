//! Picture variants in memory: the bytes of the variants most asked for, so a hot picture is
//! served without a trip to the database.
//!
//! Rules: bounded by bytes (`MEDIA_CACHE_MB`), not by entries; a variant's address never
//! changes what it names, so an entry leaves only when its picture is deleted (every instance
//! hears `Change::Media`), when memory is needed for hotter ones, or after the time limit.

use crate::domain::ids::MediaId;
use crate::domain::media::{Format, VariantName};

/// What the cache holds when `MEDIA_CACHE_MB` is not set: 64 MiB.
pub const DEFAULT_BYTES: u64 = 64 * 1024 * 1024;

/// One variant's bytes, with the picture it belongs to (to forget it when that is deleted).
#[derive(Debug)]
pub struct CachedVariant {
    pub media_id: MediaId,
    pub format: Format,
    pub bytes: actix_web::web::Bytes,
}

/// A variant's weight: its bytes, and a little for the entry.
pub fn weight(_: &VariantName, variant: &std::sync::Arc<CachedVariant>) -> u32 {
    u32::try_from(variant.bytes.len() + 128).unwrap_or(u32::MAX)
}
