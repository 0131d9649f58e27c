//! Reading: articles and the paywall, the meter, gifted articles, the archive, feeds, and what
//! must never leak.

mod archive;
mod articles;
mod feeds;
mod gifts;
mod leaks;
mod meter;
mod pictures;
