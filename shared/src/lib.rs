//! The wire contract between the Lethe server and its browser UI.
//!
//! This crate owns the serde types that cross HTTP and websockets, and the route templates both
//! sides build URLs from. It must stay light: serde only, no burn, no axum, no tokio, and it must
//! build for `wasm32-unknown-unknown` as well as natively.
//!
//! Entry points: [`run::RunSpec`] (what a run is, with its validation), [`sweep::SweepSpec`]
//! (a grid of runs), [`live::ServerEvent`] (the live socket), [`health::Health`] (what
//! `GET /api/health` returns), [`error::ErrorBody`] (every error response), [`paths`] (API routes
//! and client routes).
#![warn(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod display;
pub mod error;
pub mod health;
pub mod live;
pub mod paths;
pub mod plan;
pub mod run;
pub mod sweep;
pub mod tofu;
