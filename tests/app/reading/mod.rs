//! Reading: articles and the paywall, the meter, the archive, feeds, and what must never leak.

mod archive;
mod articles;
mod feeds;
mod leaks;
mod meter;
mod pictures;
