//! Publishing: the desk, two editors on one article, and the media library.

mod desk;
mod editing_together;
mod media;
