//! The Microsoft identity platform and Graph calls the rotator makes: a
//! client-credentials token, then Graph requests with it.

use keeper_plugin_sdk::PluginError;
use keeper_plugin_sdk::http::{self, Method, Request, Response, percent_encode as encode};
use serde_json::Value;

/// Responses are small; anything bigger is not Graph.
const MAX_BODY: usize = 1 << 20;

/// A national cloud: where to sign in and where Graph is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cloud {
    /// The identity platform's origin.
    pub login: &'static str,
    /// Graph's origin.
    pub graph: &'static str,
}

/// The clouds, as Commander matches `cmdr:azure_cloud` (by substring).
pub fn cloud(name: Option<&str>) -> Result<Cloud, PluginError> {
    let name = name.unwrap_or("").trim().to_ascii_lowercase();
    let pick = |login, graph| Ok(Cloud { login, graph });
    if name.is_empty() || name.contains("global") || name.contains("azurecloud") {
        pick(
            "https://login.microsoftonline.com",
            "https://graph.microsoft.com",
        )
    } else if name.contains("china") {
        pick(
            "https://login.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
        )
    } else if name.contains("usgov") {
        pick(
            "https://login.microsoftonline.us",
            "https://graph.microsoft.us",
        )
    } else if name.contains("german") {
        pick(
            "https://login.microsoftonline.de",
            "https://graph.microsoft.de",
        )
    } else {
        Err(PluginError::InvalidConfig(format!(
            "cmdr:azure_cloud {name:?} is none of global, china, usgov, german"
        )))
    }
}

/// Where to send requests: a cloud's two origins, or one given origin
/// (`cmdr:endpoint_url`) for both.
pub struct Endpoints {
    /// Sign-in origin.
    pub login: String,
    /// Graph origin.
    pub graph: String,
}

/// An application's client credentials in a tenant.
pub struct App<'a> {
    /// Tenant id or domain.
    pub tenant: &'a str,
    /// Application (client) id.
    pub client_id: &'a str,
    /// Client secret.
    pub secret: &'a str,
}

/// A Graph session: a bearer token for `graph`.
pub struct Graph {
    origin: String,
    token: String,
}

impl Graph {
    /// Gets a client-credentials token for Graph.
    pub fn sign_in(endpoints: &Endpoints, app: &App<'_>) -> Result<Self, PluginError> {
        let scope = format!("{}/.default", endpoints.graph);
        let form = [
            ("client_id", app.client_id),
            ("client_secret", app.secret),
            ("scope", scope.as_str()),
            ("grant_type", "client_credentials"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v, b"")))
        .collect::<Vec<_>>()
        .join("&");
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            endpoints.login,
            encode(app.tenant, b"")
        );
        let response = http::send(
            &Request::new(Method::Post, url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.into_bytes())
                .max_body(MAX_BODY),
        )?;
        let json = parse(&response)?;
        if response.status != 200 {
            return Err(sign_in_error(response.status, &json));
        }
        let token = json["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                PluginError::Rejected("the sign-in answer carries no access_token".into())
            })?;
        Ok(Self {
            origin: endpoints.graph.clone(),
            token: token.to_string(),
        })
    }

    /// `GET /v1.0/users/{user}`: the user's object, or Graph's error.
    pub fn user(&self, user: &str) -> Result<Value, PluginError> {
        let response = self.send(Method::Get, user, None)?;
        let json = parse(&response)?;
        if response.status == 200 {
            Ok(json)
        } else {
            Err(graph_error(response.status, &json))
        }
    }

    /// `PATCH /v1.0/users/{user}` with a new password profile.
    pub fn set_password(&self, user: &str, password: &str) -> Result<(), PluginError> {
        let body = serde_json::json!({
            "passwordProfile": {
                "password": password,
                "forceChangePasswordNextSignIn": false,
            }
        });
        let response = self.send(Method::Patch, user, Some(body.to_string().into_bytes()))?;
        if response.status == 204 || response.status == 200 {
            return Ok(());
        }
        Err(graph_error(response.status, &parse(&response)?))
    }

    fn send(
        &self,
        method: Method,
        user: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Response, PluginError> {
        // `@` stays (UPNs), `#` of guest UPNs (`#EXT#`) and everything else
        // outside the unreserved set is escaped: the login is one path segment.
        let url = format!("{}/v1.0/users/{}", self.origin, encode(user, b"@"));
        let mut request = Request::new(method, url)
            .header("authorization", format!("Bearer {}", self.token))
            .max_body(MAX_BODY);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        Ok(http::send(&request)?)
    }
}

/// The body as JSON (an empty body is `null`).
fn parse(response: &Response) -> Result<Value, PluginError> {
    if response.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&response.body).map_err(|_| {
        PluginError::Rejected(format!(
            "HTTP {} with a body that is not JSON",
            response.status
        ))
    })
}

/// An identity-platform error (`{"error": "...", "error_description": "..."}`).
pub fn sign_in_error(status: u16, json: &Value) -> PluginError {
    let code = json["error"].as_str().unwrap_or("");
    // The description's first line is the AADSTS text; the rest is trace ids.
    let description = json["error_description"]
        .as_str()
        .and_then(|d| d.lines().next())
        .unwrap_or("");
    let text = format!("sign-in failed (HTTP {status}): {code}: {description}");
    match code {
        "invalid_client" | "unauthorized_client" => PluginError::AuthFailed(text),
        "invalid_request" | "invalid_scope" => PluginError::InvalidConfig(text),
        _ if status >= 500 => PluginError::Unreachable(text),
        _ => PluginError::AuthFailed(text),
    }
}

/// A Graph error (`{"error": {"code": "...", "message": "..."}}`).
pub fn graph_error(status: u16, json: &Value) -> PluginError {
    let code = json["error"]["code"].as_str().unwrap_or("");
    let message = json["error"]["message"].as_str().unwrap_or("");
    let text = format!("Graph {code} (HTTP {status}): {message}");
    match (status, code) {
        (401, _) => PluginError::AuthFailed(text),
        (403, _) | (_, "Authorization_RequestDenied") => PluginError::AuthFailed(format!(
            "{text}; give the application the User Administrator or Helpdesk Administrator \
             role (or User.ReadWrite.All with the right directory role) to reset passwords"
        )),
        (404, _) | (_, "Request_ResourceNotFound") => PluginError::InvalidConfig(text),
        (429, _) => PluginError::Unreachable(text),
        (s, _) if s >= 500 => PluginError::Unreachable(text),
        _ => PluginError::Rejected(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clouds_match_by_substring_as_commander() {
        assert_eq!(
            cloud(None).expect("global").graph,
            "https://graph.microsoft.com"
        );
        assert_eq!(
            cloud(Some("AzureChinaCloud")).expect("china").login,
            "https://login.chinacloudapi.cn"
        );
        assert_eq!(
            cloud(Some("AzureUSGovernment")).expect("usgov").graph,
            "https://graph.microsoft.us"
        );
        assert_eq!(
            cloud(Some("german")).expect("german").graph,
            "https://graph.microsoft.de"
        );
        assert!(matches!(
            cloud(Some("mars")),
            Err(PluginError::InvalidConfig(_))
        ));
    }

    #[test]
    fn errors_keep_the_service_code_and_category() {
        let e = sign_in_error(
            401,
            &json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}),
        );
        assert!(
            matches!(&e, PluginError::AuthFailed(m) if m.ends_with("invalid_client: AADSTS7000215: Invalid client secret provided.")),
            "{e:?}"
        );
        let e = graph_error(
            403,
            &json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}}),
        );
        assert!(matches!(&e, PluginError::AuthFailed(m) if m.contains("Helpdesk Administrator")));
        let e = graph_error(
            404,
            &json!({"error": {"code": "Request_ResourceNotFound", "message": "no"}}),
        );
        assert!(matches!(e, PluginError::InvalidConfig(_)));
        let e = graph_error(
            400,
            &json!({"error": {"code": "Request_BadRequest", "message": "complexity"}}),
        );
        assert!(matches!(e, PluginError::Rejected(_)));
    }

    #[test]
    fn a_login_is_one_path_segment() {
        assert_eq!(
            encode("guest_x.com#EXT#@t.onmicrosoft.com", b"@"),
            "guest_x.com%23EXT%23@t.onmicrosoft.com"
        );
        assert_eq!(encode("../../me?x", b"@"), "..%2F..%2Fme%3Fx");
    }
}
