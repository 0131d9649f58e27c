//! The media library: pictures, their variants, the variants' bytes (the PostgreSQL store) and
//! the articles that use each picture.
//!
//! Rules: a picture is known by the hash of its uploaded bytes, so uploading one twice finds
//! the first. A picture an article uses (as its feature image or in its body) cannot be
//! deleted: the foreign keys refuse it, and [`delete_unused`] checks under the picture's row
//! lock first. A deleted picture's bytes are left to [`sweep_orphan_blobs`]: its addresses
//! stop answering at once, because serving asks the catalogue first. Every write to a picture notes `Change::Media`, so the variants kept in memory
//! by this instance go at once (the database's trigger tells the others).

use std::collections::HashMap;

use diesel::dsl::{count_star, exists};
use diesel::prelude::*;

use super::changes::{Change, note};
use crate::domain::ids::{ArticleId, MediaId};
use crate::domain::media::{Format, Picture, Variant};
use crate::models::{MediaRow, NewMedia, VariantRow};
use crate::schema::{article_media, articles, media, media_blobs, media_variants};

/// The picture whose uploaded bytes hash to `hash`.
pub fn find_by_hash(conn: &mut PgConnection, hash: &str) -> QueryResult<Option<MediaRow>> {
    media::table
        .filter(media::hash.eq(hash))
        .select(MediaRow::as_select())
        .first(conn)
        .optional()
}

/// One picture.
pub fn find(conn: &mut PgConnection, id: MediaId) -> QueryResult<Option<MediaRow>> {
    media::table
        .find(id)
        .select(MediaRow::as_select())
        .first(conn)
        .optional()
}

/// Adds a picture with its variants, in one transaction; when the same bytes were added
/// meanwhile (two uploads of one file at once), the picture already there is returned and
/// nothing is written.
pub fn insert(
    conn: &mut PgConnection,
    new: &NewMedia<'_>,
    variants: &[(i32, i32, Format, i32)],
) -> QueryResult<MediaRow> {
    conn.transaction(|conn| {
        let inserted = diesel::insert_into(media::table)
            .values(new)
            .on_conflict(media::hash)
            .do_nothing()
            .returning(MediaRow::as_returning())
            .get_result(conn)
            .optional()?;
        let Some(row) = inserted else {
            return media::table
                .filter(media::hash.eq(new.hash))
                .select(MediaRow::as_select())
                .first(conn);
        };
        let rows: Vec<VariantRow> = variants
            .iter()
            .map(|&(width, height, format, byte_size)| VariantRow {
                media_id: row.id,
                width,
                height,
                format: format.name().to_string(),
                byte_size,
            })
            .collect();
        diesel::insert_into(media_variants::table)
            .values(&rows)
            .execute(conn)?;
        note(Change::Media(row.id));
        Ok(row)
    })
}

/// The variant of the picture hashed `hash` at `width`, with the picture's id: what an
/// address names, if it exists.
pub fn find_variant(
    conn: &mut PgConnection,
    hash: &str,
    width: i32,
) -> QueryResult<Option<VariantRow>> {
    media_variants::table
        .inner_join(media::table)
        .filter(media::hash.eq(hash))
        .filter(media_variants::width.eq(width))
        .select(VariantRow::as_select())
        .first(conn)
        .optional()
}

/// The variants of these pictures, narrowest first.
pub fn variants_of(conn: &mut PgConnection, ids: &[MediaId]) -> QueryResult<Vec<VariantRow>> {
    media_variants::table
        .filter(media_variants::media_id.eq_any(ids))
        .order((media_variants::media_id, media_variants::width))
        .select(VariantRow::as_select())
        .load(conn)
}

/// These pictures as pages show them, with the library's alt text, by id; ids that name no
/// picture are left out.
pub fn pictures(
    conn: &mut PgConnection,
    ids: &[MediaId],
) -> QueryResult<HashMap<MediaId, Picture>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<MediaRow> = media::table
        .filter(media::id.eq_any(ids))
        .select(MediaRow::as_select())
        .load(conn)?;
    let mut variants: HashMap<MediaId, Vec<Variant>> = HashMap::new();
    for row in variants_of(conn, ids)? {
        let Some(format) = Format::from_name(&row.format) else {
            continue;
        };
        variants.entry(row.media_id).or_default().push(Variant {
            width: u32::try_from(row.width).unwrap_or(0),
            height: u32::try_from(row.height).unwrap_or(0),
            format,
        });
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let picture = Picture {
                hash: row.hash,
                width: u32::try_from(row.width).unwrap_or(0),
                height: u32::try_from(row.height).unwrap_or(0),
                alt: row.alt,
                variants: variants.remove(&row.id).unwrap_or_default(),
            };
            (row.id, picture)
        })
        .collect())
}

/// A page of the library, newest first, each picture with the number of articles using it;
/// only the unused ones when `unused_only`.
pub fn list(
    conn: &mut PgConnection,
    unused_only: bool,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<(MediaRow, i64)>> {
    let mut query = media::table
        .select(MediaRow::as_select())
        .order((media::created_at.desc(), media::id.desc()))
        .into_boxed();
    if unused_only {
        query = query
            .filter(diesel::dsl::not(exists(
                articles::table.filter(articles::feature_media_id.eq(media::id.nullable())),
            )))
            .filter(diesel::dsl::not(exists(
                article_media::table.filter(article_media::media_id.eq(media::id)),
            )));
    }
    let rows: Vec<MediaRow> = query.offset(offset).limit(limit).load(conn)?;
    rows.into_iter()
        .map(|row| {
            let uses = uses(conn, row.id)?;
            Ok((row, uses))
        })
        .collect()
}

/// How many articles use a picture, as their feature image or in their body.
pub fn uses(conn: &mut PgConnection, id: MediaId) -> QueryResult<i64> {
    let featured: i64 = articles::table
        .filter(articles::feature_media_id.eq(id))
        .select(count_star())
        .first(conn)?;
    let placed: i64 = article_media::table
        .filter(article_media::media_id.eq(id))
        .filter(diesel::dsl::not(exists(
            articles::table
                .filter(articles::id.eq(article_media::article_id))
                .filter(articles::feature_media_id.eq(id)),
        )))
        .select(count_star())
        .first(conn)?;
    Ok(featured + placed)
}

/// Why a picture's alt text was not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AltNotSet {
    /// No picture has that id.
    Missing,
    /// Emptied, it would leave this many articles whose feature image takes its alt text
    /// from the library with none.
    Needed(i64),
}

/// Sets a picture's alt text. An article whose feature image has no alt text of its own
/// shows the library's, so the library's cannot be emptied while one does; the picture's row
/// is locked first, so an article saved meanwhile is counted.
pub fn set_alt(
    conn: &mut PgConnection,
    id: MediaId,
    alt: &str,
) -> QueryResult<Result<(), AltNotSet>> {
    conn.transaction(|conn| {
        let found = media::table
            .find(id)
            .select(media::id)
            .for_update()
            .first::<MediaId>(conn)
            .optional()?;
        if found.is_none() {
            return Ok(Err(AltNotSet::Missing));
        }
        if alt.is_empty() {
            let relying: i64 = articles::table
                .filter(articles::feature_media_id.eq(id))
                .filter(articles::feature_alt.eq(""))
                .select(count_star())
                .first(conn)?;
            if relying > 0 {
                return Ok(Err(AltNotSet::Needed(relying)));
            }
        }
        diesel::update(media::table.find(id))
            .set(media::alt.eq(alt))
            .execute(conn)?;
        note(Change::Media(id));
        Ok(Ok(()))
    })
}

/// Why a picture was not deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDeleted {
    /// No picture has that id (deleted already).
    Missing,
    /// This many articles use it.
    InUse(i64),
}

/// Deletes a picture no article uses, with its variants, and gives back its row (its bytes are
/// the store's to delete). The picture's row is locked first, so an article saved at the same
/// moment either sees it gone or keeps it.
pub fn delete_unused(
    conn: &mut PgConnection,
    id: MediaId,
) -> QueryResult<Result<MediaRow, NotDeleted>> {
    conn.transaction(|conn| {
        let Some(row) = media::table
            .find(id)
            .select(MediaRow::as_select())
            .for_update()
            .first(conn)
            .optional()?
        else {
            return Ok(Err(NotDeleted::Missing));
        };
        let uses = uses(conn, id)?;
        if uses > 0 {
            return Ok(Err(NotDeleted::InUse(uses)));
        }
        diesel::delete(media::table.find(id)).execute(conn)?;
        note(Change::Media(id));
        Ok(Ok(row))
    })
}

/// Names the library pictures an article's body places, replacing what it placed before.
/// Called in the transaction that saves the article.
pub fn set_article_media(
    conn: &mut PgConnection,
    article: ArticleId,
    placed: &[MediaId],
) -> QueryResult<()> {
    diesel::delete(article_media::table.filter(article_media::article_id.eq(article)))
        .execute(conn)?;
    let rows: Vec<_> = placed
        .iter()
        .map(|&media_id| {
            (
                article_media::article_id.eq(article),
                article_media::media_id.eq(media_id),
            )
        })
        .collect();
    diesel::insert_into(article_media::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

/// Holds these pictures until the transaction ends, so none is deleted while an article that
/// uses them is saved (a delete that came first has already taken them away: they are then
/// missing from [`pictures`]).
pub fn hold(conn: &mut PgConnection, ids: &[MediaId]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    media::table
        .filter(media::id.eq_any(ids))
        .select(media::id)
        .for_key_share()
        .load::<MediaId>(conn)?;
    Ok(())
}

/// The newest pictures of the library, newest first: what the article form offers as its
/// feature image.
pub fn newest(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<MediaRow>> {
    media::table
        .select(MediaRow::as_select())
        .order((media::created_at.desc(), media::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Stores a variant's bytes under its address's last part (the PostgreSQL store). A name
/// always names the same bytes, so putting it again only marks it as put now (which keeps it
/// from the sweep).
pub fn put_blob(conn: &mut PgConnection, name: &str, body: &[u8]) -> QueryResult<()> {
    diesel::insert_into(media_blobs::table)
        .values((media_blobs::name.eq(name), media_blobs::body.eq(body)))
        .on_conflict(media_blobs::name)
        .do_update()
        .set(media_blobs::touched_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// A variant's bytes.
pub fn blob(conn: &mut PgConnection, name: &str) -> QueryResult<Option<Vec<u8>>> {
    media_blobs::table
        .find(name)
        .select(media_blobs::body)
        .first(conn)
        .optional()
}

/// Deletes stored bytes that no picture names (their picture was deleted, or its upload
/// failed half-way) and that were not put since `untouched_before`, in batches.
pub fn sweep_orphan_blobs(
    conn: &mut PgConnection,
    untouched_before: time::OffsetDateTime,
) -> QueryResult<usize> {
    super::delete_in_batches(|batch| {
        diesel::sql_query(
            "DELETE FROM media_blobs WHERE name IN (\
                 SELECT b.name FROM media_blobs b \
                 WHERE b.touched_at < $1 \
                   AND NOT EXISTS \
                       (SELECT 1 FROM media m WHERE m.hash = split_part(b.name, '-', 1)) \
                 LIMIT $2)",
        )
        .bind::<diesel::sql_types::Timestamptz, _>(untouched_before)
        .bind::<diesel::sql_types::BigInt, _>(batch)
        .execute(conn)
    })
}
