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
    /// The device's access ends at this time (epoch ms); `None`: never,
    /// or not bound yet when `access_minutes` is set.
    pub access_expires: Option<i64>,
    /// `--access-expire-in-min`: minutes of access counted from the
    /// device's first use; the end is fixed in `access_expires` when it
    /// binds. `None`: no end (or a client issued before schema 6, whose
    /// end was counted from issue).
    pub access_minutes: Option<i64>,
    /// Commander's `--unlock-ip` (recorded and shown; keeper has no server
    /// that could see a device's address).
    pub unlock_ip: bool,
    /// Until first use: the application key wrapped under the key derived
    /// from the token's secret. Erased when the device binds, when the
    /// client is removed, and once expired by the owner's next
    /// `secrets-manager` command.
    pub token_key: Option<Vec<u8>>,
    /// Until first use: the token's key wrapped under the owner's data key,
    /// so that re-keying the application (`client remove`) can wrap the new
    /// application key for the waiting token. Erased with `token_key`.
    pub owner_token_key: Option<Vec<u8>>,
    /// Once bound: the device's X25519 public key.
    pub public_key: Option<Vec<u8>>,
    /// Once bound: the application key sealed to the device's public key.
    pub wrapped_app_key: Option<Vec<u8>>,
    /// When the device bound, epoch ms.
    pub bound: Option<i64>,
}

/// Checks both backends' tests run on their own store (schema 6 and the
/// re-keying, erasing and removing writes).
#[cfg(test)]
pub(crate) mod checks {
    use super::AppClientRow;
    use crate::vault::store::{RecordKeyRow, RecordRow, Store};

    /// On a store holding application `a1` of tenant `t1` (`client` one
    /// of its clients, removed): a waiting client keeps its access minutes
    /// and owner's token copy; the application's key is replaced; its key
    /// rows are listed, expired ones included; expired token copies are
    /// erased (only those); removing the application removes its clients
    /// and key rows, nothing else.
    pub fn rekey_erase_and_remove(store: &mut dyn Store, client: &AppClientRow) {
        let key = |holder: &str, expires| RecordKeyRow {
            record_uid: "ra".into(),
            holder_uid: holder.into(),
            wrapped_key: vec![7; 8],
            can_edit: false,
            can_share: false,
            expires,
        };
        let record = RecordRow {
            uid: "ra".into(),
            tenant_uid: "t1".into(),
            owner_uid: "u1".into(),
            revision: 1,
            created: 1,
            modified: 1,
            data: b"ra".to_vec(),
        };
        let waiting = AppClientRow {
            uid: "c2".into(),
            token_expires: 100,
            access_expires: None,
            access_minutes: Some(30),
            token_key: Some(vec![2; 8]),
            owner_token_key: Some(vec![5; 8]),
            public_key: None,
            wrapped_app_key: None,
            bound: None,
            ..client.clone()
        };
        let fresh = AppClientRow {
            uid: "c3".into(),
            token_expires: i64::MAX,
            ..waiting.clone()
        };
        store
            .write(&mut |tx| {
                tx.insert_record(&record, &key("u1", None))?;
                tx.put_record_key(&key("a1", Some(1)))?;
                tx.put_app_client(&waiting)?;
                tx.put_app_client(&fresh)?;
                tx.update_app_key("a1", &[8; 8])
            })
            .expect("write");
        let read = store.app_client("c2").expect("read").expect("there");
        assert_eq!(read.access_minutes, Some(30));
        assert_eq!(read.owner_token_key, Some(vec![5; 8]));
        assert_eq!(store.apps("t1").expect("apps")[0].wrapped_key, [8; 8]);
        let held = store.app_record_keys("a1").expect("rows");
        assert_eq!(held.len(), 1, "the expired row too");
        assert_eq!(
            (held[0].record_uid.as_str(), held[0].expires),
            ("ra", Some(1))
        );
        let mut erased = 0;
        store
            .write(&mut |tx| {
                erased = tx.erase_expired_tokens("t1", 100)?;
                Ok(())
            })
            .expect("erase");
        assert_eq!(erased, 1);
        let c2 = store.app_client("c2").expect("read").expect("kept");
        assert_eq!((c2.token_key, c2.owner_token_key), (None, None));
        let c3 = store.app_client("c3").expect("read").expect("kept");
        assert!(c3.token_key.is_some() && c3.owner_token_key.is_some());
        let mut removed = (false, false);
        store
            .write(&mut |tx| {
                removed = (tx.delete_app("a1")?, tx.delete_app("a1")?);
                Ok(())
            })
            .expect("remove");
        assert_eq!(removed, (true, false));
        assert!(store.apps("t1").expect("apps").is_empty());
        assert!(store.app_clients("t1").expect("clients").is_empty());
        let left = store.record_keys("ra").expect("rows");
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].holder_uid, "u1", "only the owner's row is left");
    }
}
