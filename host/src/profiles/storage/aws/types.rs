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
    /// A region that is not a region's name.
    #[error(
        "the AWS region {0:?} is not a region name (lowercase letters, digits and dashes, at most 32)"
    )]
    BadRegion(String),
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

/// The most GetSecretValue may answer (a secret is at most 64 KiB,
/// base64 and JSON around it included).
pub(super) const MAX_SECRET_ANSWER: usize = 256 * 1024;
/// The most a metadata service answer may be.
pub(super) const MAX_IMDS_ANSWER: usize = 16 * 1024;
/// The most an AWS CLI file (credentials, config) may be.
pub(super) const MAX_AWS_FILE: u64 = 64 * 1024;

/// A response's body as text, refused once it grows past `max` bytes (a
/// hostile or broken peer cannot fill memory).
pub(super) async fn body(
    mut response: reqwest::Response,
    max: usize,
) -> Result<zeroize::Zeroizing<String>, String> {
    let hint = response.content_length().unwrap_or(0);
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(
        usize::try_from(hint).unwrap_or(0).min(max),
    ));
    while let Some(chunk) = response.chunk().await.map_err(|e| chain(&e))? {
        if bytes.len() + chunk.len() > max {
            return Err(format!("the answer is larger than {max} bytes"));
        }
        if bytes.capacity() < bytes.len() + chunk.len() {
            // Grow into a new buffer so the old one is wiped, not freed as is.
            let mut bigger =
                Vec::with_capacity((bytes.len() + chunk.len()).max(bytes.len() * 2).min(max));
            bigger.extend_from_slice(&bytes);
            *bytes = bigger;
        }
        bytes.extend_from_slice(&chunk);
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| "the answer is not UTF-8 text".to_string())?;
    Ok(zeroize::Zeroizing::new(text.to_string()))
}

/// An error and its causes on one line (reqwest's own text names only
/// the URL): the HTTP capability's.
pub(crate) use crate::runtime::capability::http_client::chain;

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    /// A one-shot HTTP server on loopback answering `body` (a stand-in for
    /// AWS or the metadata service sending too much).
    fn serve(body: Vec<u8>, chunked: bool) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = if chunked {
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                    .to_string()
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                )
            };
            let _ = s.write_all(head.as_bytes());
            if chunked {
                for part in body.chunks(8192) {
                    let _ = s.write_all(format!("{:x}\r\n", part.len()).as_bytes());
                    let _ = s.write_all(part);
                    let _ = s.write_all(b"\r\n");
                }
                let _ = s.write_all(b"0\r\n\r\n");
            } else {
                let _ = s.write_all(&body);
            }
        });
        format!("http://{addr}/")
    }

    fn read(url: &str, max: usize) -> Result<String, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let response = reqwest::Client::new().get(url).send().await.expect("send");
            super::body(response, max).await.map(|t| t.to_string())
        })
    }

    #[test]
    fn answers_are_capped() {
        for chunked in [false, true] {
            let big = vec![b'a'; super::MAX_SECRET_ANSWER + 1];
            let err = read(&serve(big, chunked), super::MAX_SECRET_ANSWER).expect_err("too big");
            assert_eq!(
                err,
                format!(
                    "the answer is larger than {} bytes",
                    super::MAX_SECRET_ANSWER
                )
            );
            let exact = vec![b'b'; super::MAX_IMDS_ANSWER];
            let ok = read(&serve(exact, chunked), super::MAX_IMDS_ANSWER).expect("at the cap");
            assert_eq!(ok.len(), super::MAX_IMDS_ANSWER);
            let err = read(&serve(vec![0xff; 10], chunked), 100).expect_err("not text");
            assert_eq!(err, "the answer is not UTF-8 text");
        }
    }
}
