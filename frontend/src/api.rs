//! Everything that talks to the server.

pub mod client;
pub mod error;
pub mod live_socket;
pub mod source;
