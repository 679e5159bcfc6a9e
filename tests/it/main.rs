//! End-to-end tests of the `keeper` binary, one module per command group.
//!
//! Every test gets its own data directory; real services (MariaDB, sshd) and
//! real wasm32-wasip2 plugins are used, never mocks.

mod automation;
mod import;
mod import_lastpass;
mod import_options;
mod login;
mod membership;
mod plugin_cli;
mod plugins;
mod rotate;
mod rotate_ssh;
mod sandbox;
mod seed_usage;
mod shell;
mod ssh_client;
mod sshd;
mod support;
mod vault;
mod vault_safety;
