//! Re-keying a user: a new data key, a new X25519 key pair and a new
//! master password, with everything the old keys wrapped or sealed
//! re-wrapped under the new ones, in one transaction, so that a copy of
//! the user's old key header (and whoever knew its password) opens
//! nothing the store holds afterwards.
//!
//! ```text
//! new password ─Argon2id→ KEK ─wraps→ new data key      (users.wrapped_data_key)
//! new data key ─wraps→ new X25519 secret                (users.wrapped_private_key, public_key)
//!              ─wraps→ record keys held as the user     (record_keys, expired ones too)
//!              ─seals→ personal-folder names            (folders of kind user_folder)
//!              ─wraps→ application keys, waiting tokens' keys (apps, app_clients.owner_token_key)
//!              ─wraps→ enterprise tree keys             (enterprise_admins)
//! new public key ←seals─ records shared directly, team keys, shared-folder keys
//! ```
//!
//! What those keys protect is not replaced: a record key, an application
//! key or a tree key is the same key re-wrapped, so whoever extracted one
//! with the old keys before the re-key still opens what it opens (data
//! written under it before and after). The enterprise layer replaces the
//! MSP's tree key in the same transaction (`crate::enterprise::rekey`).
//! Every device session ends (the key header changes). After the commit
//! the freed pages are erased ([`super::store::Store::erase_freed`]).

use secrecy::{ExposeSecret as _, SecretString};

use super::crypto::{self, KdfParams, Key, KeyPair};
use super::store::{FolderKind, HolderKind, StoreTx};
use super::{Result, Session, Vault, VaultError, ad, user_checksum};

/// What re-keying a user re-wrapped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct UserRekeyed {
    /// Record key rows held as the user (own records and direct shares).
    pub records: usize,
    /// Personal-folder names.
    pub folders: usize,
    /// Team keys and shared-folder keys sealed to the user.
    pub memberships: usize,
    /// Application keys and waiting tokens' keys.
    pub apps: usize,
    /// Enterprise tree keys held as an admin.
    pub tree_keys: usize,
    /// What went wrong after the re-key committed (it stands: only the
    /// new password opens the account).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The new data key of a user being re-keyed, for what the caller
/// replaces in the same transaction (an MSP's tree key): by then
/// everything the old keys held is re-wrapped under the new ones.
pub(crate) struct Rekeying<'k> {
    /// The user.
    pub user_uid: &'k str,
    new: &'k Key,
}

impl Rekeying<'_> {
    /// Wraps `key` under the user's new data key.
    pub(crate) fn wrap_for_user(&self, key: &Key, ad: &[u8]) -> Vec<u8> {
        self.new.wrap(key, ad)
    }

    /// Unwraps a key wrapped under the user's new data key (everything
    /// the old one held, once re-wrapped).
    ///
    /// # Errors
    ///
    /// [`VaultError::Corrupted`] when it does not open.
    pub(crate) fn unwrap_for_user(&self, blob: &[u8], ad: &[u8]) -> Result<Key> {
        self.new.unwrap_key(blob, ad)
    }
}

fn does_not_open(what: String) -> VaultError {
    VaultError::Corrupted(format!("{what}: its key does not open"))
}

impl Vault {
    /// Re-keys the logged-in user: a new data key and key pair, wrapped
    /// under `password` (with `params`), everything the old ones held
    /// re-wrapped, the user's `must_rekey` cleared, and `more` run in the
    /// same transaction, after all that, with the new data key; then the freed
    /// pages are erased. `more` may run more than once (a retried
    /// transaction).
    ///
    /// # Errors
    ///
    /// [`VaultError::Invalid`] for an empty password;
    /// [`VaultError::Denied`] for a company's identity (no password);
    /// [`VaultError::StaleSession`] when the user's key header changed
    /// since this session unlocked (another re-key or a new master
    /// password meanwhile, even during the password prompt); [`VaultError::Corrupted`] when a stored key does not
    /// open; `more`'s error; storage errors. Nothing is written then.
    pub(crate) fn rekey_user(
        &mut self,
        password: &SecretString,
        params: &KdfParams,
        more: &mut dyn FnMut(&mut dyn StoreTx, &Rekeying<'_>) -> Result<()>,
    ) -> Result<UserRekeyed> {
        if password.expose_secret().is_empty() {
            return Err(VaultError::Invalid(
                "the master password must not be empty".into(),
            ));
        }
        if self.is_key_held()? {
            return Err(VaultError::Denied(
                "a managed company's identity has no master password to re-key".into(),
            ));
        }
        let before = self.user_row()?;
        // The slow and random parts outside the transaction, which may run twice.
        let kek = params.derive(password)?;
        let data_key = Key::generate();
        let keypair = KeyPair::generate();
        let mut after = before.clone();
        after.kdf = params.encode();
        after.wrapped_data_key = kek.wrap(
            &data_key,
            &ad::data_key(&after.tenant_uid, &after.uid, &after.kdf),
        );
        after.wrapped_private_key = data_key.wrap(&keypair.secret(), &ad::private_key(&after.uid));
        after.public_key = keypair.public().to_vec();
        after.must_rekey = false;
        after.checksum = user_checksum(&after);
        let new = NewKeys {
            data_key: &data_key,
            public: keypair.public(),
        };
        // `write` refuses when the stored header is no longer the one this
        // session unlocked with, compared inside the transaction.
        let done = self.write(|tx, s| {
            tx.update_user(&after)?;
            let done = rewrap_all(tx, s, &new)?;
            more(
                tx,
                &Rekeying {
                    user_uid: &s.user_uid,
                    new: &data_key,
                },
            )?;
            crate::rotation::fault::point("rekey-before-commit");
            Ok(done)
        })?;
        self.s.ring.data_key = data_key;
        self.s.ring.keypair = keypair;
        self.s.header = after.checksum;
        self.weak_kdf = params.is_weak();
        // Committed: what fails from here on is a warning, not a failure
        // of the re-key (the new password is the only one now).
        let mut done = done;
        if let Err(e) = self.reload_keys() {
            done.warnings.push(format!(
                "re-keyed, but re-reading the team and shared-folder keys failed ({e}); log in \
                 again with the new master password"
            ));
        }
        crate::rotation::fault::point("rekey-after-commit");
        match self.store.erase_freed() {
            Ok(None) => {}
            Ok(Some(log)) => done.warnings.push(format!(
                "re-keyed, but another process was reading the vault, so the old wrapped keys \
                 may remain in {log} until SQLite checkpoints it with no reader open (close the \
                 other keeper processes and programs reading the vault)"
            )),
            Err(e) => done.warnings.push(format!(
                "re-keyed, but erasing the old keys' freed pages failed ({e})"
            )),
        }
        Ok(done)
    }
}

/// The new keys, as [`rewrap_all`] needs them.
struct NewKeys<'k> {
    data_key: &'k Key,
    public: [u8; 32],
}

/// Re-wraps, in `tx`, everything `s`'s data key or key pair holds under
/// `new`.
fn rewrap_all(tx: &mut dyn StoreTx, s: &Session, new: &NewKeys<'_>) -> Result<UserRekeyed> {
    let mut done = UserRekeyed {
        records: rewrap_record_keys(tx, s, new)?,
        ..UserRekeyed::default()
    };
    // Halfway: a crash here must leave the old state whole.
    crate::rotation::fault::point("rekey-midway");
    let (user, tenant) = (s.user_uid.as_str(), s.tenant_uid.as_str());
    let old = &s.ring.data_key;
    for mut f in tx.folders(tenant)? {
        if f.kind != FolderKind::User || f.owner_uid != user {
            continue;
        }
        let name = old
            .open(&f.data, &ad::folder(&f.uid))
            .map_err(|_| does_not_open(format!("folder {}", f.uid)))?;
        f.data = new.data_key.seal(&name, &ad::folder(&f.uid));
        f.revision += 1;
        tx.put_folder(&f)?;
        done.folders += 1;
    }
    for mut m in tx.team_members(tenant)? {
        if m.user_uid != user {
            continue;
        }
        let ad = ad::team_key(&m.team_uid, user);
        m.wrapped_key = reseal(s, &m.wrapped_key, &ad, &new.public)
            .map_err(|_| does_not_open(format!("team {}", m.team_uid)))?;
        tx.put_team_member(&m)?;
        done.memberships += 1;
    }
    for mut share in tx.shares(tenant)? {
        if share.holder_kind != HolderKind::User || share.holder_uid != user {
            continue;
        }
        let ad = ad::shared_folder_key(&share.shared_folder_uid, user);
        share.wrapped_key = reseal(s, &share.wrapped_key, &ad, &new.public)
            .map_err(|_| does_not_open(format!("shared folder {}", share.shared_folder_uid)))?;
        tx.put_share(&share)?;
        done.memberships += 1;
    }
    done.apps = rewrap_apps(tx, s, new)?;
    for mut admin in tx.enterprise_admins(tenant)? {
        if admin.user_uid != user {
            continue;
        }
        let ad = ad::tree_key(tenant, user);
        let tree_key = old
            .unwrap_key(&admin.wrapped_tree_key, &ad)
            .map_err(|_| does_not_open(format!("the tree key of enterprise {tenant}")))?;
        admin.wrapped_tree_key = new.data_key.wrap(&tree_key, &ad);
        tx.put_enterprise_admin(&admin)?;
        done.tree_keys += 1;
    }
    Ok(done)
}

/// Opens a key sealed to `s`'s old public key and seals it to `public`.
fn reseal(s: &Session, sealed: &[u8], ad: &[u8], public: &[u8; 32]) -> Result<Vec<u8>> {
    let key = s.ring.keypair.open_sealed_key(sealed, ad)?;
    Ok(crypto::seal_key_to(public, &key, ad))
}

/// Every record key row held as the user, expired ones included: wrapped
/// under the data key (own records) or sealed to the public key (direct
/// shares), re-wrapped the same way under the new keys.
fn rewrap_record_keys(tx: &mut dyn StoreTx, s: &Session, new: &NewKeys<'_>) -> Result<usize> {
    let mut uids = Vec::new();
    tx.tenant_records(&s.tenant_uid, &mut |row| {
        uids.push(row.uid);
        Ok(())
    })?;
    let mut n = 0;
    for uid in uids {
        for mut row in tx.record_keys(&uid)? {
            if row.holder_uid != s.user_uid {
                continue;
            }
            let ad = ad::record_key_until(&uid, &row.holder_uid, row.expires);
            row.wrapped_key = if let Ok(key) = s.ring.data_key.unwrap_key(&row.wrapped_key, &ad) {
                new.data_key.wrap(&key, &ad)
            } else {
                reseal(s, &row.wrapped_key, &ad, &new.public)
                    .map_err(|_| does_not_open(format!("record {uid}")))?
            };
            tx.put_record_key(&row)?;
            n += 1;
        }
    }
    Ok(n)
}

/// The keys of the user's applications and of their waiting tokens
/// (`owner_token_key`), re-wrapped under the new data key.
fn rewrap_apps(tx: &mut dyn StoreTx, s: &Session, new: &NewKeys<'_>) -> Result<usize> {
    let user = s.user_uid.as_str();
    let old = &s.ring.data_key;
    let apps: Vec<_> = tx
        .apps(&s.tenant_uid)?
        .into_iter()
        .filter(|a| a.owner_uid == user)
        .collect();
    let mut n = 0;
    for app in &apps {
        let ad = ad::app_key(&app.uid, user);
        let key = old
            .unwrap_key(&app.wrapped_key, &ad)
            .map_err(|_| does_not_open(format!("application {}", app.name)))?;
        tx.update_app_key(&app.uid, &new.data_key.wrap(&key, &ad))?;
        n += 1;
    }
    for mut c in tx.app_clients(&s.tenant_uid)? {
        let Some(copy) = c.owner_token_key.as_deref() else {
            continue;
        };
        if !apps.iter().any(|a| a.uid == c.app_uid) {
            continue;
        }
        let ad = ad::client_token_key(&c.uid, &c.app_uid, user);
        let key = old
            .unwrap_key(copy, &ad)
            .map_err(|_| does_not_open(format!("the token of client {}", c.uid)))?;
        c.owner_token_key = Some(new.data_key.wrap(&key, &ad));
        tx.put_app_client(&c)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::RecordData;
    use crate::vault::store::UserRow;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    /// After a re-key the old password no longer unlocks, the new one
    /// does with every record and folder; the old header's data key and
    /// key pair open none of the rows that held them, and a record added
    /// afterwards is out of their reach too.
    #[test]
    fn the_old_header_opens_nothing_after_a_rekey() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v.db");
        let fast = KdfParams::insecure_fast();
        let mut v = Vault::create(&path, "a@b.c", &pw("old"), &fast).expect("create");
        v.mkdir("Private", None).expect("mkdir");
        let before_uid = v
            .add_record(RecordData::new("login", "kept"), Some("Private"))
            .expect("add");
        let old: UserRow = v.user_row().expect("row");
        let old_key = v.s.ring.data_key.clone();
        let old_pair = KeyPair::from_secret(&v.s.ring.keypair.secret());

        let done = v
            .rekey_user(&pw("new"), &fast, &mut |_, _| Ok(()))
            .expect("rekey");
        assert_eq!((done.records, done.folders), (1, 1), "{done:?}");
        let after_uid = v
            .add_record(RecordData::new("login", "later"), None)
            .expect("add after");
        drop(v);

        assert!(matches!(
            Vault::open(&path).expect("open").unlock(None, &pw("old")),
            Err(VaultError::WrongPassword)
        ));
        let v = Vault::open(&path)
            .expect("open")
            .unlock(None, &pw("new"))
            .expect("the new password unlocks");
        let titles: Vec<String> = v
            .records()
            .expect("records")
            .into_iter()
            .map(|r| r.data.title)
            .collect();
        assert!(titles.contains(&"kept".to_string()) && titles.contains(&"later".to_string()));
        assert!(
            v.folder_tree()
                .expect("tree")
                .child(None, "Private")
                .is_some()
        );
        let now = v.user_row().expect("row");
        assert_ne!(now.public_key, old.public_key, "a new key pair");
        // The kept header still opens with the old password, to the old keys.
        let kek = KdfParams::decode(&old.kdf)
            .expect("kdf")
            .derive(&pw("old"))
            .expect("derive");
        let kept = kek
            .unwrap_key(
                &old.wrapped_data_key,
                &ad::data_key(&old.tenant_uid, &old.uid, &old.kdf),
            )
            .expect("the kept row opens to the old data key");
        assert_eq!(kept.expose(), old_key.expose());
        for uid in [&before_uid, &after_uid] {
            for row in v.store.record_keys(uid).expect("keys") {
                let ad = ad::record_key_until(uid, &row.holder_uid, row.expires);
                assert!(old_key.try_open(&row.wrapped_key, &ad).is_none(), "{uid}");
                assert!(old_pair.open_sealed_key(&row.wrapped_key, &ad).is_err());
            }
        }
        for f in v.store.folders(&now.tenant_uid).expect("folders") {
            assert!(old_key.try_open(&f.data, &ad::folder(&f.uid)).is_none());
        }
    }

    /// Every raw row a write could touch, to compare before and after a
    /// refused one.
    fn raw_rows(v: &Vault) -> String {
        let tenant = v.s.tenant_uid.clone();
        let mut records = Vec::new();
        v.store
            .tenant_records(&tenant, &mut |r| {
                records.push(format!("{r:?}"));
                Ok(())
            })
            .expect("records");
        format!(
            "{:?}{:?}{:?}{records:?}",
            v.store.all_users().expect("users"),
            v.store.folders(&tenant).expect("folders"),
            v.store.links(&tenant).expect("links"),
        )
    }

    /// A session unlocked before another one re-keyed the user writes
    /// nothing more: no record or folder under the old data key, no
    /// password change that would store the old data key beside the new
    /// key pair, no second re-key; the new password still opens it all.
    #[test]
    fn a_session_from_before_a_rekey_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v.db");
        let fast = KdfParams::insecure_fast();
        let mut v1 = Vault::create(&path, "a@b.c", &pw("old"), &fast).expect("create");
        v1.mkdir("Private", None).expect("mkdir");
        v1.add_record(RecordData::new("login", "kept"), Some("Private"))
            .expect("add");
        let mut v2 = Vault::open(&path)
            .expect("open")
            .unlock(None, &pw("old"))
            .expect("second session");
        v1.rekey_user(&pw("new"), &fast, &mut |_, _| Ok(()))
            .expect("rekey");
        let before = raw_rows(&v1);

        let stale = |what: &str, r: Result<()>| {
            let err = r.expect_err("a stale session is refused");
            assert!(
                matches!(&err, VaultError::StaleSession(m) if m.contains("keys of a@b.c")),
                "{what}: {err}"
            );
            assert!(err.to_string().contains("log in again"), "{err}");
        };
        stale("password", v2.change_master_password(&pw("third"), &fast));
        stale(
            "rekey",
            v2.rekey_user(&pw("fourth"), &fast, &mut |_, _| Ok(()))
                .map(drop),
        );
        stale(
            "add",
            v2.add_record(RecordData::new("login", "late"), None)
                .map(drop),
        );
        stale("mkdir", v2.mkdir("Late", None).map(drop));
        assert_eq!(raw_rows(&v1), before, "nothing written");

        // The re-keying session goes on writing, and so does a password
        // change in it.
        v1.add_record(RecordData::new("login", "after"), None)
            .expect("add after");
        v1.change_master_password(&pw("newer"), &fast)
            .expect("its own session changes the password");
        v1.mkdir("Later", None).expect("and writes on");
        drop((v1, v2));
        for wrong in ["old", "third", "fourth", "new"] {
            assert!(matches!(
                Vault::open(&path).expect("open").unlock(None, &pw(wrong)),
                Err(VaultError::WrongPassword)
            ));
        }
        let v = Vault::open(&path)
            .expect("open")
            .unlock(None, &pw("newer"))
            .expect("the last password opens");
        let mut titles: Vec<String> = v
            .records()
            .expect("every record opens")
            .into_iter()
            .map(|r| r.data.title)
            .collect();
        titles.sort();
        assert_eq!(titles, ["after", "kept"]);
        let tree = v.folder_tree().expect("every folder opens");
        assert!(tree.child(None, "Private").is_some() && tree.child(None, "Later").is_some());
    }

    /// The old data key and key pair open none of the team, shared-folder,
    /// application and waiting-token key rows after a re-key; the new
    /// session opens each (deleting a re-wrap loop fails this).
    #[test]
    fn team_shared_folder_app_and_token_keys_are_rewrapped() {
        use crate::vault::apps::ClientOptions;
        use crate::vault::store::SharedFolderDefaults;

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v.db");
        let fast = KdfParams::insecure_fast();
        let mut v = Vault::create(&path, "a@b.c", &pw("old"), &fast).expect("create");
        v.add_team("Ops", &["a@b.c"]).expect("team");
        v.mkdir("Shared", Some(SharedFolderDefaults::default()))
            .expect("shared folder");
        v.create_app("CI").expect("app");
        v.add_client("CI", &ClientOptions::default(), false)
            .expect("a waiting token");
        let old_key = v.s.ring.data_key.clone();
        let old_pair = KeyPair::from_secret(&v.s.ring.keypair.secret());
        v.rekey_user(&pw("new"), &fast, &mut |_, _| Ok(()))
            .expect("rekey");
        let (user, tenant) = (v.s.user_uid.clone(), v.s.tenant_uid.clone());
        let (new_key, new_pair) = (&v.s.ring.data_key, &v.s.ring.keypair);
        let mut checked = Vec::new();
        for m in v.store.team_members(&tenant).expect("members") {
            if m.user_uid == user {
                let ad = ad::team_key(&m.team_uid, &user);
                assert!(old_pair.open_sealed_key(&m.wrapped_key, &ad).is_err());
                new_pair.open_sealed_key(&m.wrapped_key, &ad).expect("team");
                checked.push("team");
            }
        }
        for sh in v.store.shares(&tenant).expect("shares") {
            if sh.holder_kind == HolderKind::User && sh.holder_uid == user {
                let ad = ad::shared_folder_key(&sh.shared_folder_uid, &user);
                assert!(old_pair.open_sealed_key(&sh.wrapped_key, &ad).is_err());
                new_pair
                    .open_sealed_key(&sh.wrapped_key, &ad)
                    .expect("shared folder");
                checked.push("shared folder");
            }
        }
        for app in v.store.apps(&tenant).expect("apps") {
            let ad = ad::app_key(&app.uid, &user);
            assert!(old_key.try_open(&app.wrapped_key, &ad).is_none());
            new_key.unwrap_key(&app.wrapped_key, &ad).expect("app");
            checked.push("app");
        }
        for c in v.store.app_clients(&tenant).expect("clients") {
            let copy = c
                .owner_token_key
                .expect("the owner's copy of the token key");
            let ad = ad::client_token_key(&c.uid, &c.app_uid, &user);
            assert!(old_key.try_open(&copy, &ad).is_none());
            new_key.unwrap_key(&copy, &ad).expect("token");
            checked.push("token");
        }
        assert_eq!(checked, ["team", "shared folder", "app", "token"]);
    }
}
