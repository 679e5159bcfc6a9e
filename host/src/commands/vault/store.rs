//! `keeper store migrate --to URL`: copy the vault to another location.

use std::process::ExitCode;

use anyhow::Context as _;

use super::users::restrict_file;
use crate::cli::vault::StoreCommand;
use crate::config;
use crate::context::Context;
use crate::output::print_listing;
use crate::vault::Location;
use crate::vault::store::{self, migrate};

/// `keeper store …`.
pub(super) fn store(ctx: &Context, cmd: StoreCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StoreCommand::Migrate { to, use_it, format } => {
            let from = ctx.vault_location()?;
            let to = Location::parse(&to)?;
            if from == to {
                anyhow::bail!("--to names the vault's own location ({from}); nothing to do");
            }
            let source =
                store::open(&from).with_context(|| format!("cannot open the vault at {from}"))?;
            let copied = migrate::copy(source.as_ref(), &to)
                .with_context(|| format!("copying {from} to {to}; {from} was left untouched"))?;
            if let Some(path) = to.file() {
                restrict_file(path);
            }
            let rows: Vec<Vec<String>> = copied
                .counts
                .iter()
                .map(|(t, n)| vec![(*t).to_string(), n.to_string()])
                .collect();
            let json: serde_json::Value = serde_json::json!({
                "from": from.to_string(),
                "to": to.to_string(),
                "tables": copied.counts.iter().map(|(t, n)| (t.to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
                "checksum": copied.checksum,
            });
            print_listing(format, &["Table", "Rows"], &rows, &json)?;
            eprintln!(
                "Copied {from} to {to}: row counts and checksum {} match; the source is untouched.",
                &copied.checksum[..16]
            );
            if use_it {
                let saved = to.config_value();
                config::update(&ctx.config_path, |m| {
                    m.insert("store".into(), saved.into());
                })?;
                eprintln!("{} now uses {to}.", ctx.config_path.display());
            } else {
                eprintln!("Use it with --store, KEEPER_STORE, or run again with --use.");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
