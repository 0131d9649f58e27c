//! The media library's workflow: an upload becomes a picture and its variants.
