//! `storage = aws`: the configuration is an AWS Secrets Manager secret,
//! read with GetSecretValue (SigV4 from the `keeper-aws-sigv4` crate the
//! AWS rotators use, over reqwest). Credentials ([`credentials`]): the
//! keys in keeper.ini (`provider = keys`), an AWS CLI profile
//! (`provider = profile`), or the EC2 instance role through IMDSv2
//! (`provider = ec2instance`, [`imds`]); with `fallback = true`, when
//! those fail (missing, or refused by AWS), the default AWS chain
//! (environment, then the `AWS_PROFILE`/default profile, then the instance
//! role) is tried once.
//!
//! Region: `--region`, else `AWS_REGION`/`AWS_DEFAULT_REGION`, else the
//! AWS profile's `region`, else the instance's (IMDS). Endpoint:
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`, else `AWS_ENDPOINT_URL`, else the
//! profile's `endpoint_url`, else `https://secretsmanager.REGION.amazonaws.com`.

mod client;
mod credentials;
mod imds;
mod types;

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::profiles::ProfileError;
pub use types::AwsError;
use types::Found;

/// Where the credentials come from (`provider` in keeper.ini).
#[derive(Clone, Default)]
pub enum Provider {
    /// The EC2 instance role (IMDSv2).
    #[default]
    Ec2Instance,
    /// A profile of the AWS CLI's files (`credentials_profile`).
    Profile(String),
    /// An access key kept in keeper.ini.
    Keys {
        /// The access key id.
        access_key_id: String,
        /// The secret access key.
        secret_access_key: SecretString,
    },
}

impl Provider {
    /// As keeper.ini spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ec2Instance => "ec2instance",
            Self::Profile(_) => "profile",
            Self::Keys { .. } => "keys",
        }
    }
}

/// How to reach AWS Secrets Manager.
#[derive(Clone, Default)]
pub struct AwsSpec {
    /// Whose credentials.
    pub provider: Provider,
    /// The region, when given.
    pub region: Option<String>,
    /// Fall back to the default AWS credentials when these fail.
    pub fallback: bool,
}

impl fmt::Debug for AwsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSpec")
            .field("provider", &self.provider.name())
            .field("region", &self.region)
            .field("fallback", &self.fallback)
            .finish()
    }
}

const REGION: &str = "region";
const PROFILE: &str = "credentials_profile";
const KEY_ID: &str = "aws_access_key_id";
const KEY_SECRET: &str = "aws_secret_access_key";
const FALLBACK: &str = "fallback";

impl AwsSpec {
    /// From an INI section's pairs (other than `storage` and `secret`).
    pub(crate) fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        what: &str,
    ) -> Result<Self, ProfileError> {
        let malformed = |why: String| ProfileError::Malformed(format!("{what}: {why}"));
        let (mut provider, mut region, mut profile, mut id, mut secret, mut fallback) =
            (None, None, None, None, None, false);
        for (k, v) in pairs {
            let v = v.to_string();
            match k.to_ascii_lowercase().as_str() {
                "provider" => provider = Some(v),
                REGION => region = Some(v),
                PROFILE => profile = Some(v),
                KEY_ID => id = Some(v),
                KEY_SECRET => secret = Some(SecretString::from(v)),
                FALLBACK => {
                    fallback = match v.to_ascii_lowercase().as_str() {
                        "true" | "yes" | "1" => true,
                        "false" | "no" | "0" => false,
                        _ => return Err(malformed(format!("fallback {v:?} is not true or false"))),
                    }
                }
                _ => return Err(malformed(format!("unknown key {k:?} for storage aws"))),
            }
        }
        let provider = match provider.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("ec2instance") => Provider::Ec2Instance,
            Some("profile") => Provider::Profile(profile.unwrap_or_else(|| "default".into())),
            Some("keys") => match (id, secret) {
                (Some(access_key_id), Some(secret_access_key)) => Provider::Keys {
                    access_key_id,
                    secret_access_key,
                },
                _ => {
                    return Err(malformed(format!(
                        "provider keys needs {KEY_ID} and {KEY_SECRET}"
                    )));
                }
            },
            Some(other) => {
                return Err(malformed(format!(
                    "provider {other:?} is none of ec2instance, profile, keys"
                )));
            }
        };
        let region = region.filter(|r| !r.is_empty());
        if let Some(r) = &region {
            check_region(r).map_err(|e| malformed(e.to_string()))?;
        }
        Ok(Self {
            provider,
            region,
            fallback,
        })
    }

    /// The pairs after `storage`, `provider` and `secret`.
    pub(crate) fn to_pairs(&self) -> Vec<(&'static str, Zeroizing<String>)> {
        let mut pairs = Vec::new();
        match &self.provider {
            Provider::Ec2Instance => {}
            Provider::Profile(name) => pairs.push((PROFILE, Zeroizing::new(name.clone()))),
            Provider::Keys {
                access_key_id,
                secret_access_key,
            } => {
                pairs.push((KEY_ID, Zeroizing::new(access_key_id.clone())));
                pairs.push((
                    KEY_SECRET,
                    Zeroizing::new(secret_access_key.expose_secret().to_string()),
                ));
            }
        }
        if let Some(r) = &self.region {
            pairs.push((REGION, Zeroizing::new(r.clone())));
        }
        if self.fallback {
            pairs.push((FALLBACK, Zeroizing::new("true".into())));
        }
        pairs
    }
}

/// Refuses a region that is not lowercase letters, digits and dashes (1
/// to 32): it goes into the endpoint's host name, and `x@evil.example/`
/// would send the signed request elsewhere.
///
/// # Errors
///
/// [`AwsError::BadRegion`].
pub fn check_region(region: &str) -> Result<(), AwsError> {
    let ok = (1..=32).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(AwsError::BadRegion(region.chars().take(40).collect()))
    }
}

/// The secret `secret`'s value (its SecretString, or its SecretBinary as
/// text). Runs on a thread of its own with its own small runtime, so it
/// can be called from synchronous code inside or outside tokio.
///
/// # Errors
///
/// [`AwsError`].
pub fn get_secret_value(spec: &AwsSpec, secret: &str) -> Result<Zeroizing<String>, AwsError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| AwsError::Answer(format!("cannot start the HTTP client: {e}")))?;
            runtime.block_on(fetch(spec, secret))
        })
        .join()
        .unwrap_or_else(|_| Err(AwsError::Answer("the AWS client failed".into())))
    })
}

async fn fetch(spec: &AwsSpec, secret: &str) -> Result<Zeroizing<String>, AwsError> {
    let client = |builder: reqwest::ClientBuilder| {
        builder
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AwsError::Answer(format!("cannot start the HTTP client: {e}")))
    };
    // AWS through the environment's proxy (HTTPS_PROXY, NO_PROXY) as the
    // AWS SDKs go; the instance's metadata service always directly.
    let http = Http {
        aws: client(
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(20)),
        )?,
        imds: client(
            reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(Duration::from_secs(1)),
        )?,
    };
    match attempt(&http, spec, false, secret).await {
        Err(first) if spec.fallback && first.is_credentials_failure() => {
            attempt(&http, spec, true, secret)
                .await
                .map_err(|second| AwsError::FallbackFailed {
                    first: Box::new(first),
                    second: Box::new(second),
                })
        }
        result => result,
    }
}

/// The HTTP clients: to AWS, and to the instance metadata service.
struct Http {
    aws: reqwest::Client,
    imds: reqwest::Client,
}

/// One try with the spec's credentials, or the default chain's.
async fn attempt(
    http: &Http,
    spec: &AwsSpec,
    default_chain: bool,
    secret: &str,
) -> Result<Zeroizing<String>, AwsError> {
    let mut found = Found::default();
    let creds = if default_chain {
        credentials::default_chain(&http.imds, &mut found).await?
    } else {
        match &spec.provider {
            Provider::Keys {
                access_key_id,
                secret_access_key,
            } => types::Credentials::keys(access_key_id, secret_access_key),
            Provider::Profile(name) => credentials::profile(name, &mut found)?,
            Provider::Ec2Instance => {
                found.instance = true;
                imds::credentials(&http.imds).await?
            }
        }
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut region = spec
        .region
        .clone()
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or(found.region.take());
    if region.is_none() && found.instance {
        region = imds::region(&http.imds).await.ok();
    }
    let region = region.ok_or(AwsError::NoRegion)?;
    check_region(&region)?;
    let endpoint = env("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or(found.endpoint.take())
        .unwrap_or_else(|| format!("https://secretsmanager.{region}.amazonaws.com"));
    client::get_secret_value(&http.aws, &endpoint, &region, &creds, secret).await
}
