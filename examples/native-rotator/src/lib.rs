//! A native keeper rotator: the account's password lives in a file,
//! `<cmdr:dir>/<login>`, and rotating it rewrites that file. It shows
//! keeper's native plugin C ABI (docs/plugin-authors.md, "Native
//! plugins") from Rust; a vendor's C library would sit behind the same
//! three functions.
//!
//! A native plugin is **not sandboxed**: it runs inside keeper with the
//! user's rights. Prefer a WebAssembly plugin; use this only for what
//! cannot be one.
//!
//! Build and install:
//!
//! ```sh
//! cargo build --release -p native-rotator
//! mkdir -p dist/native-file
//! cp examples/native-rotator/plugin.toml target/release/libnative_rotator.so dist/native-file/
//! # once: allow native plugins in config.json: "native_plugins": true
//! keeper plugin install --native dist/native-file --i-understand-unsandboxed
//! ```
//!
//! Then give a record `cmdr:plugin=native-file` and `cmdr:dir=/some/dir`
//! (holding a file named after the record's login, with its current
//! password) and run `keeper rotate <record>`.

use std::path::PathBuf;

use serde_json::{Value, json};

/// The ABI version this library speaks.
#[cfg(not(feature = "wrong-abi"))]
const ABI_VERSION: u32 = 1;
/// A version keeper does not speak (test builds).
#[cfg(feature = "wrong-abi")]
const ABI_VERSION: u32 = 999;

/// A step's failure: the WIT `plugin-error` case and a message.
struct Failure(&'static str, String);

/// Answers one call: `{"ok": ...}` or `{"error": {...}}`.
fn answer(method: &[u8], request: &[u8]) -> Value {
    let result = match method {
        b"describe" => Ok(describe()),
        b"prepare" | b"rotate" | b"verify" | b"revert" => {
            match serde_json::from_slice::<Value>(request) {
                Ok(req) => misbehave(method, &req).unwrap_or_else(|| step(method, &req)),
                Err(e) => Err(Failure("malformed-input", format!("bad request: {e}"))),
            }
        }
        _ => Err(Failure("unsupported", "unknown method".into())),
    };
    match result {
        Ok(value) => json!({ "ok": value }),
        Err(Failure(kind, message)) => json!({ "error": { "kind": kind, "message": message } }),
    }
}

fn describe() -> Value {
    json!({
        "name": "native-file",
        "summary": "Keeps an account's password in the file <cmdr:dir>/<login>",
        "required_params": ["dir"],
        "checks_passwords": true,
    })
}

/// A test build whose `rotate` sets the new password and then never
/// answers (keeper must give up on it without reverting, and exit).
#[cfg(feature = "hang")]
fn hang() -> Value {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// `rotate` answers once the password is set.
#[cfg(not(feature = "hang"))]
fn hang() -> Value {
    Value::Null
}

/// A test build (`misbehave`) that breaks the rules keeper must enforce,
/// for two logins: `grabby`'s `prepare` returns a field outside the
/// manifest's `[fields] owns` (it owns none); `echo`'s `rotate` fails
/// with an error quoting both passwords (and leaves them in
/// `<cmdr:dir>/echo.seen`, so the test knows what must not be shown).
#[cfg(feature = "misbehave")]
fn misbehave(method: &[u8], req: &Value) -> Option<Result<Value, Failure>> {
    let text = |key: &str| req[key].as_str().unwrap_or_default().to_string();
    let (old, new) = (text("old_password"), text("new_password"));
    match (method, req["login"].as_str()?) {
        (b"prepare", "grabby") => Some(Ok(json!([
            { "kind": "secret", "label": "stolen", "values": ["loot"] }
        ]))),
        (b"rotate", "echo") => {
            let dir = PathBuf::from(req["params"]["dir"].as_str().unwrap_or_default());
            let _ = std::fs::write(dir.join("echo.seen"), format!("{old}\n{new}\n"));
            Some(Err(Failure(
                "rejected",
                format!("the target refused to change {old} to {new}"),
            )))
        }
        _ => None,
    }
}

/// As shipped: every call does what the ABI says.
#[cfg(not(feature = "misbehave"))]
fn misbehave(_method: &[u8], _req: &Value) -> Option<Result<Value, Failure>> {
    None
}

/// `prepare` (nothing to make), `rotate`, `verify` or `revert` on the
/// account's file.
fn step(method: &[u8], req: &Value) -> Result<Value, Failure> {
    if method == b"prepare" {
        return Ok(Value::Null);
    }
    let text = |key: &str| req[key].as_str().unwrap_or_default().to_string();
    let (login, old, new) = (text("login"), text("old_password"), text("new_password"));
    let dir = req["params"]["dir"].as_str().unwrap_or_default();
    if dir.is_empty() {
        return Err(Failure(
            "invalid-config",
            "the record has no cmdr:dir".into(),
        ));
    }
    if login.is_empty() || login.contains(['/', '\\', '\0']) || login.starts_with('.') {
        return Err(Failure(
            "invalid-config",
            // Unescaped on purpose: keeper escapes what a plugin says.
            format!("login \"{login}\" is not a plain file name"),
        ));
    }
    let file = PathBuf::from(dir).join(&login);
    let current = std::fs::read_to_string(&file).map_err(|e| {
        Failure(
            "unreachable",
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let current = current.trim_end_matches('\n');
    let write = |password: &str| {
        let staged = file.with_extension("rotating");
        std::fs::write(&staged, format!("{password}\n"))
            .and_then(|()| std::fs::rename(&staged, &file))
            .map_err(|e| Failure("rejected", format!("cannot write {}: {e}", file.display())))
    };
    match method {
        // Idempotent: already set is done; otherwise the old password must match.
        b"rotate" if current == new => Ok(Value::Null),
        b"rotate" if current == old => write(&new).map(|()| hang()),
        b"rotate" => Err(Failure(
            "auth-failed",
            format!("the current password of {login} does not match"),
        )),
        b"verify" if current == new => Ok(Value::Null),
        b"verify" => Err(Failure(
            "auth-failed",
            format!("{login} does not log in with that password"),
        )),
        _ if current == old => Ok(Value::Null),
        _ if current == new => write(&old).map(|()| Value::Null),
        _ => Err(Failure(
            "rejected",
            format!("{login}'s password is neither the old nor the new one"),
        )),
    }
}

/// The three C functions of keeper's native ABI; the only unsafe code.
#[allow(unsafe_code)]
mod ffi {
    use super::{ABI_VERSION, answer};

    /// `uint32_t keeper_native_abi_version(void)`.
    #[cfg(not(feature = "no-abi-version"))]
    #[unsafe(no_mangle)]
    pub extern "C" fn keeper_native_abi_version() -> u32 {
        ABI_VERSION
    }

    /// Without the version symbol (a test build), the constant is unused.
    #[cfg(feature = "no-abi-version")]
    const _: u32 = ABI_VERSION;

    /// `uint8_t *keeper_native_call(method, method_len, request, request_len, out_len)`.
    ///
    /// # Safety
    ///
    /// `method` and `request` point to that many readable bytes; `out_len`
    /// to a writable `size_t`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn keeper_native_call(
        method: *const u8,
        method_len: usize,
        request: *const u8,
        request_len: usize,
        out_len: *mut usize,
    ) -> *mut u8 {
        if method.is_null() || request.is_null() || out_len.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's buffers, valid for the call (the ABI).
        let (method, request) = unsafe {
            (
                std::slice::from_raw_parts(method, method_len),
                std::slice::from_raw_parts(request, request_len),
            )
        };
        let bytes = answer(method, request).to_string().into_bytes();
        let boxed = bytes.into_boxed_slice();
        // SAFETY: `out_len` is writable (checked non-NULL; the ABI).
        unsafe { *out_len = boxed.len() };
        Box::into_raw(boxed).cast::<u8>()
    }

    /// `void keeper_native_free(uint8_t *buf, size_t len)`: frees an
    /// answer (this plugin's hold no secret).
    ///
    /// # Safety
    ///
    /// `buf` and `len` are what `keeper_native_call` returned, freed once.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn keeper_native_free(buf: *mut u8, len: usize) {
        if buf.is_null() {
            return;
        }
        // SAFETY: the boxed slice `keeper_native_call` leaked, of this length.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(buf, len)) });
    }
}
