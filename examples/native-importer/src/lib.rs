//! A native keeper importer: reads tab-separated lines (`title`, `login`,
//! `password`, then optionally `url` and `folder`; `#` starts a comment
//! line) and returns them as login records. It shows the importer half of
//! keeper's native plugin C ABI, version 2 (docs/plugin-authors.md,
//! "Native plugins"): the source is read only through the `keeper_input`
//! functions keeper hands each call, never opened here.
//!
//! A native plugin is **not sandboxed**: it runs inside keeper with the
//! user's rights. Prefer a WebAssembly importer; use this only for what
//! cannot be one.
//!
//! Build and install:
//!
//! ```sh
//! cargo build --release -p native-importer
//! mkdir -p dist/native-tsv
//! cp examples/native-importer/plugin.toml target/release/libnative_importer.so dist/native-tsv/
//! # once: allow native plugins in config.json: "native_plugins": true
//! keeper plugin install --native dist/native-tsv --i-understand-unsandboxed
//! keeper import --format native-tsv passwords.tsv
//! ```

use std::sync::Mutex;

use serde_json::{Value, json};

/// The ABI version this library speaks (2: importers).
#[cfg(not(feature = "wrong-abi"))]
const ABI_VERSION: u32 = 2;
/// A version keeper does not speak (test builds).
#[cfg(feature = "wrong-abi")]
const ABI_VERSION: u32 = 999;

/// Records per batch (keeper takes up to 10 000 items, 64 MiB).
const BATCH: usize = 500;

/// Bytes asked of keeper per read.
const CHUNK: usize = 64 * 1024;

/// A call's failure: the WIT `plugin-error` case and a message.
struct Failure(&'static str, String);

/// The running import (keeper runs one at a time in a library, and
/// serialises its calls).
static IMPORT: Mutex<Option<Import>> = Mutex::new(None);

/// What an import has read and not yet returned.
#[derive(Default)]
struct Import {
    /// Bytes after the last complete line.
    pending: Vec<u8>,
    /// Lines seen so far.
    line: usize,
    /// The source is at its end.
    ended: bool,
}

/// Reads the source: up to `buf.len()` bytes, 0 at its end, or why not.
type Read<'a> = dyn FnMut(&mut [u8]) -> Result<usize, String> + 'a;

/// Answers one call: `{"ok": ...}` or `{"error": {...}}`.
fn answer(method: &[u8], read: &mut Read<'_>) -> Vec<u8> {
    let result = match method {
        b"describe" => Ok(json!({
            "name": "native-tsv",
            "summary": "Tab-separated lines: title, login, password, url, folder",
            "reads_input": true,
        })),
        b"start" => {
            *IMPORT.lock().unwrap_or_else(|e| e.into_inner()) = Some(Import::default());
            Ok(Value::Null)
        }
        b"next_batch" => next_batch(read),
        _ => Err(Failure("unsupported", "unknown method".into())),
    };
    let value = match result {
        Ok(value) => json!({ "ok": value }),
        Err(Failure(kind, message)) => json!({ "error": { "kind": kind, "message": message } }),
    };
    misbehave(&value).unwrap_or_else(|| value.to_string().into_bytes())
}

/// The next batch of items, or `null` once the source is done.
fn next_batch(read: &mut Read<'_>) -> Result<Value, Failure> {
    quirks::before_batch()?;
    let mut guard = IMPORT.lock().unwrap_or_else(|e| e.into_inner());
    let Some(import) = guard.as_mut() else {
        return Err(Failure("internal", "next_batch before start".into()));
    };
    let mut items = Vec::new();
    let mut buf = vec![0; CHUNK];
    while items.len() < BATCH {
        if let Some(end) = import.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = import.pending.drain(..=end).collect();
            import.line += 1;
            items.extend(item(import.line, &line[..end]).map(quirks::item));
            continue;
        }
        if import.ended {
            if !import.pending.is_empty() {
                let line = std::mem::take(&mut import.pending);
                import.line += 1;
                items.extend(item(import.line, &line).map(quirks::item));
            }
            break;
        }
        match read(&mut buf) {
            Ok(0) => import.ended = true,
            Ok(n) => import.pending.extend_from_slice(&buf[..n]),
            // keeper's words say why, with no source data in them.
            Err(why) => {
                return Err(Failure(
                    "malformed-input",
                    format!("line {}: {why}", import.line + 1),
                ));
            }
        }
    }
    if items.is_empty() && import.ended {
        *guard = None;
        return Ok(Value::Null);
    }
    Ok(Value::Array(items))
}

/// One line as an item: a record, a skipped line, or nothing (blank, `#`).
fn item(number: usize, line: &[u8]) -> Option<Value> {
    let Ok(line) = std::str::from_utf8(line) else {
        return Some(json!({ "skipped": format!("line {number}: not UTF-8") }));
    };
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() || line.starts_with('#') {
        return None;
    }
    let columns: Vec<&str> = line.split('\t').collect();
    if columns.len() < 3 {
        return Some(json!({
            "skipped": format!("line {number}: {} column(s), expected at least 3", columns.len())
        }));
    }
    let text = |i: usize| columns.get(i).copied().unwrap_or_default();
    let mut fields = vec![
        json!({ "kind": "login", "values": [text(1)] }),
        json!({ "kind": "password", "values": [text(2)] }),
    ];
    if !text(3).is_empty() {
        fields.push(json!({ "kind": "url", "values": [text(3)] }));
    }
    let locations = if text(4).is_empty() {
        json!([])
    } else {
        json!([{ "folder": text(4) }])
    };
    Some(json!({ "record": {
        "title": text(0),
        "record_type": "login",
        "fields": fields,
        "locations": locations,
    }}))
}

/// Test builds only (`misbehave`, `hang`): what they do to a line's
/// item and before a batch; as shipped, nothing.
mod quirks {
    use serde_json::Value;

    use super::Failure;

    /// `misbehave`: the password of the last record, and whether a
    /// `!leak` line asked the next batch to fail quoting it.
    #[cfg(feature = "misbehave")]
    static LEAK: std::sync::Mutex<(String, bool)> = std::sync::Mutex::new((String::new(), false));

    /// `misbehave`: a record titled `!leak` becomes a skipped line
    /// quoting the password of the record before it, and the next batch
    /// fails quoting it too (keeper must redact both). `hang`: a record
    /// titled `!hang` is never answered (the file named by
    /// `KEEPER_TEST_HANG_MARKER`, if set, is created first).
    pub(super) fn item(item: Value) -> Value {
        let title = item["record"]["title"].as_str().unwrap_or_default();
        if cfg!(feature = "hang") && title == "!hang" {
            // The tests' sign that keeper reached the hang.
            if let Some(marker) = std::env::var_os("KEEPER_TEST_HANG_MARKER") {
                let _ = std::fs::write(marker, b"");
            }
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        #[cfg(feature = "misbehave")]
        {
            let mut leak = LEAK.lock().unwrap_or_else(|e| e.into_inner());
            if title == "!leak" {
                leak.1 = true;
                return serde_json::json!({ "skipped": format!("after the password {}", leak.0) });
            }
            if let Some(password) = item["record"]["fields"][1]["values"][0].as_str() {
                leak.0 = password.to_string();
            }
        }
        item
    }

    /// `misbehave`: fails the batch after a `!leak` line.
    pub(super) fn before_batch() -> Result<(), Failure> {
        #[cfg(feature = "misbehave")]
        {
            let mut leak = LEAK.lock().unwrap_or_else(|e| e.into_inner());
            if std::mem::take(&mut leak.1) {
                return Err(Failure(
                    "internal",
                    format!("cannot go on after the password {}", leak.0.to_uppercase()),
                ));
            }
        }
        Ok(())
    }
}

/// A test build (`misbehave`) that breaks the ABI on purpose: an answer
/// holding a record titled `!malformed` is cut short (not JSON); one
/// titled `!oversize` is replaced by 129 MiB of spaces (over keeper's
/// limit of twice the 64 MiB batch).
#[cfg(feature = "misbehave")]
fn misbehave(value: &Value) -> Option<Vec<u8>> {
    let titles = value["ok"].as_array()?;
    let titled = |t: &str| titles.iter().any(|i| i["record"]["title"] == t);
    if titled("!malformed") {
        let text = value.to_string();
        return Some(text.as_bytes()[..text.len() / 2].to_vec());
    }
    titled("!oversize").then(|| vec![b' '; 129 << 20])
}

/// As shipped: every answer is what the ABI says.
#[cfg(not(feature = "misbehave"))]
fn misbehave(_value: &Value) -> Option<Vec<u8>> {
    None
}

/// The C functions of keeper's native ABI, version 2; the only unsafe code.
#[allow(unsafe_code)]
mod ffi {
    use std::ffi::c_void;

    use super::{ABI_VERSION, answer};

    /// `keeper_input`: how keeper hands this call the source.
    #[repr(C)]
    pub struct KeeperInput {
        ctx: *mut c_void,
        read: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut u8, usize, *mut usize) -> i64,
        /// The source's size (-1: unknown), for progress; unused here.
        #[allow(dead_code)]
        size: unsafe extern "C" fn(*mut c_void) -> i64,
    }

    /// `uint32_t keeper_native_abi_version(void)`.
    #[unsafe(no_mangle)]
    pub extern "C" fn keeper_native_abi_version() -> u32 {
        ABI_VERSION
    }

    /// `uint8_t *keeper_native_import(method, method_len, request,
    /// request_len, input, out_len)`.
    ///
    /// # Safety
    ///
    /// `method` and `request` point to that many readable bytes; `input`
    /// to keeper's table, valid during this call; `out_len` to a writable
    /// `size_t`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn keeper_native_import(
        method: *const u8,
        method_len: usize,
        request: *const u8,
        // The requests carry nothing this importer uses (`start`'s options
        // name the source keeper already opened).
        _request_len: usize,
        input: *const KeeperInput,
        out_len: *mut usize,
    ) -> *mut u8 {
        if method.is_null() || request.is_null() || input.is_null() || out_len.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's buffer and table, valid for the call (the ABI).
        let (method, input) = unsafe { (std::slice::from_raw_parts(method, method_len), &*input) };
        let mut read = |buf: &mut [u8]| -> Result<usize, String> {
            let mut why = [0u8; 512];
            let mut why_len = 0usize;
            // SAFETY: `buf` and `why` are writable for their lengths and
            // `why_len` is writable; `ctx` is keeper's, for this call.
            let n = unsafe {
                (input.read)(
                    input.ctx,
                    buf.as_mut_ptr(),
                    buf.len(),
                    why.as_mut_ptr(),
                    why.len(),
                    &mut why_len,
                )
            };
            usize::try_from(n)
                .map_err(|_| String::from_utf8_lossy(&why[..why_len.min(why.len())]).into_owned())
        };
        let bytes = answer(method, &mut read).into_boxed_slice();
        // SAFETY: `out_len` is writable (checked non-NULL; the ABI).
        unsafe { *out_len = bytes.len() };
        Box::into_raw(bytes).cast::<u8>()
    }

    /// `void keeper_native_free(uint8_t *buf, size_t len)`: zeroes an
    /// answer (it holds the source's passwords), then frees it.
    ///
    /// # Safety
    ///
    /// `buf` and `len` are what `keeper_native_import` returned, freed once.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn keeper_native_free(buf: *mut u8, len: usize) {
        if buf.is_null() {
            return;
        }
        // SAFETY: the boxed slice `keeper_native_import` leaked, of this length.
        let mut answer = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(buf, len)) };
        for byte in answer.iter_mut() {
            // SAFETY: a valid, aligned byte of the answer; volatile so the
            // zeroing is not optimised away before the free.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
        drop(answer);
    }
}
