//! End-to-end tests of the `keeper` binary, one module per command group.
//!
//! Every test gets its own data directory; real services (MariaDB, sshd) and
//! real wasm32-wasip2 plugins are used, never mocks. `snapshots` holds
//! what the CLI prints under insta snapshots (`snapshots/*.snap`).

mod automation;
mod contract_versions;
mod crash;
mod http_proxy;
mod import;
mod import_lastpass;
mod import_options;
mod login;
mod machine;
mod membership;
mod moto;
mod msp;
mod msp_billing;
mod msp_distributor;
mod msp_moves;
mod msp_rekey;
mod msp_roles;
mod native_importer;
mod native_plugins;
mod plugin_cli;
mod plugin_files;
mod plugin_template;
mod plugins;
mod profile_setup;
mod rotate;
mod rotate_aws;
mod rotate_awskey;
mod rotate_azure;
mod rotate_ldap;
mod rotate_local;
mod rotate_postgres;
mod rotate_safety;
mod rotate_ssh;
mod sandbox;
mod sandbox_contract;
mod sdk_package;
mod secrets_manager;
mod seed_usage;
mod sharing;
mod shell;
mod snapshots;
mod ssh_client;
mod sshd;
mod store_load;
mod store_migrate;
mod support;
mod team_vault;
mod vault;
mod vault_safety;
