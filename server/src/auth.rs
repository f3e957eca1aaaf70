//! Who is calling. Two modes:
//!
//! - `off` (the single-user default on a loopback address): everyone is `local`.
//! - `tokens` (the default on any other address, or `--auth tokens`): every `/api` route except
//!   health, the OpenAPI document and the share routes needs `Authorization: Bearer <token>`.
//!   Tokens are made by `lethe token create` (an admin command on the host), shown once, and
//!   stored as SHA-256 hashes; the token's name is recorded as the creator of each run.
//!   Browsers cannot set headers on a websocket, so there the token may come as the subprotocol
//!   `lethe.bearer.<token>` instead.
//!
//! Share slugs (`/api/share/{slug}`) give read-only access to one run without a token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;

/// Whether tokens are required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// No authentication (single user).
    Off,
    /// Bearer tokens on every API route but health, OpenAPI and share links.
    Tokens,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Token name, or `local` without auth.
    pub name: String,
}

/// 32 random bytes as hex.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0_u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new API token (`lethe_` + 64 hex digits).
pub fn new_token() -> String {
    format!("lethe_{}", random_hex(32))
}

/// A new share slug (128 random bits).
pub fn new_share_slug() -> String {
    random_hex(16)
}

/// What the database stores for `token`.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.auth == AuthMode::Off {
            return Ok(Self {
                name: "local".into(),
            });
        }
        let token = match parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            Some(header) => header
                .strip_prefix("Bearer ")
                .ok_or(ApiError::Unauthorized(
                    "expected `Authorization: Bearer <token>`",
                ))?
                .trim()
                .to_string(),
            None => socket_token(&parts.headers).ok_or(ApiError::Unauthorized(
                "this server requires an API token: send `Authorization: Bearer <token>`",
            ))?,
        };
        let hash = hash_token(&token);
        let row = state
            .db
            .call(move |conn| db::token_by_hash(conn, &hash))
            .await?;
        match row {
            Some(row) => Ok(Self { name: row.name }),
            None => Err(ApiError::Unauthorized("unknown or revoked API token")),
        }
    }
}

/// The websocket subprotocol carrying a token (see [`shared::paths::WS_TOKEN_PROTOCOL`]), as
/// the client offered it; the upgrade must echo it back.
pub fn socket_protocol(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| p.starts_with(shared::paths::WS_TOKEN_PROTOCOL))
        .map(str::to_string)
}

fn socket_token(headers: &axum::http::HeaderMap) -> Option<String> {
    socket_protocol(headers)?
        .strip_prefix(shared::paths::WS_TOKEN_PROTOCOL)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_are_stable() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 6 + 64);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(new_share_slug().len(), 32);
    }
}
