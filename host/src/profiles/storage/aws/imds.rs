//! The EC2 instance role's credentials and the instance's region through
//! the instance metadata service, version 2 (a session token first, then
//! GETs carrying it). The endpoint is `AWS_EC2_METADATA_SERVICE_ENDPOINT`,
//! else `http://169.254.169.254`; `AWS_EC2_METADATA_DISABLED=true` turns it
//! off. Short timeouts: off EC2 nothing answers there.

use std::time::Duration;

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::types::{AwsError, Credentials, MAX_IMDS_ANSWER, body, chain};

const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
const TOKEN_TTL: &str = "21600";

fn endpoint() -> String {
    std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.into())
        .trim_end_matches('/')
        .to_string()
}

fn failure(why: String) -> AwsError {
    AwsError::Credentials {
        using: format!("the EC2 instance role (metadata service {})", endpoint()),
        why,
    }
}

/// One metadata call's body.
async fn call(request: reqwest::RequestBuilder, what: &str) -> Result<Zeroizing<String>, AwsError> {
    let response = request
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .map_err(|e| failure(format!("{what}: {}", chain(&e))))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failure(format!("{what}: HTTP {status}")));
    }
    body(response, MAX_IMDS_ANSWER)
        .await
        .map_err(|why| failure(format!("{what}: {why}")))
}

/// A session token, then GET `path` with it.
async fn get(
    http: &reqwest::Client,
    path: &str,
    what: &str,
) -> Result<Zeroizing<String>, AwsError> {
    if std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        return Err(failure("AWS_EC2_METADATA_DISABLED is set".into()));
    }
    let base = endpoint();
    let token = call(
        http.put(format!("{base}/latest/api/token"))
            .header("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL),
        "the session token",
    )
    .await?;
    call(
        http.get(format!("{base}{path}"))
            .header("x-aws-ec2-metadata-token", token.trim()),
        what,
    )
    .await
}

/// The instance role's temporary credentials.
///
/// # Errors
///
/// [`AwsError::Credentials`].
pub async fn credentials(http: &reqwest::Client) -> Result<Credentials, AwsError> {
    const ROLES: &str = "/latest/meta-data/iam/security-credentials/";
    let roles = get(http, ROLES, "the instance role").await?;
    let role = roles
        .lines()
        .next()
        .map(str::trim)
        .filter(|r| !r.is_empty() && !r.contains(['/', '?', '#']))
        .ok_or_else(|| failure("the instance has no IAM role".into()))?
        .to_string();
    let body = get(http, &format!("{ROLES}{role}"), "the role's credentials").await?;
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        code: Option<String>,
        access_key_id: Option<String>,
        secret_access_key: Option<Zeroizing<String>>,
        token: Option<Zeroizing<String>>,
    }
    let answer: Answer = serde_json::from_str(&body)
        .map_err(|_| failure(format!("the credentials of role {role} are not JSON")))?;
    if let Some(code) = answer.code.as_deref().filter(|c| *c != "Success") {
        return Err(failure(format!("role {role}: {code}")));
    }
    match (answer.access_key_id, answer.secret_access_key) {
        (Some(id), Some(secret)) => Ok(Credentials {
            access_key_id: id,
            secret_access_key: SecretString::from(secret.as_str()),
            session_token: answer.token.map(|t| SecretString::from(t.as_str())),
            using: format!("the EC2 instance role {role}"),
        }),
        _ => Err(failure(format!(
            "role {role}: the answer has no access key"
        ))),
    }
}

/// The instance's region.
///
/// # Errors
///
/// [`AwsError::Credentials`] (the metadata service failed).
pub async fn region(http: &reqwest::Client) -> Result<String, AwsError> {
    let region = get(http, "/latest/meta-data/placement/region", "the region").await?;
    Ok(region.trim().to_string())
}
