//! Publishing: the desk, two editors on one article, the media library and pictures in
//! articles.

mod desk;
mod editing_together;
mod media;
mod pictures;
