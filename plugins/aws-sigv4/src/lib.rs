//! AWS Signature Version 4 for one request (the header form): SHA-256 and
//! HMAC only, no clock, no I/O (the caller passes the time), so the same
//! code signs inside the sandbox (the AWS rotators, through
//! `keeper-aws-iam`) and in the host (the Secrets Manager client behind
//! `profile setup --type aws`).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A request to sign: everything the signature covers.
pub struct Unsigned<'a> {
    /// `POST`, `GET`...
    pub method: &'a str,
    /// `host[:port]`, exactly as sent in the Host header.
    pub authority: &'a str,
    /// The URI path, already percent-encoded (`/` for IAM).
    pub path: &'a str,
    /// The canonical (sorted, encoded) query string, or empty.
    pub query: &'a str,
    /// Extra headers to sign (lower-case names), e.g. content-type.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

/// Who signs, where and when.
pub struct Signer<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// Signing region (IAM: `us-east-1`).
    pub region: &'a str,
    /// Service name (`iam`).
    pub service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
}

/// The headers to add to the request: `x-amz-date` and `authorization`.
pub fn sign(req: &Unsigned<'_>, signer: &Signer<'_>) -> Vec<(&'static str, String)> {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    headers.push(("host".into(), req.authority.to_string()));
    headers.push(("x-amz-date".into(), signer.amz_date.to_string()));
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        req.query,
        canonical_headers,
        signed_headers,
        hex::encode(Sha256::digest(req.body))
    );
    let date = &signer.amz_date[..8];
    let scope = format!("{date}/{}/{}/aws4_request", signer.region, signer.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        signer.amz_date,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", signer.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [signer.region, signer.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, to_sign.as_bytes()));
    vec![
        ("x-amz-date", signer.amz_date.to_string()),
        (
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                signer.access_key_id
            ),
        ),
    ]
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the Unix epoch (UTC).
pub fn amz_date(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let rem = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published SigV4 test suite, case "get-vanilla".
    #[test]
    fn matches_the_aws_test_suite() {
        let headers = sign(
            &Unsigned {
                method: "GET",
                authority: "example.amazonaws.com",
                path: "/",
                query: "",
                headers: &[],
                body: b"",
            },
            &Signer {
                access_key_id: "AKIDEXAMPLE",
                secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                region: "us-east-1",
                service: "service",
                amz_date: "20150830T123600Z",
            },
        );
        assert_eq!(
            headers[1].1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z");
    }
}
