//! AWS credentials: an access key (from keeper.ini or the environment), a
//! profile of the AWS CLI's files (`AWS_SHARED_CREDENTIALS_FILE`, default
//! `~/.aws/credentials`, and `AWS_CONFIG_FILE`, default `~/.aws/config`),
//! or the instance role ([`super::imds`]); and the default chain in that
//! order (environment, `AWS_PROFILE` or `default`, instance role).

use std::path::PathBuf;

use secrecy::{ExposeSecret as _, SecretString};

use super::imds;
use super::types::{AwsError, Credentials, Found, MAX_AWS_FILE};
use crate::runtime::files::{CheckedReadError, read_checked};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`).
fn from_env() -> Option<Credentials> {
    let id = env("AWS_ACCESS_KEY_ID")?;
    let secret = SecretString::from(env("AWS_SECRET_ACCESS_KEY")?);
    Some(Credentials {
        using: format!("the access key {id} in AWS_ACCESS_KEY_ID"),
        access_key_id: id,
        secret_access_key: secret,
        session_token: env("AWS_SESSION_TOKEN").map(SecretString::from),
    })
}

/// One of the AWS CLI's files: from `var`, else `~/.aws/NAME`.
fn aws_file(var: &str, name: &str) -> Option<PathBuf> {
    env(var)
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".aws").join(name)))
}

/// The section `section` of the INI file at `path` as owned pairs (an
/// absent file or section: none).
fn section(path: Option<&PathBuf>, section: &str) -> Result<Vec<(String, SecretString)>, String> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let bytes = match read_checked(path, MAX_AWS_FILE, false) {
        Ok(b) => b,
        Err(CheckedReadError::Missing) => return Ok(Vec::new()),
        Err(e) => return Err(format!("{} {e}", path.display())),
    };
    let text =
        std::str::from_utf8(&bytes).map_err(|_| format!("{} is not text", path.display()))?;
    let ini = ini::Ini::load_from_str_noescape(&text)
        .map_err(|e| format!("{}: line {}: {}", path.display(), e.line, e.msg))?;
    Ok(ini
        .section(Some(section))
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), SecretString::from(v.trim())))
                .collect()
        })
        .unwrap_or_default())
}

/// Profile `name` of the AWS CLI's files: its keys (the credentials file
/// first, then the config file), and its region and endpoint into `found`.
///
/// # Errors
///
/// [`AwsError::Credentials`] when the files cannot be read or the profile
/// has no access key.
pub fn profile(name: &str, found: &mut Found) -> Result<Credentials, AwsError> {
    let using = format!("the AWS profile {name:?}");
    let fail = |why: String| AwsError::Credentials {
        using: using.clone(),
        why,
    };
    let credentials_file = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_file = aws_file("AWS_CONFIG_FILE", "config");
    let config_section = if name == "default" {
        name.to_string()
    } else {
        format!("profile {name}")
    };
    let mut pairs = section(credentials_file.as_ref(), name).map_err(fail)?;
    pairs.extend(section(config_file.as_ref(), &config_section).map_err(fail)?);
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.expose_secret().is_empty())
    };
    found.region = get("region").map(|r| r.expose_secret().to_string());
    found.endpoint = get("endpoint_url").map(|r| r.expose_secret().to_string());
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Credentials {
            access_key_id: id.expose_secret().to_string(),
            secret_access_key: secret,
            session_token: get("aws_session_token"),
            using,
        }),
        _ => Err(fail(format!(
            "no aws_access_key_id and aws_secret_access_key for it in {}",
            credentials_file
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "~/.aws/credentials".into())
        ))),
    }
}

/// The default chain: the environment, the `AWS_PROFILE` (else `default`)
/// profile, the instance role (through `imds_http`).
///
/// # Errors
///
/// [`AwsError::Credentials`] when none gives credentials.
pub async fn default_chain(
    imds_http: &reqwest::Client,
    found: &mut Found,
) -> Result<Credentials, AwsError> {
    if let Some(c) = from_env() {
        return Ok(c);
    }
    let name = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let profile_failure = match profile(&name, found) {
        Ok(c) => return Ok(c),
        Err(e) => e,
    };
    match imds::credentials(imds_http).await {
        Ok(c) => {
            found.instance = true;
            Ok(c)
        }
        Err(imds_failure) => Err(AwsError::Credentials {
            using: "the default AWS credential chain".into(),
            why: format!("AWS_ACCESS_KEY_ID is not set; {profile_failure}; {imds_failure}"),
        }),
    }
}
