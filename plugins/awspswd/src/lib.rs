//! keeper's AWS IAM console-password rotator (Commander's `awspswd`).
//!
//! Calls IAM's Query API over the sandbox's HTTP capability, signing every
//! request with SigV4 inside the plugin; the host sends it only to the
//! granted origin: `https://iam.amazonaws.com`, or the record's
//! `cmdr:endpoint_url` when it has one (an AWS-compatible endpoint: a VPC
//! endpoint, a GovCloud or China partition endpoint, a local stand-in).
//!
//! - **rotate**: `GetUser` first (the administrator's key works, the user
//!   exists: bad credentials or a missing user change nothing), then
//!   `UpdateLoginProfile` for the record's login (the IAM user name) with
//!   the new password, `PasswordResetRequired=false`; a user without a
//!   console password gets one with `CreateLoginProfile`, as Commander does.
//! - **verify**: `GetLoginProfile`, then `Unsupported`: AWS has no API that
//!   checks a console password, so this proves the profile exists, not the
//!   password (the manifest's `checks-passwords = false` tells the host,
//!   which then settles an interrupted rotation by setting the new
//!   password again: a set needs no old password).
//! - **revert**: `UpdateLoginProfile` with the old password.
//!
//! Parameters: `login` (the IAM user name), `cmdr:aws_access_key_id` and
//! `cmdr:aws_secret_access_key` (an administrator's key with
//! `iam:GetLoginProfile` and `iam:UpdateLoginProfile` on the user;
//! Commander reads an AWS profile from the machine instead, which a sandbox
//! cannot), `cmdr:aws_region` (signing region, default `us-east-1`) and
//! `cmdr:endpoint_url`. The record's own password is not needed: IAM
//! changes another user's password with the administrator's key.
//!
//! Every character is safe in a password (it is form-encoded); IAM's
//! password policy may still refuse it, which is reported as a rejection.

use keeper_aws_iam::iam::{self, check_user_name};
use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator, log};

/// The AWS password rotator.
pub struct Awspswd;

impl Rotator for Awspswd {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "awspswd",
            "Rotates AWS IAM console passwords (UpdateLoginProfile, signed in the sandbox)",
        )
        .required_params(["login", "aws_access_key_id", "aws_secret_access_key"])
        .max_length(128)
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        let client = client(req)?;
        user(&client, req.login())?;
        match set(&client, req.login(), req.new_password().expose()) {
            Err(PluginError::InvalidConfig(m)) if m.starts_with("IAM NoSuchEntity") => {
                log::info(&format!(
                    "{} has no console password: creating one",
                    req.login()
                ));
                set_with(
                    &client,
                    "CreateLoginProfile",
                    req.login(),
                    req.new_password().expose(),
                )
            }
            other => other,
        }
    }

    /// Checks the account (the key works, the user has a console
    /// password), then answers `Unsupported`: no AWS API checks a console
    /// password. The manifest says `checks-passwords = false`, so the host
    /// reads this as "checked what can be checked".
    fn verify(req: &Rotation) -> Result<(), PluginError> {
        profile(&client(req)?, req.login())?;
        Err(PluginError::Unsupported(
            "AWS has no API that checks a console password; the login profile exists".into(),
        ))
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        set(&client(req)?, req.login(), req.old_password().expose())
    }
}

/// The IAM client the record's parameters describe.
fn client(req: &Rotation) -> Result<iam::Client<'_>, PluginError> {
    let nonempty = |name: &str| req.param(name).map(str::trim).filter(|v| !v.is_empty());
    Ok(iam::Client {
        endpoint: nonempty("endpoint_url").unwrap_or(iam::DEFAULT_ENDPOINT),
        region: nonempty("aws_region").unwrap_or(iam::DEFAULT_REGION),
        access_key_id: req.require_param("aws_access_key_id")?.trim(),
        secret_access_key: req.require_param("aws_secret_access_key")?.trim(),
    })
}

/// Checks that IAM knows `user` (and that the key works).
fn user(client: &iam::Client<'_>, user: &str) -> Result<(), PluginError> {
    check_user_name(user)?;
    let body = client.call("GetUser", &[("UserName", user)])?;
    match iam::element(&body, "UserName") {
        Some(name) if name == user => Ok(()),
        _ => Err(PluginError::Rejected(format!(
            "IAM's GetUser answer does not name user {user:?}"
        ))),
    }
}

/// Checks that `user` has a console password (and that the key works).
fn profile(client: &iam::Client<'_>, user: &str) -> Result<(), PluginError> {
    check_user_name(user)?;
    let body = client.call("GetLoginProfile", &[("UserName", user)])?;
    match iam::element(&body, "UserName") {
        Some(name) if name == user => Ok(()),
        _ => Err(PluginError::Rejected(format!(
            "IAM's GetLoginProfile answer does not name user {user:?}"
        ))),
    }
}

/// Sets `user`'s console password. Once sent, a lost answer may or may not
/// have changed it: the host must check rather than assume.
fn set(client: &iam::Client<'_>, user: &str, password: &str) -> Result<(), PluginError> {
    set_with(client, "UpdateLoginProfile", user, password)
}

/// `UpdateLoginProfile` or `CreateLoginProfile` for `user`.
fn set_with(
    client: &iam::Client<'_>,
    action: &str,
    user: &str,
    password: &str,
) -> Result<(), PluginError> {
    check_user_name(user)?;
    if password.contains('\0') {
        return Err(PluginError::InvalidConfig(
            "the password contains NUL, which IAM refuses".into(),
        ));
    }
    client
        .call(
            action,
            &[
                ("UserName", user),
                ("Password", password),
                ("PasswordResetRequired", "false"),
            ],
        )
        .map(|_| ())
        .map_err(|e| match e {
            PluginError::Unreachable(_) | PluginError::Internal(_) => e.target_may_have_changed(),
            other => other,
        })
}

keeper_plugin_sdk::register_rotator!(Awspswd);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_awspswd() {
        let info = Awspswd::describe();
        assert_eq!(info.name, "awspswd");
        assert_eq!(info.default_port, None);
        assert_eq!(
            info.required_params,
            ["login", "aws_access_key_id", "aws_secret_access_key"]
        );
    }

    #[test]
    fn user_names_are_checked_before_any_request() {
        let req = Rotation::new("bad user", "old", "new")
            .with_param("aws_access_key_id", "AKID")
            .with_param("aws_secret_access_key", "s");
        assert!(matches!(
            Awspswd::rotate(&req),
            Err(PluginError::InvalidConfig(_))
        ));
    }

    #[test]
    fn missing_keys_are_a_configuration_error() {
        let req = Rotation::new("alice", "old", "new");
        assert!(matches!(
            Awspswd::verify(&req),
            Err(PluginError::InvalidConfig(m)) if m.contains("aws_access_key_id")
        ));
    }
}
