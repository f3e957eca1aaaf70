//! Props-only pieces of pages.

pub mod server_status;
