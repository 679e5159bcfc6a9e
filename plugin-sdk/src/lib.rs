//! Write keeper password-rotation and importer plugins as sandboxed
//! WebAssembly components.
//!
//! # Overview
//!
//! A keeper plugin is a WebAssembly component (`wasm32-wasip2`) that exports
//! one of two interfaces of the WIT package `keeper:plugin` (version 1.0.0,
//! or 1.1.0 with the `v1_1` feature: see [Versions](#versions)):
//!
//! * a **rotator** changes a password on a target system (a database, a
//!   server, a directory): implement [`Rotator`] and call
//!   [`register_rotator!`];
//! * an **importer** turns another password manager's export into keeper
//!   records: implement [`Importer`] and call [`register_importer!`].
//!
//! The host runs every call in a deny-by-default sandbox (fresh per call,
//! or per record for a rotation's steps; keep no state) and hands the
//! plugin only what the call needs: the record being processed (a
//! [`RecordView`] holding only the fields a rotator needs, see the manifest's
//! `[fields]`), its pinned network [`Target`], the credentials (as
//! [`Secret`]s) and the parameters. Helpers reach the capabilities the
//! sandbox can grant: [`net`] (TCP to the target), [`http`] (declared
//! origins), [`ssh`], [`process`], [`input`] (the import source) and [`log`].
//!
//! # A complete rotator
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "acme-rotator"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! keeper-plugin-sdk = "0.1"
//! ```
//!
//! `src/lib.rs`, a rotator for a line-based admin protocol:
//!
//! ```
//! use std::io::{BufRead, BufReader};
//!
//! use keeper_plugin_sdk::net::TargetStream;
//! use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator, log_info};
//!
//! struct Acme;
//!
//! impl Rotator for Acme {
//!     fn describe() -> PluginInfo {
//!         PluginInfo::new("acme", "Rotates passwords on Acme appliances")
//!             .default_port(7000)
//!             .required_params(["host", "login", "password"])
//!             // The protocol is line based and space separated.
//!             .disallowed_chars(" \r\n")
//!             .max_length(64)
//!     }
//!
//!     fn rotate(req: &Rotation) -> Result<(), PluginError> {
//!         log_info!("setting the password of {}", req.login());
//!         command(req, req.old_password().expose(), "SETPW", req.new_password().expose())
//!     }
//!
//!     fn verify(req: &Rotation) -> Result<(), PluginError> {
//!         command(req, req.new_password().expose(), "PING", "")
//!     }
//!
//!     fn revert(req: &Rotation) -> Result<(), PluginError> {
//!         command(req, req.new_password().expose(), "SETPW", req.old_password().expose())
//!     }
//! }
//!
//! /// Logs in with `password`, sends one command, expects `OK`.
//! fn command(req: &Rotation, password: &str, verb: &str, arg: &str) -> Result<(), PluginError> {
//!     let mut stream = TargetStream::connect(req.target()?)?;
//!     // One message, one write (see the `net` module for why).
//!     let message = format!("LOGIN {} {password}\n{verb} {arg}\n", req.login());
//!     stream.send(message.as_bytes())?;
//!     let mut reply = String::new();
//!     BufReader::new(&mut stream)
//!         .read_line(&mut reply)
//!         .map_err(|e| PluginError::Unreachable(format!("reading the reply: {e}")))?;
//!     match reply.trim_end() {
//!         "OK" => Ok(()),
//!         "DENIED" => Err(PluginError::AuthFailed(format!("{} was refused", req.login()))),
//!         other => Err(PluginError::Rejected(format!("{verb}: {other}"))),
//!     }
//! }
//!
//! keeper_plugin_sdk::register_rotator!(Acme);
//! # fn main() {
//! #     assert_eq!(<Acme as Rotator>::describe().default_port, Some(7000));
//! # }
//! ```
//!
//! An importer looks the same: implement [`Importer`] (`describe`, `new`,
//! `next_batch`), read the source with [`input::Input`] (a row-based
//! parser bounds each row with [`input::RowLimit`]) and call
//! [`register_importer!`]. `examples/bitwarden-importer` in keeper's
//! repository is a complete one.
//!
//! # Building
//!
//! ```sh
//! rustup target add wasm32-wasip2
//! cargo build --target wasm32-wasip2 --release
//! # -> target/wasm32-wasip2/release/acme_rotator.wasm (a component)
//! ```
//!
//! Unit-test the logic natively with `cargo test`: the SDK's types build
//! natively, and [`Rotation::new`] builds requests. Calls into the host
//! (logging, input, ssh, process) only work inside keeper; natively they
//! panic.
//!
//! # The manifest (`plugin.toml`)
//!
//! Every plugin ships a manifest beside its component:
//!
//! ```toml
//! name = "acme"                 # [a-z0-9-]; what users put in cmdr:plugin / import --format
//! version = "0.1.0"             # the plugin's version (semver)
//! kind = "rotator"              # rotator | importer
//! api-version = "1.0.0"         # the WIT version the component exports (1.1.0 with v1_1)
//! description = "Rotates passwords on Acme appliances"
//! # sha256 = "..."              # stamped by `keeper plugin package`
//!
//! [capabilities]                # all optional; default none
//! tcp = true                    # TCP to the pinned target of the record (wasi:sockets)
//! http = ["https://api.acme.example"]   # origins scheme://host[:port] (wasi:http)
//! ssh = true                    # keeper:plugin/ssh sessions to the pinned target
//! process = ["acmectl"]         # programs (keeper:plugin/process)
//!
//! [fields]                      # rotators only; optional
//! needs = ["keyPair", "text:passphrase"]  # record fields to be shown, by type or type:label
//! owns = ["keyPair"]            # fields `prepare` may return
//!
//! [limits]                      # optional requests; the host clamps them
//! memory-mib = 64
//! timeout-secs = 60
//! cpu-fuel = 10_000_000_000     # per call, ≈ wasm instructions (default 1e10)
//! ```
//!
//! A rotator is shown the record's `login`, `host` and `url` fields, its
//! first `password` field, its `cmdr:*` parameters and the fields `needs`
//! names; never its notes or any other field. [`Rotator::prepare`] may
//! return only fields `owns` names, and never `password`, `login`, `host`,
//! `url` or `cmdr:` fields (at most 16 fields, 64 values): anything else
//! fails the rotation before anything is stored or the target touched.
//! The grant covers `[capabilities]`, `[fields]` and `[limits]`: a plugin
//! whose installed manifest changed them is refused until installed again;
//! one copied in by hand gets none of them.
//!
//! Everything a plugin says (errors, log lines, descriptions, skipped-item
//! reasons) has the call's secrets redacted, also in other ASCII case, hex
//! or base64, and control characters escaped (`\u{1b}`, `\n`): write one
//! line of plain text.
//!
//! # Capabilities and the sandbox
//!
//! A plugin sees an empty WASI environment: no files, no environment
//! variables, no inherited standard streams (stdout and stderr go to bounded
//! buffers), no name lookup. On top of that it gets exactly what its
//! manifest declares, the user granted at install and the current record
//! allows:
//!
//! | capability | helper | what it allows |
//! |---|---|---|
//! | (always) | [`log`] | messages to the host log, redacted and capped |
//! | (importers) | [`input`] | the source the user named |
//! | `tcp` | [`net`] | TCP to the record's pinned [`Target::address`] only |
//! | `http` | [`http`] | HTTP(S) requests to the declared origins only |
//! | `ssh` | [`ssh`] | SSH sessions to the record's target, host key checked |
//! | `process` | [`process`] | the declared programs, arguments as a list |
//!
//! At install the host audits the component's imports: importing
//! `wasi:sockets` needs `tcp`, `wasi:http` needs `http`, `keeper:plugin/ssh`
//! needs `ssh` and `keeper:plugin/process` needs `process`; importers may
//! only declare `http`. Each helper is linked only if the plugin uses it, so
//! an unused helper adds no import. Calls are bounded in CPU (10¹⁰ units
//! of wasmtime fuel by default, about one per wasm instruction: under a
//! second of CPU, e.g. 1.1 million SHA-256 compressions; ask for up to
//! 2 × 10¹¹ with `[limits] cpu-fuel`), memory and wall-clock time; a plugin
//! that exceeds them is stopped and the vault is left untouched.
//!
//! # Packaging and installing
//!
//! ```sh
//! keeper plugin package --wasm target/wasm32-wasip2/release/acme_rotator.wasm \
//!     --manifest plugin.toml --out dist/acme
//! keeper plugin install dist/acme --grant
//! ```
//!
//! `package` stamps the component's sha256 into the manifest; `install`
//! checks the exported API version and the imports against the manifest and
//! asks the user to grant the capabilities (`--grant` grants them all).
//!
//! # Versions
//!
//! A plugin picks its contract version with the SDK's `v1_1` cargo feature
//! and the macro it registers with; its manifest's `api-version` says the
//! same:
//!
//! | `Cargo.toml` | macro | exports | what it adds |
//! |---|---|---|---|
//! | `keeper-plugin-sdk = "0.1"` | [`register_rotator!`], [`register_importer!`] | `keeper:plugin@1.0.0` | runs on every keeper |
//! | `keeper-plugin-sdk = { version = "0.1", features = ["v1_1"] }` | `v1_1::register_rotator!`, `v1_1::register_importer!` | `keeper:plugin@1.1.0` | `PluginInfo`'s `needs`, `owns`, `cannot_check_passwords` checked against the manifest, [`Rotator::rotate_generating`], `input::Input::checked` |
//!
//! Everything else (the traits, the helpers) is the same for both. The
//! feature is off by default because a crate built with it describes 1.1's
//! interfaces to the component it becomes: a 1.0 plugin built with it
//! imports them and keeper refuses it ("newer than its api-version"). Cargo
//! unifies features within one build, so build a 1.0 and a 1.1 plugin of
//! the same workspace with separate `cargo build -p` runs. A 1.1 plugin
//! needs a keeper with contract 1.1. The contract's WIT travels inside this
//! crate (`wit/`). See the README's compatibility table.
#![deny(missing_docs)]

mod bindings;
mod error;
mod glue;
mod importer;
mod record;
mod rotator;
mod secret;

pub mod http;
pub mod input;
pub mod log;
pub mod net;
pub mod process;
pub mod ssh;

pub use error::PluginError;
pub use importer::{
    Attachment, ImportItem, ImportRecord, Importer, ImporterInfo, Location, Options, Permission,
    SharedFolder,
};
pub use record::{Field, RecordUid, RecordView, Target};
pub use rotator::{PluginInfo, Rotation, Rotator};
pub use secret::Secret;

/// The WIT API version [`register_rotator!`] and [`register_importer!`]
/// export (`keeper:plugin@1.0.0`).
pub const API_VERSION: &str = "1.0.0";

/// Plugin contract 1.1 (`keeper:plugin@1.1.0`): register with these macros
/// instead of the crate root's, and say `api-version = "1.1.0"` in the
/// manifest.
///
/// ```ignore
/// keeper_plugin_sdk::v1_1::register_rotator!(MyRotator);
/// ```
#[cfg(feature = "v1_1")]
pub mod v1_1 {
    /// The WIT API version these macros export.
    pub const API_VERSION: &str = "1.1.0";

    #[doc(inline)]
    pub use crate::register_importer_v1_1 as register_importer;
    #[doc(inline)]
    pub use crate::register_rotator_v1_1 as register_rotator;
}

/// Used by the `register_*!` macros; not public API, may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::glue::{importer, rotator};

    /// The generated bindings.
    pub mod bindings {
        pub use crate::bindings::*;
    }
}
