//! Where variants' bytes are kept: an interface an object store could implement, and the
//! PostgreSQL store every instance shares (so any instance serves what another received, and
//! the pictures are in the same backups as the articles).
//!
//! Rules: a name (`<hash>-<width>.<ext>`) always names the same bytes, so putting a name twice
//! is harmless and a reader may cache what it got for ever. Bytes are put before the
//! catalogue names them, and swept only once no picture names them and they have not been put
//! again for a while: a page never points at bytes that are not there, even when a picture is
//! deleted and the same file uploaded again at that moment. Calls block: make them on the
//! blocking pool.

use time::OffsetDateTime;

use crate::db::{self, DbPool};

/// A place that keeps variants' bytes by name.
pub trait BlobStore: Send + Sync {
    /// Keeps `bytes` under `name`, or marks them as put now when they are there already.
    fn put(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError>;
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes the bytes no picture of the catalogue names that were not put since
    /// `untouched_before`; gives how many went.
    fn sweep(&self, untouched_before: OffsetDateTime) -> Result<usize, StoreError>;
}

#[derive(Debug, thiserror::Error)]
#[error("the picture store failed: {0}")]
pub struct StoreError(String);

/// The bytes in PostgreSQL's `media_blobs`.
pub struct PostgresStore {
    pool: DbPool,
}

impl PostgresStore {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    fn with_connection<T>(
        &self,
        work: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self
            .pool
            .blocking_connection("reaching the picture store")
            .map_err(|error| StoreError(error.to_string()))?;
        work(&mut conn).map_err(|error| StoreError(error.to_string()))
    }
}

impl BlobStore for PostgresStore {
    fn put(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.with_connection(|conn| db::media::put_blob(conn, name, bytes))
    }

    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_connection(|conn| db::media::blob(conn, name))
    }

    fn sweep(&self, untouched_before: OffsetDateTime) -> Result<usize, StoreError> {
        self.with_connection(|conn| db::media::sweep_orphan_blobs(conn, untouched_before))
    }
}
