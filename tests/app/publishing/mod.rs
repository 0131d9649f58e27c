//! Publishing: the desk, two editors on one article, and pictures.

mod desk;
mod editing_together;
mod pictures;
