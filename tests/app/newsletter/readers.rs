//! Readers joining and leaving the newsletter's list.
