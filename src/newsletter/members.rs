//! Joining and leaving the newsletter's list.
