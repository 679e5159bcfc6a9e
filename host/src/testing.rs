//! What keeper's own end-to-end tests and benchmarks (`tests/`,
//! `host/benches/`) reach inside the library, re-exported by hand under
//! the paths of the modules they come from (`keeper::testing::vault::Vault`
//! is `crate::vault::Vault`). Everything else is private to the crate.
//!
//! Not an API: hidden from the documentation, and it changes whenever the
//! tests need something else.

/// `config.json`.
pub mod config {
    pub use crate::config::Proxy;
}

/// Import runs, their engine and the sync/async bridge.
pub mod import {
    pub use crate::import::{Collected, PART_BYTES, PART_RECORDS, Request, convert, stream};

    /// The sync/async bridge.
    pub mod bridge {
        pub use crate::import::bridge::pipeline;
    }

    /// Matching and de-duplication.
    pub mod engine {
        pub use crate::import::engine::{ImportOptions, Importer, record_size};
    }
}

/// MSPs and managed companies.
pub mod enterprise {
    pub use crate::enterprise::roles::sealed_name;
    pub use crate::enterprise::switch::company_vault;
}

/// Secrets Manager device profiles.
pub mod profiles {
    pub use crate::profiles::{IniFile, ProfileConfig, keeper_ini::locate, open_device};
}

/// The rotation engine.
pub mod rotation {
    pub use crate::rotation::{Engine, Options, Outcome};

    /// Fault injection points.
    pub mod fault {
        pub use crate::rotation::fault::POINTS;
    }
}

/// The plugin sandbox.
pub mod runtime {
    pub use crate::runtime::{
        Allocation, ArtifactCache, CallContext, Error, HttpClient, Kind, LoadedPlugin, Manifest,
        PinnedTarget, PluginError, PluginPackage, Runtime, Source, Step,
    };

    /// The compiled-artifact cache.
    pub mod cache {
        pub use crate::runtime::cache::Origin;
    }

    /// Host capabilities.
    pub mod capability {
        /// HTTP origins.
        pub mod origin {
            pub use crate::runtime::capability::origin::Origin;
        }
    }

    /// Call limits.
    pub mod limits {
        pub use crate::runtime::limits::Limits;
    }

    /// The WIT types a plugin call takes and returns.
    pub mod plugin {
        pub use crate::runtime::plugin::{
            Field, ImportRecord, Location, RecordView, Rotation, Target,
        };
    }

    /// Plugin files: reading, installing, packaging.
    pub mod registry {
        pub use crate::runtime::registry::{
            builtin, install, package, read_candidate, read_dir, sha256_hex,
        };
    }
}

/// The SSH client behind the `ssh` capability.
pub mod ssh {
    pub use crate::ssh::{
        Credential, HostKeyPolicy, OUTPUT_CAP, PinnedHostKey, Pty, Session, SshClient, SshError,
    };
}

/// The encrypted vault.
pub mod vault {
    pub use crate::vault::testing::{KeptHeader, company_key, holders_opening, opens_node};
    pub use crate::vault::{
        Action, Batch, Field, FolderSpec, Location, NewRecord, RecordData, SearchPattern,
        SecretString, Vault, now_ms,
    };

    /// Keys and key derivation.
    pub mod crypto {
        pub use crate::vault::crypto::{KdfParams, Key, fill_random};
    }

    /// The record model.
    pub mod model {
        pub use crate::vault::model::RecordData;

        /// Field shapes and formats.
        pub mod fields {
            pub use crate::vault::model::fields::format_time;
        }
    }

    /// Storage backends.
    pub mod store {
        pub use crate::vault::store::StoreRead;

        /// The role tables: what moves with a user.
        pub mod roles {
            pub use crate::vault::store::roles::MOVE_USER;
        }

        /// The PostgreSQL backend.
        pub mod postgres {
            pub use crate::vault::store::postgres::{PgUrl, create_database, drop_database};
        }

        /// The SQLite backend.
        pub mod sqlite {
            pub use crate::vault::store::sqlite::SqliteStore;
        }
    }
}
