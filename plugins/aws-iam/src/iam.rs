//! The IAM Query API calls keeper's rotators make, signed with SigV4 and
//! sent through the sandbox's HTTP capability to the one granted origin.

use keeper_plugin_sdk::PluginError;
use keeper_plugin_sdk::http::{self, Method, Request, percent_encode};

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
    /// The access key id that signs.
    pub access_key_id: &'a str,
    /// Its secret.
    pub secret_access_key: &'a str,
}

/// An error response from IAM: its HTTP status, code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamError {
    /// The HTTP status.
    pub status: u16,
    /// IAM's error code (`NoSuchEntity`, `LimitExceeded`...), empty when
    /// the body had none.
    pub code: String,
    /// IAM's message.
    pub message: String,
}

impl IamError {
    /// Reads an error response body.
    pub fn parse(status: u16, body: &str) -> Self {
        Self {
            status,
            code: element(body, "Code").unwrap_or_default(),
            message: element(body, "Message").unwrap_or_default(),
        }
    }

    /// As a plugin error, keeping IAM's code and message, in the category
    /// the host acts on (refused credentials, bad configuration, a refusal,
    /// an outage).
    pub fn into_plugin_error(self) -> PluginError {
        let Self {
            status,
            code,
            message,
        } = self;
        let text = if code.is_empty() {
            format!("IAM answered HTTP {status}")
        } else if code == "InvalidClientTokenId" {
            format!(
                "IAM {code}: {message} (a key created moments ago can take a few seconds to work)"
            )
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
}

impl Client<'_> {
    /// Calls `action` with `params`; the response body on success.
    ///
    /// Fails with IAM's error as [`IamError::into_plugin_error`] says, or
    /// as the request failed on the way.
    pub fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<String, PluginError> {
        self.try_call(action, params)?
            .map_err(IamError::into_plugin_error)
    }

    /// Calls `action` with `params`: `Ok(Ok(body))` on success,
    /// `Ok(Err(_))` when IAM answered with an error (for callers that act
    /// on its code, e.g. `NoSuchEntity` when deleting what is gone).
    ///
    /// Fails with [`PluginError::InvalidConfig`] for an endpoint that is not
    /// `scheme://host[:port]` (before any request) and as
    /// [`http::send`] fails.
    pub fn try_call(
        &self,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Result<String, IamError>, PluginError> {
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
            return Ok(Ok(text));
        }
        Ok(Err(IamError::parse(response.status, &text)))
    }
}

/// `application/x-www-form-urlencoded` as AWS's SDKs write it (Python's
/// `quote_plus`): RFC 3986 escaping with `+` for a space. The signature
/// covers these exact bytes; AWS-compatible servers that re-encode the
/// parsed form to check it (moto) expect this form too.
pub fn form_encode(text: &str) -> String {
    percent_encode(text, b"").replace("%20", "+")
}

/// An IAM error response as a plugin error, keeping IAM's code and message.
pub fn error(status: u16, body: &str) -> PluginError {
    IamError::parse(status, body).into_plugin_error()
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

/// The raw text of each `<member>` of the first `<list>` element (IAM's
/// lists: `AccessKeyMetadata`, `Tags`...); empty when there is no list.
pub fn members<'x>(xml: &'x str, list: &str) -> Vec<&'x str> {
    let open = format!("<{list}>");
    let close = format!("</{list}>");
    let Some(start) = xml.find(&open).map(|i| i + open.len()) else {
        return Vec::new();
    };
    let Some(len) = xml[start..].find(&close) else {
        return Vec::new();
    };
    let mut rest = &xml[start..start + len];
    let mut out = Vec::new();
    while let Some(i) = rest.find("<member>") {
        let after = &rest[i + "<member>".len()..];
        let Some(end) = after.find("</member>") else {
            break;
        };
        out.push(&after[..end]);
        rest = &after[end + "</member>".len()..];
    }
    out
}

/// Checks an IAM user name: 1–64 of `[A-Za-z0-9+=,.@_-]`.
///
/// Fails with [`PluginError::InvalidConfig`] naming the value.
pub fn check_user_name(user: &str) -> Result<(), PluginError> {
    let ok = !user.is_empty()
        && user.len() <= 64
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(PluginError::InvalidConfig(format!(
            "{user:?} is not an IAM user name (1-64 of A-Z a-z 0-9 + = , . @ _ -)"
        )))
    }
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
        assert_eq!(
            IamError::parse(409, "<Code>LimitExceeded</Code><Message>two</Message>").code,
            "LimitExceeded"
        );
    }

    #[test]
    fn forms_encode_as_the_sdks_do() {
        assert_eq!(form_encode("a b+c&d=é~"), "a+b%2Bc%26d%3D%C3%A9~");
    }

    #[test]
    fn list_members_are_read_in_order() {
        let xml = "<R><AccessKeyMetadata><member><AccessKeyId>A1</AccessKeyId></member>\
                   <member><AccessKeyId>A2</AccessKeyId><Status>Inactive</Status></member>\
                   </AccessKeyMetadata><Tags><member>x</member></Tags></R>";
        let keys = members(xml, "AccessKeyMetadata");
        assert_eq!(keys.len(), 2);
        assert_eq!(element(keys[1], "AccessKeyId").as_deref(), Some("A2"));
        assert_eq!(element(keys[1], "Status").as_deref(), Some("Inactive"));
        assert_eq!(members(xml, "Tags"), ["x"]);
        assert!(members(xml, "Users").is_empty());
        assert!(members("<AccessKeyMetadata/>", "AccessKeyMetadata").is_empty());
    }

    #[test]
    fn user_names_are_checked() {
        assert!(check_user_name("alice.b@corp_x-1").is_ok());
        for bad in [
            "",
            "a b",
            "a/b",
            "a\"b",
            "a&Action=DeleteUser",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(check_user_name(bad), Err(PluginError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
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
