//! `login`, `logout`, `whoami`, `this-device` and `change-master-password`.

use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use super::vault::{new_kdf_params, password_unlock, read_new_password, unlock};
use crate::cli::Format;
use crate::cli::automation::{DeviceFormat, DeviceVerb, Switch, ThisDeviceArgs};
use crate::context::Context;
use crate::login::{DeviceState, format_expiry, timeout};

/// `login [EMAIL]`: the master password, always; a new persistent session
/// when persistent login is on.
pub(crate) fn login(ctx: &Context, email: Option<&str>) -> anyhow::Result<ExitCode> {
    ctx.session.forget();
    let vault = password_unlock(ctx, email.map(str::to_string))?;
    let warnings = ctx.device().start_session(&vault)?;
    print_warnings(&warnings);
    let email = vault.user().email;
    ctx.session.start(vault)?;
    println!("Logged in as {email}.");
    let state = ctx.device().state()?;
    if let Some(expires) = state.session_expires {
        println!(
            "Persistent login session until {} UTC unless used again.",
            format_expiry(expires)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `logout`: ends this device's persistent session and this process's login.
pub(crate) fn logout(ctx: &Context) -> anyhow::Result<ExitCode> {
    ctx.device().end_session()?;
    ctx.session.forget();
    println!("Logged out; this device's persistent login session has ended.");
    Ok(ExitCode::SUCCESS)
}

/// `whoami`.
pub(crate) fn whoami(ctx: &Context, format: Format) -> anyhow::Result<ExitCode> {
    let vault = unlock(ctx)?;
    let state = ctx.device().state()?;
    let user = vault.user();
    let rows = vec![
        ("User", user.email.clone()),
        ("Vault", vault.location().to_string()),
        ("Data directory", ctx.data_dir.display().to_string()),
        ("Config file", ctx.config_path.display().to_string()),
        ("Device", state.name.clone()),
        ("Persistent login", on_off(state.persistent_login).into()),
        ("Session expires", session_text(&state)),
        ("Logout timeout", timeout::describe(state.timeout)),
    ];
    let value = json!({
        "user": user.email,
        "vault": vault.location().to_string(),
        "data_dir": ctx.data_dir,
        "config_file": ctx.config_path,
        "device_name": state.name,
        "persistent_login": state.persistent_login,
        "session_expires": state.session_expires.map(format_expiry),
        "logout_timeout": timeout::describe(state.timeout),
    });
    print_pairs(format == Format::Json, &rows, &value)
}

/// `this-device [VERB]`.
pub(crate) fn this_device(ctx: &Context, args: &ThisDeviceArgs) -> anyhow::Result<ExitCode> {
    let vault = unlock(ctx)?;
    let device = ctx.device();
    let warnings = match &args.verb {
        None => return show_device(ctx, args.format),
        Some(DeviceVerb::Register) => {
            let id = device.register()?;
            println!("Device registered: {} ({id}).", device.state()?.name);
            Vec::new()
        }
        Some(DeviceVerb::Rename { name }) => {
            let name = name.join(" ");
            if name.trim().is_empty() {
                anyhow::bail!("rename needs a name");
            }
            device.rename(&name)?;
            println!("Device renamed to {}.", name.trim());
            Vec::new()
        }
        Some(DeviceVerb::PersistentLogin { switch }) => {
            let on = *switch == Switch::On;
            let w = device.set_persistent_login(on, &vault)?;
            println!("Persistent login {}.", on_off(on));
            w
        }
        Some(DeviceVerb::IpAutoApprove { switch }) => {
            let on = *switch == Switch::On;
            device.set_ip_auto_approve(on)?;
            println!(
                "IP auto approve {} (recorded; keeper has no server to act on it).",
                on_off(on)
            );
            Vec::new()
        }
        Some(DeviceVerb::Timeout { value }) => {
            let t = timeout::parse(value)?;
            let w = device.set_timeout(t, &vault)?;
            println!("Logout timeout set to {}.", timeout::describe(t));
            w
        }
    };
    print_warnings(&warnings);
    Ok(ExitCode::SUCCESS)
}

/// `this-device` without a verb: Commander's lines and JSON keys.
fn show_device(ctx: &Context, format: DeviceFormat) -> anyhow::Result<ExitCode> {
    let state = ctx.device().state()?;
    let present = session_live(&state);
    let t = timeout::describe(state.timeout);
    let rows = vec![
        ("Device Name", state.name.clone()),
        ("Data Key Present", on_off(present).into()),
        ("IP Auto Approve", on_off(state.ip_auto_approve).into()),
        ("Persistent Login", on_off(state.persistent_login).into()),
        ("Security Key No PIN", on_off(false).into()),
        ("Logout Timeout", t.clone()),
        ("Enterprise Timeout", "none".into()),
        ("Effective Timeout", t.clone()),
        ("Is SSO User", "False".into()),
        ("Config file", ctx.config_path.display().to_string()),
    ];
    let value = json!({
        "device_name": state.name,
        "data_key_present": present,
        "ip_auto_approve": state.ip_auto_approve,
        "persistent_login": state.persistent_login,
        "security_key_no_pin": false,
        "device_logout_timeout": t,
        "enterprise_logout_timeout": null,
        "effective_logout_timeout": t,
        "is_sso_user": false,
        "config_file": ctx.config_path,
        "device_id": state.device,
        "session_expires": state.session_expires.map(format_expiry),
        "key_storage": state.storage.setting(),
    });
    print_pairs(format == DeviceFormat::Json, &rows, &value)
}

/// `change-master-password`.
pub(crate) fn change_master_password(ctx: &Context) -> anyhow::Result<ExitCode> {
    let mut vault = unlock(ctx)?;
    let password = read_new_password(ctx)?;
    vault
        .change_master_password(&password, &new_kdf_params())
        .context("cannot change the master password")?;
    drop(vault);
    ctx.session.forget();
    println!(
        "Master password changed. Persistent login sessions made with the old one have ended; log in again."
    );
    Ok(ExitCode::SUCCESS)
}

fn session_live(state: &DeviceState) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    state.persistent_login && state.session_expires.is_some_and(|e| e > now)
}

fn session_text(state: &DeviceState) -> String {
    match state.session_expires {
        Some(e) if session_live(state) => format!("{} UTC (unless used again)", format_expiry(e)),
        Some(_) => "expired".into(),
        None => "no session".into(),
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "OFF" }
}

fn print_pairs(
    json: bool,
    rows: &[(&str, String)],
    value: &serde_json::Value,
) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in rows {
            println!("{k:>width$}: {v}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}
