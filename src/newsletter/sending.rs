//! Sending an article to the list.
