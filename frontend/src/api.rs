//! Everything that talks to the server.

pub mod client;
pub mod error;
