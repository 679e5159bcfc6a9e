//! The few IAM Query API calls the rotator makes, signed with SigV4 and
//! sent through the sandbox's HTTP capability to the one granted origin.

use keeper_plugin_sdk::PluginError;
use keeper_plugin_sdk::http::{self, Method, Request};

use crate::sigv4::{self, Signer, Unsigned};

/// IAM's API version.
const VERSION: &str = "2010-05-08";
/// IAM's one global endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://iam.amazonaws.com";
/// IAM signs in us-east-1 whatever the caller's region.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Responses are small; anything bigger is not IAM.
const MAX_BODY: usize = 1 << 20;

/// Where and as whom to call IAM.
pub struct Client<'a> {
    /// `scheme://host[:port]`, no path.
    pub endpoint: &'a str,
    /// Signing region.
    pub region: &'a str,
    /// The administrator's access key id.
    pub access_key_id: &'a str,
    /// Its secret.
    pub secret_access_key: &'a str,
}

impl Client<'_> {
    /// Calls `action` with `params`; the response body on success.
    pub fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<String, PluginError> {
        let authority = self
            .endpoint
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'))
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| {
                PluginError::InvalidConfig(format!(
                    "cmdr:endpoint_url {:?} is not scheme://host[:port]",
                    self.endpoint
                ))
            })?;
        let mut form = vec![("Action", action), ("Version", VERSION)];
        form.extend_from_slice(params);
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| PluginError::Internal("the clock is before 1970".into()))?
            .as_secs();
        let amz_date = sigv4::amz_date(now);
        let signed = sigv4::sign(
            &Unsigned {
                method: "POST",
                authority,
                path: "/",
                query: "",
                headers: &[("content-type", content_type)],
                body: body.as_bytes(),
            },
            &Signer {
                access_key_id: self.access_key_id,
                secret_access_key: self.secret_access_key,
                region: self.region,
                service: "iam",
                amz_date: &amz_date,
            },
        );
        let mut request = Request::new(
            Method::Post,
            format!("{}/", self.endpoint.trim_end_matches('/')),
        )
        .header("content-type", content_type)
        .body(body.into_bytes())
        .max_body(MAX_BODY);
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let response = http::send(&request)?;
        let text = response.text();
        if response.status == 200 {
            return Ok(text);
        }
        Err(error(response.status, &text))
    }
}

/// `application/x-www-form-urlencoded` as AWS's SDKs write it (Python's
/// `quote_plus`): RFC 3986 escaping with `+` for a space. The signature
/// covers these exact bytes; AWS-compatible servers that re-encode the
/// parsed form to check it (moto) expect this form too.
fn form_encode(text: &str) -> String {
    sigv4::uri_encode(text).replace("%20", "+")
}

/// An IAM error response as a plugin error, keeping IAM's code and message.
pub fn error(status: u16, body: &str) -> PluginError {
    let code = element(body, "Code").unwrap_or_default();
    let message = element(body, "Message").unwrap_or_default();
    let text = if code.is_empty() {
        format!("IAM answered HTTP {status}")
    } else if code == "InvalidClientTokenId" {
        format!("IAM {code}: {message} (a key created moments ago can take a few seconds to work)")
    } else {
        format!("IAM {code}: {message}")
    };
    match code.as_str() {
        "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "AccessDenied"
        | "AccessDeniedException"
        | "ExpiredToken"
        | "UnrecognizedClientException" => PluginError::AuthFailed(text),
        "NoSuchEntity" | "ValidationError" | "InvalidInput" => PluginError::InvalidConfig(text),
        "PasswordPolicyViolation" | "EntityTemporarilyUnmodifiable" | "LimitExceeded" => {
            PluginError::Rejected(text)
        }
        _ if status >= 500 || code == "Throttling" || code == "ServiceFailure" => {
            PluginError::Unreachable(text)
        }
        _ => PluginError::Rejected(text),
    }
}

/// The text of the first `<name>…</name>` element, XML entities decoded.
pub fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_iams_code_and_category() {
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>\
                    <Message>The request signature &amp; more</Message></Error></ErrorResponse>";
        let e = error(403, body);
        assert!(
            matches!(&e, PluginError::AuthFailed(m) if m == "IAM SignatureDoesNotMatch: The request signature & more"),
            "{e:?}"
        );
        assert!(matches!(
            error(404, "<Code>NoSuchEntity</Code><Message>no user</Message>"),
            PluginError::InvalidConfig(_)
        ));
        assert!(matches!(
            error(
                400,
                "<Code>PasswordPolicyViolation</Code><Message>short</Message>"
            ),
            PluginError::Rejected(_)
        ));
        assert!(matches!(error(503, "oops"), PluginError::Unreachable(_)));
    }

    #[test]
    fn forms_encode_as_the_sdks_do() {
        assert_eq!(form_encode("a b+c&d=é~"), "a+b%2Bc%26d%3D%C3%A9~");
    }

    #[test]
    fn a_bad_endpoint_is_a_configuration_error_before_any_request() {
        let client = Client {
            endpoint: "iam.example.com/path",
            region: DEFAULT_REGION,
            access_key_id: "AKID",
            secret_access_key: "secret",
        };
        assert!(matches!(
            client.call("GetUser", &[]),
            Err(PluginError::InvalidConfig(_))
        ));
    }
}
