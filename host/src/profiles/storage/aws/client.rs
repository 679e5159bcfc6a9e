//! GetSecretValue: one POST of AWS's JSON 1.1 protocol, signed with SigV4
//! (`keeper-aws-sigv4`, the AWS rotators' signer).

use secrecy::ExposeSecret as _;
use zeroize::Zeroizing;

use super::types::{AwsError, Credentials, MAX_SECRET_ANSWER, body as read_body, chain};

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const TARGET: &str = "secretsmanager.GetSecretValue";

/// The value of secret `secret_id` at `endpoint`.
pub(super) async fn get_secret_value(
    http: &reqwest::Client,
    endpoint: &str,
    region: &str,
    creds: &Credentials,
    secret_id: &str,
) -> Result<Zeroizing<String>, AwsError> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| AwsError::Answer(format!("the endpoint {endpoint:?} is not a URL: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| AwsError::Answer(format!("the endpoint {endpoint:?} has no host")))?;
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let body = serde_json::json!({ "SecretId": secret_id }).to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let date = keeper_aws_sigv4::amz_date(now);
    let mut signed: Vec<(&str, &str)> =
        vec![("content-type", CONTENT_TYPE), ("x-amz-target", TARGET)];
    if let Some(token) = &creds.session_token {
        signed.push(("x-amz-security-token", token.expose_secret()));
    }
    let auth = keeper_aws_sigv4::sign(
        &keeper_aws_sigv4::Unsigned {
            method: "POST",
            authority: &authority,
            path: url.path(),
            query: "",
            headers: &signed,
            body: body.as_bytes(),
        },
        &keeper_aws_sigv4::Signer {
            access_key_id: &creds.access_key_id,
            secret_access_key: creds.secret_access_key.expose_secret(),
            region,
            service: "secretsmanager",
            amz_date: &date,
        },
    );
    let mut request = http.post(url.clone()).body(body);
    for (k, v) in signed
        .iter()
        .copied()
        .chain(auth.iter().map(|(k, v)| (*k, v.as_str())))
    {
        request = request.header(k, v);
    }
    let unreachable = |e: reqwest::Error| AwsError::Unreachable {
        endpoint: endpoint.to_string(),
        why: chain(&e),
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status().as_u16();
    let text = read_body(response, MAX_SECRET_ANSWER)
        .await
        .map_err(|why| AwsError::Answer(format!("GetSecretValue at {endpoint}: {why}")))?;
    if status != 200 {
        return Err(refusal(status, &text, secret_id, &creds.using));
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Answer {
        secret_string: Option<Zeroizing<String>>,
        secret_binary: Option<Zeroizing<String>>,
    }
    let answer: Answer = serde_json::from_str(&text)
        .map_err(|_| AwsError::Answer("the answer to GetSecretValue is not JSON".into()))?;
    if let Some(s) = answer.secret_string {
        return Ok(s);
    }
    let binary = answer.secret_binary.ok_or_else(|| {
        AwsError::Answer(format!(
            "the secret {secret_id:?} has neither SecretString nor SecretBinary"
        ))
    })?;
    use base64::Engine as _;
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(binary.trim())
            .map_err(|_| AwsError::Answer("SecretBinary is not base64".into()))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| AwsError::Answer(format!("the secret {secret_id:?} is binary, not text")))?;
    Ok(Zeroizing::new(text.to_string()))
}

/// AWS's error answer as an [`AwsError::Refused`]: JSON
/// (`{"__type": "...#Code", "message": "..."}`, Secrets Manager's own), or
/// XML (`<Code>`, `<Message>`, as an authentication front end may answer);
/// the message is cut short and kept to one line.
fn refusal(status: u16, text: &str, secret: &str, using: &str) -> AwsError {
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let xml = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))?;
        Some(text[start..start + end].to_string())
    };
    let code = value["__type"]
        .as_str()
        .or_else(|| value["code"].as_str())
        .map(str::to_string)
        .or_else(|| xml("Code"))
        .map(|t| t.rsplit('#').next().unwrap_or(&t).to_string())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let message = value["message"]
        .as_str()
        .or_else(|| value["Message"].as_str())
        .map(str::to_string)
        .or_else(|| xml("Message"))
        .unwrap_or_else(|| "(no message)".into());
    // A signature refusal may quote what was signed (the session token
    // among the headers): the message stops before it.
    let message: String = ["The Canonical String", "String-to-Sign", "StringToSign"]
        .iter()
        .filter_map(|marker| message.find(marker))
        .min()
        .map_or(message.as_str(), |at| &message[..at])
        .trim_end()
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    AwsError::Refused {
        secret: secret.to_string(),
        using: using.to_string(),
        status,
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_json_and_xml_and_stay_short() {
        let json = r#"{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"can't find it"}"#;
        let xml = "<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>bad\ntoken</Message></Error></ErrorResponse>";
        for (text, status, code, message) in [
            (json, 400, "ResourceNotFoundException", "can't find it"),
            (xml, 403, "InvalidClientTokenId", "badtoken"),
            ("<html>oops</html>", 502, "HTTP 502", "(no message)"),
        ] {
            match refusal(status, text, "s", "k") {
                AwsError::Refused {
                    code: c,
                    message: m,
                    ..
                } => assert_eq!((c.as_str(), m.as_str()), (code, message)),
                other => panic!("{other}"),
            }
        }
        let long = format!(r#"{{"__type":"X","message":"{}"}}"#, "m".repeat(1000));
        let AwsError::Refused { message, .. } = refusal(400, &long, "s", "k") else {
            panic!("not a refusal")
        };
        assert_eq!(message.len(), 300);
        let signed = r#"{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match. The Canonical String for this request should have been 'POST\n/\n\nx-amz-security-token:SESSION-TOKEN-1\n' The String-to-Sign should have been 'AWS4'"}"#;
        let AwsError::Refused { message, .. } = refusal(403, signed, "s", "k") else {
            panic!("not a refusal")
        };
        assert_eq!(
            message,
            "The request signature we calculated does not match."
        );
    }
}
