//! What the AWS client's parts share: credentials, what their source says
//! about the region and endpoint, and the errors.

use std::fmt;

use secrecy::SecretString;

/// One set of AWS credentials.
pub struct Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
    /// A session token (temporary credentials).
    pub session_token: Option<SecretString>,
    /// Where they came from, as a phrase for messages.
    pub using: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("using", &self.using)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The access key kept in keeper.ini.
    pub fn keys(id: &str, secret: &SecretString) -> Self {
        Self {
            access_key_id: id.to_string(),
            secret_access_key: secret.clone(),
            session_token: None,
            using: format!("the access key {id} in keeper.ini"),
        }
    }
}

/// Why AWS gave no secret. Never holds a secret key, a session token or
/// the secret's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsError {
    /// No credentials could be had from the provider.
    #[error("no AWS credentials from {using}: {why}")]
    Credentials {
        /// The provider, as a phrase.
        using: String,
        /// Why.
        why: String,
    },
    /// No region anywhere.
    #[error("no AWS region: give --region, set AWS_REGION, or set a region in the AWS profile")]
    NoRegion,
    /// The endpoint did not answer.
    #[error("AWS Secrets Manager at {endpoint} could not be reached: {why}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// Why.
        why: String,
    },
    /// AWS answered with an error.
    #[error(
        "AWS Secrets Manager refused to read the secret {secret:?} with {using}: {code}: {message}"
    )]
    Refused {
        /// The secret id.
        secret: String,
        /// The credentials used, as a phrase.
        using: String,
        /// The HTTP status.
        status: u16,
        /// AWS's error code (e.g. ResourceNotFoundException).
        code: String,
        /// AWS's message.
        message: String,
    },
    /// An answer keeper cannot read.
    #[error("AWS Secrets Manager: {0}")]
    Answer(String),
    /// The given credentials failed and so did the default chain.
    #[error("{first}; the fallback to the default AWS credentials failed too: {second}")]
    FallbackFailed {
        /// The given credentials' failure.
        first: Box<AwsError>,
        /// The default chain's.
        second: Box<AwsError>,
    },
}

impl AwsError {
    /// Whether the credentials themselves failed (what `fallback` covers).
    pub(super) fn is_credentials_failure(&self) -> bool {
        match self {
            Self::Credentials { .. } => true,
            Self::Refused { status, code, .. } => {
                *status == 403
                    || [
                        "UnrecognizedClientException",
                        "InvalidSignatureException",
                        "SignatureDoesNotMatch",
                        "AccessDeniedException",
                        "ExpiredTokenException",
                        "IncompleteSignature",
                        "InvalidClientTokenId",
                    ]
                    .contains(&code.as_str())
            }
            _ => false,
        }
    }
}

/// What the credentials' source also says about where to go.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// A region from the AWS profile.
    pub region: Option<String>,
    /// An endpoint from the AWS profile.
    pub endpoint: Option<String>,
    /// The credentials came from the instance role (so may the region).
    pub instance: bool,
}

/// An error and its causes on one line (reqwest's own text names only
/// the URL).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
