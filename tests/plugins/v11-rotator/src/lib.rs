//! A rotator built against `keeper:plugin@1.1.0` straight from
//! `wit/since_v1.1.0` (no SDK), touching no target: what the host's tests
//! run beside 1.0 plugins to prove each version is called through its own
//! bindings and that 1.1's additions work end to end.
//!
//! - `describe` declares the fields it needs (`text:account`) and owns
//!   (`secret:token`), which its manifest's `[fields]` repeats;
//! - `rotate` hands back a `secret:token` field "the target generated"
//!   (`token-<account>-<length of the new password>`), or, with the record
//!   parameter `cmdr:generate`, `reserved` (a `password` field, which the
//!   host must refuse), `unowned` (a `secret:other` field, likewise),
//!   `leak` (the token, and a field the host must refuse labelled with
//!   it: the refusal, which names the field, must not show the token) or
//!   `none`;
//! - `verify` fails unless the token came back in `rotation.prepared`
//!   (the host stored it and passes it on), unless `cmdr:generate` is set.
//!
//! Built by the host's tests; by hand:
//! `cargo build --target wasm32-wasip2 --profile plugin -p v11-rotator`.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    world: "rotator-plugin",
    path: "../../../wit/since_v1.1.0",
});

use exports::keeper::plugin::rotator::{Guest, PluginInfo, Rotation};
use keeper::plugin::types::{Field, PluginError};

struct V11;

/// A record parameter (`cmdr:` custom field, prefix removed).
fn param<'a>(req: &'a Rotation, name: &str) -> Option<&'a str> {
    req.params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The token `rotate` makes for this request.
fn token(req: &Rotation) -> String {
    let account = req
        .record
        .custom
        .iter()
        .chain(&req.record.fields)
        .find(|f| f.kind == "text" && f.label.as_deref() == Some("account"))
        .and_then(|f| f.values.first())
        .map_or("none", String::as_str);
    format!("token-{account}-{}", req.new_password.len())
}

fn field(kind: &str, label: &str, value: String) -> Field {
    Field {
        kind: kind.into(),
        label: Some(label.into()),
        values: vec![value],
    }
}

impl Guest for V11 {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "v11-rotator".into(),
            summary: "Hands back a generated token (keeper:plugin@1.1.0 test plugin)".into(),
            default_port: None,
            required_params: Vec::new(),
            disallowed_chars: String::new(),
            max_length: None,
            needs: vec!["text:account".into()],
            owns: vec!["secret:token".into()],
            checks_passwords: true,
        }
    }

    fn prepare(_req: Rotation) -> Result<Vec<Field>, PluginError> {
        Ok(Vec::new())
    }

    fn rotate(req: Rotation) -> Result<Vec<Field>, PluginError> {
        Ok(match param(&req, "generate") {
            None => vec![field("secret", "token", token(&req))],
            Some("reserved") => vec![Field {
                kind: "password".into(),
                label: None,
                values: vec!["plugin-chosen-password".into()],
            }],
            Some("unowned") => vec![field("secret", "other", "x".into())],
            Some("leak") => vec![
                field("secret", "token", token(&req)),
                field("secret", &token(&req), "x".into()),
            ],
            Some(_) => Vec::new(),
        })
    }

    fn verify(req: Rotation) -> Result<(), PluginError> {
        if param(&req, "generate").is_some() {
            return Ok(());
        }
        let expected = token(&req);
        let passed = req.prepared.iter().any(|f| {
            f.kind == "secret"
                && f.label.as_deref() == Some("token")
                && f.values.first() == Some(&expected)
        });
        if passed {
            Ok(())
        } else {
            Err(PluginError::AuthFailed(
                "the generated token did not come back in rotation.prepared".into(),
            ))
        }
    }

    fn revert(_req: Rotation) -> Result<(), PluginError> {
        Ok(())
    }
}

export!(V11);
