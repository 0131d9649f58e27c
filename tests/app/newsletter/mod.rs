//! The newsletter: readers joining and leaving the list, and articles sent to it.

mod commands;
mod desk;
mod pictures;
mod readers;
mod sending;
