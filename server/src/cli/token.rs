//! `lethe token create|list|revoke`: API tokens for a team server, managed on the host (whoever
//! can write the data directory is the admin).

use std::io::Write;
use std::path::Path;

use crate::auth::{hash_token, new_token};
use crate::config::TokenCommand;
use crate::db::{self, Db};

fn open(data_dir: &Path) -> anyhow::Result<Db> {
    std::fs::create_dir_all(data_dir)?;
    Db::open(&data_dir.join("lethe.db"))
}

/// Runs one token command; `create` prints the new token on stdout (its only appearance).
pub fn run(command: &TokenCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            name,
            admin,
            data_dir,
        } => {
            let name = name.trim();
            if name.is_empty() || name.len() > 64 || name.contains(',') {
                anyhow::bail!("--name: 1 to 64 characters, no commas");
            }
            let token = new_token();
            let hash = hash_token(&token);
            open(data_dir)?.call_blocking(|conn| db::insert_token(conn, name, &hash, *admin))?;
            writeln!(out, "{token}")?;
            eprintln!(
                "token for `{name}` created; it is shown only now. Send it as `Authorization: Bearer <token>`."
            );
        }
        TokenCommand::List { data_dir } => {
            let tokens = open(data_dir)?.call_blocking(|conn| db::list_tokens(conn))?;
            for t in tokens {
                writeln!(
                    out,
                    "{}\t{}{}",
                    t.name,
                    if t.admin { "admin" } else { "member" },
                    if t.revoked { "\trevoked" } else { "" }
                )?;
            }
        }
        TokenCommand::Revoke { name, data_dir } => {
            if !open(data_dir)?.call_blocking(|conn| db::revoke_token(conn, name))? {
                anyhow::bail!("no token named `{name}`");
            }
            writeln!(out, "revoked {name}")?;
        }
    }
    Ok(())
}
