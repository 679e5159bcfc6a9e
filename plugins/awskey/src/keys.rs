//! The IAM access-key calls the rotator makes for one user: list, create,
//! delete (idempotent), and the user tag that marks a rotation in progress.

use keeper_aws_iam::iam::{self, Client, IamError};
use keeper_plugin_sdk::{PluginError, Secret};

/// The user tag set, before `CreateAccessKey`, to the id of the key being
/// rotated, and removed once the old key is deleted (or the new one is, on
/// revert). A retried rotation that finds it naming the record's key knows
/// that the user's other key is the one an interrupted run made.
pub const MARKER: &str = "keeper-awskey-rotation";

/// An access key: its id and secret.
pub struct AccessKey {
    /// `AKIA…`.
    pub id: String,
    /// The secret access key.
    pub secret: Secret,
}

/// A key as `ListAccessKeys` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its id.
    pub id: String,
    /// `Active` or `Inactive`.
    pub status: String,
}

/// Checks an access key id: 16-128 of `A-Z 0-9` (AWS: `AKIA`/`ASIA` and
/// 16 more).
///
/// Fails with [`PluginError::InvalidConfig`] saying where it came from.
pub fn check_id(id: &str, what: &str) -> Result<(), PluginError> {
    if (16..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(PluginError::InvalidConfig(format!(
            "{what} is not an AWS access key id (16-128 of A-Z 0-9)"
        )))
    }
}

/// Checks a secret access key: 1-128 printable ASCII characters without
/// spaces (it is only ever used to sign, never sent).
///
/// Fails with [`PluginError::InvalidConfig`] saying where it came from.
pub fn check_secret(secret: &str, what: &str) -> Result<(), PluginError> {
    if (1..=128).contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(PluginError::InvalidConfig(format!(
            "{what} is not an AWS secret access key (1-128 printable characters)"
        )))
    }
}

/// `user`'s access keys.
pub fn list(client: &Client<'_>, user: &str) -> Result<Vec<Listed>, PluginError> {
    let body = client.call("ListAccessKeys", &[("UserName", user)])?;
    Ok(iam::members(&body, "AccessKeyMetadata")
        .into_iter()
        .filter_map(|member| {
            Some(Listed {
                id: iam::element(member, "AccessKeyId")?,
                status: iam::element(member, "Status").unwrap_or_default(),
            })
        })
        .collect())
}

/// Creates a key for `user` and checks IAM's answer: it names `user`, is
/// active, has an id and a secret. A key IAM made but answered oddly about
/// is deleted again (best effort).
///
/// Fails as IAM answered; a lost answer (the key may exist) is a
/// [`PluginError::Rejected`], so the host checks and reverts.
pub fn create(client: &Client<'_>, user: &str) -> Result<AccessKey, PluginError> {
    let body = client
        .call("CreateAccessKey", &[("UserName", user)])
        .map_err(PluginError::target_may_have_changed)?;
    let field = |name: &str| iam::element(&body, name).unwrap_or_default();
    let (id, secret) = (field("AccessKeyId"), Secret::new(field("SecretAccessKey")));
    let problem = if field("UserName") != user {
        Some(format!("names user {:?}, not {user:?}", field("UserName")))
    } else if field("Status") != "Active" {
        Some(format!("says it is {:?}, not Active", field("Status")))
    } else if check_id(&id, "its key id").is_err() || check_secret(secret.expose(), "").is_err() {
        Some("has no usable key id and secret".to_string())
    } else {
        None
    };
    match problem {
        None => Ok(AccessKey { id, secret }),
        Some(problem) => {
            if check_id(&id, "").is_ok() {
                let _ = delete(client, user, &id);
            }
            Err(PluginError::Rejected(format!(
                "IAM's CreateAccessKey answer {problem}"
            )))
        }
    }
}

/// Deletes `user`'s key `id`; a key already gone is not an error.
pub fn delete(client: &Client<'_>, user: &str, id: &str) -> Result<(), PluginError> {
    ok_if_gone(client.try_call(
        "DeleteAccessKey",
        &[("UserName", user), ("AccessKeyId", id)],
    )?)
}

/// The [`MARKER`] tag's value on `user`, if it has one.
pub fn marker(client: &Client<'_>, user: &str) -> Result<Option<String>, PluginError> {
    let body = client.call("ListUserTags", &[("UserName", user)])?;
    Ok(iam::members(&body, "Tags").into_iter().find_map(|tag| {
        (iam::element(tag, "Key").as_deref() == Some(MARKER))
            .then(|| iam::element(tag, "Value").unwrap_or_default())
    }))
}

/// Sets the [`MARKER`] tag on `user` to `id`.
pub fn mark(client: &Client<'_>, user: &str, id: &str) -> Result<(), PluginError> {
    client
        .call(
            "TagUser",
            &[
                ("UserName", user),
                ("Tags.member.1.Key", MARKER),
                ("Tags.member.1.Value", id),
            ],
        )
        .map(|_| ())
}

/// Removes the [`MARKER`] tag from `user` (none is not an error).
pub fn unmark(client: &Client<'_>, user: &str) -> Result<(), PluginError> {
    ok_if_gone(client.try_call(
        "UntagUser",
        &[("UserName", user), ("TagKeys.member.1", MARKER)],
    )?)
}

/// Success, or `NoSuchEntity` (already done), else IAM's error.
fn ok_if_gone(answer: Result<String, IamError>) -> Result<(), PluginError> {
    match answer {
        Ok(_) => Ok(()),
        Err(e) if e.code == "NoSuchEntity" => Ok(()),
        Err(e) => Err(e.into_plugin_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_and_secrets_are_checked() {
        assert!(check_id("AKIAIOSFODNN7EXAMPLE", "x").is_ok());
        for bad in [
            "",
            "AKIA",
            "akiaiosfodnn7example",
            "AKIAIOSFODNN7EXAMPL&",
            "AKIA IOSFODNN7EXAMPLE",
        ] {
            assert!(
                matches!(check_id(bad, "the key"), Err(PluginError::InvalidConfig(m)) if m.starts_with("the key")),
                "{bad:?}"
            );
        }
        assert!(check_secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "x").is_ok());
        for bad in ["", "a b", "a\nb", "é", &"x".repeat(129)] {
            assert!(check_secret(bad, "the secret").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn gone_is_done() {
        let gone = IamError {
            status: 404,
            code: "NoSuchEntity".into(),
            message: "no key".into(),
        };
        assert!(ok_if_gone(Err(gone)).is_ok());
        let denied = IamError {
            status: 403,
            code: "AccessDenied".into(),
            message: "no".into(),
        };
        assert!(matches!(
            ok_if_gone(Err(denied)),
            Err(PluginError::AuthFailed(_))
        ));
    }
}
