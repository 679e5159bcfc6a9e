//! Rows of Secrets Manager applications and their client devices: what the
//! stores keep of `secrets-manager app` and `client` (nothing readable
//! without a key but ids, names, times and flags).

/// An application: a holder of record keys for machines. Its key wraps the
/// keys of exactly the records shared with it (`record_keys` rows whose
/// holder is the application's uid).
#[derive(Debug, Clone)]
pub struct AppRow {
    /// Application uid (the holder uid of its record key rows).
    pub uid: String,
    /// Tenant.
    pub tenant_uid: String,
    /// The user who created it; only they hold its key.
    pub owner_uid: String,
    /// Name (not secret, unique per tenant).
    pub name: String,
    /// The application key wrapped under the owner's data key.
    pub wrapped_key: Vec<u8>,
    /// Creation time, epoch ms.
    pub created: i64,
}

/// A client device of an application: issued as a one-time token, bound to
/// the device's public key on first use.
#[derive(Debug, Clone)]
pub struct AppClientRow {
    /// Client id, derived from the token's secret (so a device finds its row).
    pub uid: String,
    /// The application.
    pub app_uid: String,
    /// Tenant.
    pub tenant_uid: String,
    /// Issued, epoch ms.
    pub created: i64,
    /// The token must be used before this time (epoch ms).
    pub token_expires: i64,
    /// The device's access ends at this time (epoch ms); `None`: never.
    pub access_expires: Option<i64>,
    /// Commander's `--unlock-ip` (recorded and shown; keeper has no server
    /// that could see a device's address).
    pub unlock_ip: bool,
    /// Until first use: the application key wrapped under the key derived
    /// from the token's secret. Erased when the device binds.
    pub token_key: Option<Vec<u8>>,
    /// Once bound: the device's X25519 public key.
    pub public_key: Option<Vec<u8>>,
    /// Once bound: the application key sealed to the device's public key.
    pub wrapped_app_key: Option<Vec<u8>>,
    /// When the device bound, epoch ms.
    pub bound: Option<i64>,
}
