//! keeper's AWS IAM access-key rotator (Commander's `awskey`, without its
//! way of losing the working key).
//!
//! Calls IAM's Query API over the sandbox's HTTP capability, signing every
//! request with SigV4 inside the plugin (`keeper-aws-iam`, shared with
//! `awspswd`); the host sends it only to `https://iam.amazonaws.com`, or
//! to the record's `cmdr:endpoint_url` when it has one.
//!
//! The record: `login` is the IAM user name; the key being rotated is in
//! the fields `text:aws_access_key_id` and `secret:aws_secret_access_key`
//! (custom or typed), which the plugin needs and owns (its manifest's
//! `[fields]`). The key signs its own rotation (self-rotation: the user
//! needs `iam:ListAccessKeys`, `iam:CreateAccessKey`, `iam:DeleteAccessKey`,
//! `iam:ListUserTags`, `iam:TagUser` and `iam:UntagUser` on itself).
//! Optional: `cmdr:aws_region` (signing region, default `us-east-1`) and
//! `cmdr:endpoint_url`.
//!
//! The password keeper generates is not used: the manifest says
//! `sets-password = false`, so keeper leaves the record's password as it
//! is and the generated one only names the pending rotation.
//!
//! - **rotate** (signed with the record's key): `ListAccessKeys` must show
//!   the record's key, else nothing is changed. At AWS's two-key limit the
//!   other key is deleted only if it is `Inactive`, or if it is the one an
//!   interrupted rotation of this very key made (the user tag
//!   `keeper-awskey-rotation` names the record's key); an active key that
//!   keeper did not make is named in a refusal, and the key in use is
//!   never deleted. Then the tag is set, `CreateAccessKey` runs, its
//!   answer is checked (user, `Active`, id and secret) and the new pair is
//!   handed back as material, which keeper stores durably before anything
//!   else.
//! - **verify** (signed with the new key): `ListAccessKeys` must show it
//!   (a fresh key can take seconds to work on AWS: tried for about 7 s);
//!   then `DeleteAccessKey` of the old key (already gone is fine) and the
//!   tag is removed. Only now is the old key gone, and the new one is in
//!   the vault by then. Without new material, `verify` checks the record's
//!   own key (when asked about the record's password) or fails (asked
//!   about a new key that was never stored).
//! - **revert** (signed with the old key): deletes the new key (already
//!   gone is fine) and removes the tag.

mod keys;

use keeper_aws_iam::iam::{self, Client, check_user_name};
use keeper_plugin_sdk::{Field, PluginError, PluginInfo, Rotation, Rotator, Secret, log};

use keys::AccessKey;

/// The label of the field holding the access key id (type `text`).
pub const KEY_ID: &str = "aws_access_key_id";
/// The label of the field holding its secret (type `secret`).
pub const SECRET: &str = "aws_secret_access_key";

/// The AWS access-key rotator.
pub struct Awskey;

impl Rotator for Awskey {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "awskey",
            "Rotates AWS IAM access keys (CreateAccessKey, checked with the new key, then DeleteAccessKey of the old)",
        )
        .required_params(["login"])
        .needs([format!("text:{KEY_ID}"), format!("secret:{SECRET}")])
        .owns([format!("text:{KEY_ID}"), format!("secret:{SECRET}")])
    }

    fn rotate_generating(req: &Rotation) -> Result<Vec<Field>, PluginError> {
        let user = req.login();
        check_user_name(user)?;
        let current = current(req)?;
        let client = client(req, &current);
        let listed = keys::list(&client, user)?;
        if !listed.iter().any(|k| k.id == current.id) {
            return Err(PluginError::InvalidConfig(format!(
                "the record's access key ({KEY_ID}) is not one of IAM user {user}'s keys; nothing was changed"
            )));
        }
        let others: Vec<_> = listed.iter().filter(|k| k.id != current.id).collect();
        if !others.is_empty() {
            let marker = keys::marker(&client, user)?;
            let interrupted = marker.as_deref() == Some(current.id.as_str());
            for other in others {
                if other.status != "Active" {
                    log::info(&format!(
                        "deleting {user}'s inactive access key {} to make room (AWS allows two)",
                        other.id
                    ));
                } else if interrupted {
                    log::info(&format!(
                        "deleting access key {}, made by an interrupted rotation of this record's key",
                        other.id
                    ));
                } else {
                    return Err(PluginError::Rejected(format!(
                        "IAM user {user} already has a second access key, {}, which is active and \
                         was not made by keeper; AWS allows two keys per user and keeper never \
                         deletes the key in use: delete or deactivate {} and rotate again",
                        other.id, other.id
                    )));
                }
                keys::delete(&client, user, &other.id)?;
            }
        }
        keys::mark(&client, user, &current.id)?;
        let new = keys::create(&client, user)?;
        Ok(vec![
            Field::custom("text", KEY_ID, new.id),
            Field::custom("secret", SECRET, new.secret.expose()),
        ])
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        let user = req.login();
        check_user_name(user)?;
        let Some(new) = generated(req)? else {
            return check_record_key(req);
        };
        let client = client(req, &new);
        let listed = patiently(|| keys::list(&client, user))?;
        if !listed
            .iter()
            .any(|k| k.id == new.id && k.status == "Active")
        {
            return Err(PluginError::Rejected(format!(
                "the new access key is not an active key of IAM user {user}"
            )));
        }
        let old = current(req)?;
        if old.id != new.id {
            keys::delete(&client, user, &old.id)?;
        }
        keys::unmark(&client, user)
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        let user = req.login();
        check_user_name(user)?;
        let old = current(req)?;
        let client = client(req, &old);
        if let Some(new) = generated(req)?
            && new.id != old.id
        {
            keys::delete(&client, user, &new.id)?;
        }
        keys::unmark(&client, user)
    }
}

/// `verify` without new material: when asked about the record's own
/// credentials (its password, as keeper checks the old ones), whether the
/// record's key is an active key of the user; when asked about a new
/// password, no new key was stored for it, so it fails.
fn check_record_key(req: &Rotation) -> Result<(), PluginError> {
    let record_password = [&req.record().fields, &req.record().custom]
        .into_iter()
        .flatten()
        .find(|f| f.kind == "password")
        .and_then(Field::value)
        .unwrap_or_default();
    if req.new_password().expose() != record_password {
        return Err(PluginError::AuthFailed(
            "no new access key was stored for this rotation (keeper stopped before it could \
             keep one): there is nothing new to check"
                .into(),
        ));
    }
    let user = req.login();
    let current = current(req)?;
    let listed = keys::list(&client(req, &current), user)?;
    if listed
        .iter()
        .any(|k| k.id == current.id && k.status == "Active")
    {
        Ok(())
    } else {
        Err(PluginError::AuthFailed(format!(
            "the record's access key is not an active key of IAM user {user}"
        )))
    }
}

/// Runs `call` (signed with a key created moments ago) until IAM knows the
/// key: AWS can take a few seconds to accept a new key everywhere
/// (`InvalidClientTokenId` meanwhile). Four tries over about 7 s.
fn patiently<T>(mut call: impl FnMut() -> Result<T, PluginError>) -> Result<T, PluginError> {
    let mut wait = std::time::Duration::from_secs(1);
    for _ in 0..3 {
        match call() {
            Err(PluginError::AuthFailed(m)) if m.starts_with("IAM InvalidClientTokenId") => {
                log::info("IAM does not know the new key yet; waiting");
                std::thread::sleep(wait);
                wait *= 2;
            }
            other => return other,
        }
    }
    call()
}

/// The IAM client for `req`'s endpoint and region, signing with `key`.
fn client<'a>(req: &'a Rotation, key: &'a AccessKey) -> Client<'a> {
    let nonempty = |name: &str| req.param(name).map(str::trim).filter(|v| !v.is_empty());
    Client {
        endpoint: nonempty("endpoint_url").unwrap_or(iam::DEFAULT_ENDPOINT),
        region: nonempty("aws_region").unwrap_or(iam::DEFAULT_REGION),
        access_key_id: &key.id,
        secret_access_key: key.secret.expose(),
    }
}

/// The key in the record (the one being rotated).
///
/// Fails with [`PluginError::InvalidConfig`] when a field is missing or
/// does not hold a key.
fn current(req: &Rotation) -> Result<AccessKey, PluginError> {
    let record = req.record();
    let find = |kind: &str, label: &str| {
        record
            .fields
            .iter()
            .chain(&record.custom)
            .find(|f| {
                f.kind == kind
                    && f.label
                        .as_deref()
                        .is_some_and(|l| l.eq_ignore_ascii_case(label))
            })
            .and_then(Field::value)
            .map(str::trim)
            .ok_or_else(|| {
                PluginError::InvalidConfig(format!(
                    "the record has no `{kind}` field labelled {label} (the access key to rotate)"
                ))
            })
    };
    let key = AccessKey {
        id: find("text", KEY_ID)?.to_string(),
        secret: Secret::new(find("secret", SECRET)?),
    };
    keys::check_id(&key.id, &format!("the record's {KEY_ID}"))?;
    keys::check_secret(key.secret.expose(), &format!("the record's {SECRET}"))?;
    Ok(key)
}

/// The new key `rotate` returned, once keeper stored it.
///
/// Fails with [`PluginError::Internal`] for material that is not a key.
fn generated(req: &Rotation) -> Result<Option<AccessKey>, PluginError> {
    let find = |kind: &str, label: &str| {
        req.prepared()
            .iter()
            .find(|f| f.kind == kind && f.label.as_deref() == Some(label))
            .and_then(Field::value)
    };
    let (Some(id), Some(secret)) = (find("text", KEY_ID), find("secret", SECRET)) else {
        return Ok(None);
    };
    let bad = |e: PluginError| PluginError::Internal(e.message().to_string());
    keys::check_id(id, "the stored new key id").map_err(bad)?;
    keys::check_secret(secret, "the stored new secret").map_err(bad)?;
    Ok(Some(AccessKey {
        id: id.to_string(),
        secret: Secret::new(secret),
    }))
}

keeper_plugin_sdk::v1_1::register_rotator!(Awskey);

#[cfg(test)]
mod tests {
    use super::*;
    use keeper_plugin_sdk::RecordView;

    const ID: &str = "AKIAIOSFODNN7EXAMPLE";

    fn record(fields: Vec<Field>) -> RecordView {
        RecordView {
            custom: fields,
            ..RecordView::default()
        }
    }

    #[test]
    fn describes_awskey_with_the_fields_it_rotates() {
        let info = Awskey::describe();
        assert_eq!(info.name, "awskey");
        assert_eq!(info.required_params, ["login"]);
        let fields = [
            "text:aws_access_key_id".to_string(),
            "secret:aws_secret_access_key".to_string(),
        ];
        assert_eq!(info.needs, fields);
        assert_eq!(info.owns, fields);
        assert!(info.checks_passwords, "verify really checks the new key");
    }

    #[test]
    fn the_record_must_hold_a_key() {
        let req = Rotation::new("alice", "", "new");
        assert!(matches!(
            Awskey::rotate_generating(&req),
            Err(PluginError::InvalidConfig(m)) if m.contains("aws_access_key_id")
        ));
        let req = Rotation::new("alice", "", "new").with_record(record(vec![
            Field::custom("text", "AWS_ACCESS_KEY_ID", ID),
            Field::custom("secret", SECRET, "bad secret"),
        ]));
        assert!(matches!(
            Awskey::rotate_generating(&req),
            Err(PluginError::InvalidConfig(m)) if m.contains("secret access key")
        ));
        let req = Rotation::new("alice&Action=DeleteUser", "", "new");
        assert!(matches!(
            Awskey::verify(&req),
            Err(PluginError::InvalidConfig(m)) if m.contains("not an IAM user name")
        ));
    }

    #[test]
    fn without_new_material_only_the_records_own_key_is_checked() {
        let req = Rotation::new("alice", "Old-pw", "Pending-new-pw").with_record(record(vec![
            Field::custom("text", KEY_ID, ID),
            Field::custom("secret", SECRET, "s"),
        ]));
        assert!(matches!(
            Awskey::verify(&req),
            Err(PluginError::AuthFailed(m)) if m.contains("no new access key")
        ));
        assert!(generated(&req).ok().flatten().is_none());
        let stored = req
            .with_prepared(Field::custom("text", KEY_ID, "AKIANEWKEY0000000000"))
            .with_prepared(Field::custom("secret", SECRET, "new-secret"));
        assert_eq!(
            generated(&stored).ok().flatten().map(|k| k.id),
            Some("AKIANEWKEY0000000000".to_string())
        );
    }
}
