//! keeper's Azure AD (Microsoft Entra ID) password rotator (Commander's
//! `azureadpwd`).
//!
//! Signs in as an application with client credentials, then resets the
//! user's password through Microsoft Graph, all over the sandbox's HTTP
//! capability to the cloud's two origins (or the record's one
//! `cmdr:endpoint_url`).
//!
//! - **rotate**: token, `GET /v1.0/users/{login}` (the application may read
//!   the user: a wrong secret, a missing role or a missing user changes
//!   nothing), then `PATCH /v1.0/users/{login}` with
//!   `{"passwordProfile": {"password": NEW, "forceChangePasswordNextSignIn": false}}`.
//! - **verify**: token and `GET` of the user, then `Unsupported`: Graph has
//!   no call that checks a password (only an interactive sign-in would);
//!   the manifest's `checks-passwords = false` tells the host, which then
//!   settles an interrupted rotation by setting the new password again.
//! - **revert**: `PATCH` with the old password (Commander has no revert).
//!
//! Parameters: `login` (the user's object id or UPN),
//! `cmdr:azure_tenant_id`, `cmdr:azure_client_id`, `cmdr:azure_secret` (the
//! application's client secret; keep it in a hidden field, its value is
//! masked in all plugin output), `cmdr:azure_cloud` (`global`, `china`,
//! `usgov`, `german`; matched by substring as Commander does) and
//! `cmdr:endpoint_url`.

mod graph;

use keeper_plugin_sdk::{PluginError, PluginInfo, Rotation, Rotator};

use graph::{App, Endpoints, Graph};

/// The Azure AD rotator.
pub struct Azureadpwd;

impl Rotator for Azureadpwd {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "azureadpwd",
            "Rotates Azure AD user passwords through Microsoft Graph",
        )
        .required_params([
            "login",
            "azure_tenant_id",
            "azure_client_id",
            "azure_secret",
        ])
        .max_length(256)
    }

    fn rotate(req: &Rotation) -> Result<(), PluginError> {
        let user = login(req)?;
        let graph = sign_in(req)?;
        graph.user(user)?;
        set(&graph, req, req.new_password().expose())
    }

    fn verify(req: &Rotation) -> Result<(), PluginError> {
        let user = login(req)?;
        let user = sign_in(req)?.user(user)?;
        if user["id"].as_str().is_none_or(str::is_empty) {
            return Err(PluginError::Rejected(
                "Graph's answer for the user carries no id".into(),
            ));
        }
        Err(PluginError::Unsupported(
            "Graph has no call that checks a password; the user exists".into(),
        ))
    }

    fn revert(req: &Rotation) -> Result<(), PluginError> {
        login(req)?;
        set(&sign_in(req)?, req, req.old_password().expose())
    }
}

/// Resets the password; once sent, a lost answer may or may not have
/// changed it, so the host must check rather than assume.
fn set(graph: &Graph, req: &Rotation, password: &str) -> Result<(), PluginError> {
    graph
        .set_password(login(req)?, password)
        .map_err(|e| match e {
            PluginError::Unreachable(_) | PluginError::Internal(_) => e.target_may_have_changed(),
            other => other,
        })
}

/// The user: an object id or a UPN, nothing that could leave its path segment.
fn login(req: &Rotation) -> Result<&str, PluginError> {
    let login = req.login().trim();
    if login.is_empty() || login.len() > 256 || login.chars().any(char::is_control) {
        return Err(PluginError::InvalidConfig(format!(
            "{login:?} is not an Azure AD object id or user principal name"
        )));
    }
    Ok(login)
}

fn sign_in(req: &Rotation) -> Result<Graph, PluginError> {
    let nonempty = |name: &str| req.param(name).map(str::trim).filter(|v| !v.is_empty());
    let tenant = req.require_param("azure_tenant_id")?.trim();
    if !tenant
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
    {
        return Err(PluginError::InvalidConfig(format!(
            "cmdr:azure_tenant_id {tenant:?} is not a tenant id or domain"
        )));
    }
    let endpoints = match nonempty("endpoint_url") {
        Some(origin) => {
            let origin = origin.trim_end_matches('/').to_string();
            Endpoints {
                login: origin.clone(),
                graph: origin,
            }
        }
        None => {
            let cloud = graph::cloud(nonempty("azure_cloud"))?;
            Endpoints {
                login: cloud.login.into(),
                graph: cloud.graph.into(),
            }
        }
    };
    Graph::sign_in(
        &endpoints,
        &App {
            tenant,
            client_id: req.require_param("azure_client_id")?.trim(),
            secret: req.require_param("azure_secret")?.trim(),
        },
    )
}

keeper_plugin_sdk::register_rotator!(Azureadpwd);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_azureadpwd() {
        let info = Azureadpwd::describe();
        assert_eq!(info.name, "azureadpwd");
        assert_eq!(
            info.required_params,
            [
                "login",
                "azure_tenant_id",
                "azure_client_id",
                "azure_secret"
            ]
        );
    }

    #[test]
    fn bad_parameters_are_refused_before_any_request() {
        let base = |login: &str, tenant: &str| {
            Rotation::new(login, "old", "new")
                .with_param("azure_tenant_id", tenant)
                .with_param("azure_client_id", "app")
                .with_param("azure_secret", "s")
        };
        assert!(matches!(
            Azureadpwd::rotate(&base("a@b.c", "t/../x")),
            Err(PluginError::InvalidConfig(m)) if m.contains("azure_tenant_id")
        ));
        assert!(matches!(
            Azureadpwd::rotate(&base("a\nb", "tenant")),
            Err(PluginError::InvalidConfig(_))
        ));
        assert!(matches!(
            Azureadpwd::rotate(&base("a@b.c", "t").with_param("azure_cloud", "mars")),
            Err(PluginError::InvalidConfig(m)) if m.contains("mars")
        ));
    }
}
