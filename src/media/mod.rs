//! The media library's workflow: an upload becomes a picture with its variants; a variant is
//! found for a reader's browser; a picture's alt text changes; an unused picture is deleted.
//!
//! Rules:
//! - Uploads are bounded before any work: at most [`UPLOADS_AT_ONCE`] are taken in at once on
//!   an instance (admitted before their body is read, so at most that many bodies are in
//!   memory; the rest are told to retry, 503), the route stops reading at `MEDIA_MAX_BYTES`,
//!   the header's pixels are checked before decoding, and at most `MEDIA_PROCESSING_SLOTS` are
//!   decoded at once, on the blocking pool. Memory stays bounded whatever the desk sends.
//! - The same bytes uploaded twice (a double click, two editors) make one picture: the hash
//!   of the bytes names it, and the database keeps the first.
//! - Bytes are put in the store before the catalogue names them, and swept once it has not
//!   named them for a while (see [`store`]).

pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::http::StatusCode;
use actix_web::web;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::cache::Caches;
use crate::cache::media::CachedVariant;
use crate::config::MediaSettings;
use crate::db::media::{AltNotSet, NotDeleted};
use crate::db::{self, DbError, DbPool};
use crate::domain::ids::{MediaId, UserId};
use crate::domain::media::{self as rules, Refusal, VariantName};
use crate::error::AppError;
use crate::imaging::{self, ImagingError, Processed};
use crate::models::{MediaRow, NewMedia};
use store::{BlobStore, StoreError};

/// Uploads an instance takes in at once: being read, waiting for a slot or being processed.
pub const UPLOADS_AT_ONCE: usize = 8;
/// How long bytes no picture names are kept: an upload of the same file under way while its
/// picture is deleted finds them, and puts them again, well within it.
pub const KEEP_UNNAMED_BYTES: time::Duration = time::Duration::hours(1);
/// The longest original name kept (what the desk shows beside a picture).
const MAX_NAME_CHARS: usize = 200;

/// A file the desk or the command line hands in.
pub struct Upload {
    pub bytes: Vec<u8>,
    /// The file's name, shown in the library; never trusted for its type.
    pub original_name: String,
    pub alt: String,
    pub uploader: Option<UserId>,
}

/// A picture in the library after an upload.
#[derive(Debug)]
pub struct Added {
    pub picture: MediaRow,
    /// Its variants' addresses, narrowest first.
    pub variants: Vec<VariantName>,
    /// The same bytes were in the library already: nothing new was made.
    pub already_there: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Undecodable(String),
    #[error("the alt text is longer than {} characters", rules::MAX_ALT_CHARS)]
    AltTooLong,
    #[error("pictures are being processed; try again in a moment")]
    Busy,
    #[error("no such picture")]
    Missing,
    #[error("the picture is used by {0} article(s); take it out of them first")]
    InUse(i64),
    #[error(
        "{0} article(s) show this picture as their feature image with the library's alt text: \
         it cannot be empty"
    )]
    AltNeeded(i64),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("processing the picture stopped: {0}")]
    Processing(String),
}

impl MediaError {
    /// The status a page answering with this error carries.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Refused(Refusal::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Refused(Refusal::NotAnImage) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Refused(Refusal::TooManyPixels { .. })
            | Self::Undecodable(_)
            | Self::AltTooLong => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InUse(_) | Self::AltNeeded(_) => StatusCode::CONFLICT,
            Self::Missing => StatusCode::NOT_FOUND,
            Self::Busy | Self::Database(_) | Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Processing(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The page for a failure that is neither the file's nor the editor's: the database's and
    /// the store's are a 503 that heals by itself, anything else a 500.
    pub fn into_app_error(self) -> AppError {
        match self {
            Self::Database(error) => error.into(),
            Self::Store(error) => AppError::Unavailable(anyhow::Error::new(error)),
            other => AppError::internal("the media library", other),
        }
    }

    /// Whether the fault is the file's or the editor's (a clear answer, no alarm in the logs).
    pub fn is_the_inputs(&self) -> bool {
        self.status().is_client_error()
    }
}

impl From<ImagingError> for MediaError {
    fn from(error: ImagingError) -> Self {
        match error {
            ImagingError::Refused(refusal) => Self::Refused(refusal),
            ImagingError::Undecodable(why) => Self::Undecodable(why),
        }
    }
}

/// One upload taken in (see [`MediaLibrary::admit`]).
pub struct Admitted {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// The media library of one instance: its store, and the slots that bound processing.
pub struct MediaLibrary {
    pool: DbPool,
    store: Arc<dyn BlobStore>,
    /// Uploads being decoded and resized.
    processing: Arc<Semaphore>,
    /// Uploads taken in (see [`UPLOADS_AT_ONCE`]): beyond these, an upload is turned away.
    admitted: Arc<Semaphore>,
    max_bytes: u64,
    in_flight: InFlight,
}

impl MediaLibrary {
    pub fn new(pool: DbPool, store: Arc<dyn BlobStore>, settings: &MediaSettings) -> Self {
        let slots = settings.processing_slots.max(1);
        Self {
            pool,
            store,
            processing: Arc::new(Semaphore::new(slots)),
            admitted: Arc::new(Semaphore::new(UPLOADS_AT_ONCE)),
            max_bytes: settings.max_bytes,
            in_flight: InFlight::default(),
        }
    }

    /// The largest upload taken, in bytes (`MEDIA_MAX_BYTES`).
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Takes in one upload before its body is read, or says the instance has enough (503).
    /// Hold it until [`MediaLibrary::add`] has answered.
    pub fn admit(&self) -> Result<Admitted, MediaError> {
        self.admitted
            .clone()
            .try_acquire_owned()
            .map(|permit| Admitted { _permit: permit })
            .map_err(|_| MediaError::Busy)
    }

    /// Makes an upload a picture of the library, or finds the one its bytes already made.
    pub async fn add(&self, upload: Upload) -> Result<Added, MediaError> {
        rules::check_size(upload.bytes.len() as u64, self.max_bytes)
            .map_err(MediaError::Refused)?;
        let alt = rules::clean_alt(&upload.alt).ok_or(MediaError::AltTooLong)?;
        let bytes = Arc::new(upload.bytes);
        let hash = {
            let bytes = bytes.clone();
            web::block(move || hex::encode(Sha256::digest(bytes.as_slice())))
                .await
                .map_err(|error| MediaError::Processing(error.to_string()))?
        };
        // One upload of given bytes is processed at a time on this instance; the same bytes
        // sent meanwhile (a double click, a second tab) wait for it and get its picture.
        let _in_flight = loop {
            if let Some(picture) = self.find_by_hash(&hash).await? {
                let variants = self.variant_names(&picture).await?;
                return Ok(Added {
                    picture,
                    variants,
                    already_there: true,
                });
            }
            match self.in_flight.enter(&hash) {
                Ok(first) => break first,
                // Closed when the first is done, whether it made the picture or failed.
                Err(gate) => drop(gate.acquire().await),
            }
        };

        let processed = {
            let _slot = self
                .processing
                .acquire()
                .await
                .map_err(|error| MediaError::Processing(error.to_string()))?;
            let bytes = bytes.clone();
            web::block(move || imaging::process(&bytes))
                .await
                .map_err(|error| MediaError::Processing(error.to_string()))??
        };
        let format = processed.format;
        let names = self.put_variants(&hash, &processed).await?;
        let catalogue: Vec<(i32, i32, rules::Format, i32)> = processed
            .variants
            .iter()
            .map(|encoded| {
                (
                    to_i32(encoded.variant.width),
                    to_i32(encoded.variant.height),
                    encoded.variant.format,
                    to_i32(u32::try_from(encoded.bytes.len()).unwrap_or(u32::MAX)),
                )
            })
            .collect();
        let original_name: String = upload.original_name.chars().take(MAX_NAME_CHARS).collect();
        let (width, height) = (to_i32(processed.width), to_i32(processed.height));
        let original_bytes = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let uploader = upload.uploader;
        let picture = {
            let hash = hash.clone();
            db::run(&self.pool, "adding a picture to the library", move |conn| {
                db::media::insert(
                    conn,
                    &NewMedia {
                        hash: &hash,
                        format: format.name(),
                        width,
                        height,
                        alt: &alt,
                        original_name: &original_name,
                        original_bytes,
                        uploaded_by: uploader,
                    },
                    &catalogue,
                )
            })
            .await?
        };
        Ok(Added {
            picture,
            variants: names,
            already_there: false,
        })
    }

    /// Puts every variant's bytes in the store, before the catalogue names them.
    async fn put_variants(
        &self,
        hash: &str,
        processed: &Processed,
    ) -> Result<Vec<VariantName>, MediaError> {
        let mut names = Vec::with_capacity(processed.variants.len());
        for encoded in &processed.variants {
            let name = VariantName {
                hash: hash.to_string(),
                width: encoded.variant.width,
                format: encoded.variant.format,
            };
            let store = self.store.clone();
            let key = name.file_name();
            // A copy per variant: the store call runs on another thread.
            let bytes = encoded.bytes.clone();
            web::block(move || store.put(&key, &bytes))
                .await
                .map_err(|error| MediaError::Processing(error.to_string()))??;
            names.push(name);
        }
        Ok(names)
    }

    /// The addresses of a picture's variants, narrowest first.
    pub async fn variant_names(&self, picture: &MediaRow) -> Result<Vec<VariantName>, MediaError> {
        let id = picture.id;
        let rows = db::run(&self.pool, "reading a picture's variants", move |conn| {
            db::media::variants_of(conn, &[id])
        })
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(VariantName {
                    hash: picture.hash.clone(),
                    width: u32::try_from(row.width).ok()?,
                    format: rules::Format::from_name(&row.format)?,
                })
            })
            .collect())
    }

    /// The bytes an address names, from this instance's memory or the store; `None` when no
    /// picture has that variant (or in that format).
    pub async fn variant(
        &self,
        caches: &Caches,
        name: VariantName,
    ) -> Result<Option<Arc<CachedVariant>>, MediaError> {
        let found = caches
            .media
            .get_or_fill(name.clone(), || async {
                let Some(variant) = self.find_variant(&name).await? else {
                    // Not kept: an address asked for before its picture exists must work as
                    // soon as it does.
                    return Err(None);
                };
                Ok(variant)
            })
            .await;
        match found {
            Ok(variant) => Ok(Some(variant)),
            Err(None) => Ok(None),
            Err(Some(error)) => Err(error),
        }
    }

    async fn find_variant(
        &self,
        name: &VariantName,
    ) -> Result<Option<Arc<CachedVariant>>, Option<MediaError>> {
        let hash = name.hash.clone();
        let width = i32::try_from(name.width).map_err(|_| None)?;
        let row = db::run(&self.pool, "finding a picture's variant", move |conn| {
            db::media::find_variant(conn, &hash, width)
        })
        .await
        .map_err(|error| Some(error.into()))?;
        let Some(row) = row.filter(|row| row.format == name.format.name()) else {
            return Ok(None);
        };
        let store = self.store.clone();
        let key = name.file_name();
        let bytes = web::block(move || store.get(&key))
            .await
            .map_err(|error| Some(MediaError::Processing(error.to_string())))?
            .map_err(|error| Some(error.into()))?;
        Ok(bytes.map(|bytes| {
            Arc::new(CachedVariant {
                media_id: row.media_id,
                format: name.format,
                bytes: bytes.into(),
            })
        }))
    }

    /// Sets a picture's alt text (what screen readers say, and what pages fall back to).
    pub async fn set_alt(&self, id: MediaId, alt: &str) -> Result<(), MediaError> {
        let alt = rules::clean_alt(alt).ok_or(MediaError::AltTooLong)?;
        db::run(&self.pool, "setting a picture's alt text", move |conn| {
            db::media::set_alt(conn, id, &alt)
        })
        .await?
        .map_err(|why| match why {
            AltNotSet::Missing => MediaError::Missing,
            AltNotSet::Needed(articles) => MediaError::AltNeeded(articles),
        })
    }

    /// Deletes a picture no article uses; its addresses stop answering at once, and its bytes
    /// are left to [`MediaLibrary::sweep`].
    pub async fn delete(&self, id: MediaId) -> Result<MediaRow, MediaError> {
        db::run(&self.pool, "deleting a picture", move |conn| {
            db::media::delete_unused(conn, id)
        })
        .await?
        .map_err(|why| match why {
            NotDeleted::Missing => MediaError::Missing,
            NotDeleted::InUse(uses) => MediaError::InUse(uses),
        })
    }

    /// Deletes the stored bytes of pictures deleted (or uploads failed) more than
    /// [`KEEP_UNNAMED_BYTES`] ago; gives how many variants went.
    pub async fn sweep(&self, now: OffsetDateTime) -> Result<usize, MediaError> {
        let store = self.store.clone();
        Ok(web::block(move || store.sweep(now - KEEP_UNNAMED_BYTES))
            .await
            .map_err(|error| MediaError::Processing(error.to_string()))??)
    }

    async fn find_by_hash(&self, hash: &str) -> Result<Option<MediaRow>, MediaError> {
        let hash = hash.to_string();
        Ok(
            db::run(&self.pool, "looking for the same picture", move |conn| {
                db::media::find_by_hash(conn, &hash)
            })
            .await?,
        )
    }

    /// One picture of the library.
    pub async fn find(&self, id: MediaId) -> Result<Option<MediaRow>, MediaError> {
        Ok(db::run(&self.pool, "reading a picture", move |conn| {
            db::media::find(conn, id)
        })
        .await?)
    }
}

/// The hashes of the uploads being processed on this instance, each with a gate the same
/// bytes sent meanwhile wait at. Only a way to save work: the database's unique hash is what
/// keeps one picture per file, across instances too.
#[derive(Default)]
struct InFlight {
    gates: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
}

/// The first upload of some bytes; when it is dropped (done or failed), those waiting go on.
struct First {
    gates: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    hash: String,
    gate: Arc<Semaphore>,
}

impl InFlight {
    /// Enters as the first upload of `hash`, or gives the gate of the one under way.
    fn enter(&self, hash: &str) -> Result<First, Arc<Semaphore>> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(gate) = gates.get(hash) {
            return Err(gate.clone());
        }
        let gate = Arc::new(Semaphore::new(0));
        gates.insert(hash.to_string(), gate.clone());
        Ok(First {
            gates: self.gates.clone(),
            hash: hash.to_string(),
            gate,
        })
    }
}

impl Drop for First {
    fn drop(&mut self) {
        self.gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.hash);
        self.gate.close();
    }
}

/// A size that fits the database's `INTEGER` (pictures are at most 48 megapixels, so every
/// width, height and variant size does).
fn to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
