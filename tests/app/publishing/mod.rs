//! Publishing: the desk, and two editors on one article.

mod desk;
mod editing_together;
