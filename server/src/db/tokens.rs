//! API tokens: stored hashed, never the secret itself.

use anyhow::Context as _;
use rusqlite::{Connection, OptionalExtension as _, Row, params};

use super::now_ms;

/// A token row (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Row id.
    pub id: i64,
    /// Owner name (recorded as `created_by`).
    pub name: String,
    /// May manage tokens through the API.
    pub admin: bool,
    /// Creation time.
    pub created_at_ms: i64,
    /// Revoked tokens authenticate nobody.
    pub revoked: bool,
}

/// Stores a token's hash under `name`.
pub fn insert_token(
    conn: &mut Connection,
    name: &str,
    hash: &str,
    admin: bool,
) -> anyhow::Result<i64> {
    conn.execute(
        "INSERT INTO tokens (name, hash, admin, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
        params![name, hash, admin, now_ms()],
    )
    .with_context(|| format!("a token named `{name}` may already exist"))?;
    Ok(conn.last_insert_rowid())
}

/// The live token with this hash.
pub fn token_by_hash(conn: &Connection, hash: &str) -> anyhow::Result<Option<TokenRow>> {
    Ok(conn
        .query_row(
            "SELECT id, name, admin, created_at_ms, revoked FROM tokens
             WHERE hash = ?1 AND revoked = 0",
            [hash],
            token_from,
        )
        .optional()?)
}

fn token_from(row: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: row.get(0)?,
        name: row.get(1)?,
        admin: row.get(2)?,
        created_at_ms: row.get(3)?,
        revoked: row.get(4)?,
    })
}

/// Every token, oldest first.
pub fn list_tokens(conn: &Connection) -> anyhow::Result<Vec<TokenRow>> {
    let mut statement =
        conn.prepare("SELECT id, name, admin, created_at_ms, revoked FROM tokens ORDER BY id")?;
    Ok(statement
        .query_map([], token_from)?
        .collect::<Result<Vec<_>, _>>()?)
}

/// Revokes the token named `name`; false if there is none.
pub fn revoke_token(conn: &mut Connection, name: &str) -> anyhow::Result<bool> {
    Ok(conn.execute("UPDATE tokens SET revoked = 1 WHERE name = ?1", [name])? == 1)
}

/// Whether any live token exists.
pub fn has_tokens(conn: &Connection) -> anyhow::Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM tokens WHERE revoked = 0)",
        [],
        |row| row.get(0),
    )?)
}
