//! `keeper rotate` end to end with the awspswd plugin (the real
//! wasm32-wasip2 component embedded in keeper) against a local AWS IAM
//! stand-in: moto's server (`moto.rs`), with request authentication on, so
//! every call the plugin makes must carry a valid SigV4 signature from a
//! key moto issued and a policy allowing it. AWS itself cannot be reached
//! from here; moto is the labelled stand-in. The stored password is read
//! from moto's own state (`/moto-api/data.json`), never through the plugin.

use crate::crash::crash_at_every_stage;
use crate::moto::{Keyed, Moto};
use crate::support::Keeper;
use crate::vault::{add, kp, vault, vault_password};

/// Setup calls moto lets through unauthenticated before it checks every
/// request: the admin, its key and policy, one user and its console
/// password, and user `nopass` without one. Each test starts its own server.
const UNAUTHENTICATED_SETUP: usize = 6;

/// moto with an administrator (its key is the `Keyed` one).
type Iam = Keyed;

/// Starts moto with an administrator (iam:* allowed) and IAM user `user`
/// with console password `password`.
fn start(user: &str, password: &str) -> Iam {
    let moto = Moto::launch(UNAUTHENTICATED_SETUP);
    moto.setup(&[("Action", "CreateUser"), ("UserName", "admin")]);
    let key = moto.setup(&[("Action", "CreateAccessKey"), ("UserName", "admin")]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;
    moto.setup(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "admin"),
        ("PolicyName", "all-iam"),
        ("PolicyDocument", policy),
    ]);
    moto.setup(&[("Action", "CreateUser"), ("UserName", user)]);
    moto.setup(&[
        ("Action", "CreateLoginProfile"),
        ("UserName", user),
        ("Password", password),
    ]);
    moto.setup(&[("Action", "CreateUser"), ("UserName", "nopass")]);
    Keyed::new(moto, &key)
}

/// A record rotated by awspswd against `moto`, with the admin's key.
fn aws_record(k: &Keeper, title: &str, moto: &Iam, user: &str, password: &str) -> String {
    aws_record_with(k, title, moto, user, password, &moto.key.1)
}

fn aws_record_with(
    k: &Keeper,
    title: &str,
    moto: &Iam,
    user: &str,
    password: &str,
    secret: &str,
) -> String {
    add(
        k,
        &[
            "-t",
            title,
            &format!("login={user}"),
            &format!("password={password}"),
            "c.text.cmdr:plugin=awspswd",
            &format!("c.text.cmdr:endpoint_url={}", moto.url()),
            &format!("c.text.cmdr:aws_access_key_id={}", moto.key.0),
            &format!("c.secret.cmdr:aws_secret_access_key={secret}"),
        ],
    )
}

#[test]
fn awspswd_rotates_a_console_password_through_signed_calls() {
    let old = "Old-aws-pass-1!";
    let moto = start("alice", old);
    let k = vault();
    let uid = aws_record(&k, "aws alice", &moto, "alice", old);

    let run = kp(&k, &["rotate", &uid]);
    assert!(run.ok().contains("rotated"), "{}", run.stdout());
    let new = vault_password(&k, &uid);
    assert_ne!(new, old);
    assert_eq!(moto.password("alice").as_deref(), Some(new.as_str()));
    let printed = run.stdout() + &run.stderr();
    assert!(
        !printed.contains(&new) && !printed.contains(&moto.key.1),
        "{printed}"
    );
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]);
    assert!(!audit.stdout().contains(&moto.key.1));
    let audit = audit.json();
    assert_eq!(audit[0]["outcome"], "rotated");
    assert_eq!(audit[0]["plugin"], "awspswd");

    // A user without a console password gets one (as Commander does).
    assert_eq!(moto.password("nopass"), None);
    let nopass = aws_record(&k, "aws nopass", &moto, "nopass", "unused-1");
    kp(&k, &["rotate", &nopass]).ok();
    assert_eq!(moto.password("nopass"), Some(vault_password(&k, &nopass)));
}

#[test]
fn awspswd_a_wrong_key_or_user_fails_clearly_and_changes_nothing() {
    let old = "Real-aws-pass-2!";
    let moto = start("bob", old);
    let k = vault();
    // A wrong secret: moto's signature check refuses it.
    let bad_key = aws_record_with(&k, "bad key", &moto, "bob", old, "not-the-secret");
    let run = kp(&k, &["rotate", &bad_key]);
    run.fails();
    let err = run.stdout() + &run.stderr();
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");
    assert!(
        !err.contains("not-the-secret"),
        "the secret is never shown: {err}"
    );
    assert_eq!(vault_password(&k, &bad_key), old, "vault unchanged");
    assert_eq!(moto.password("bob").as_deref(), Some(old), "IAM unchanged");

    // A user IAM does not know: refused before any change.
    let ghost = aws_record(&k, "ghost", &moto, "ghost", old);
    let run = kp(&k, &["rotate", &ghost]);
    run.fails();
    let err = run.stdout() + &run.stderr();
    assert!(err.contains("NoSuchEntity"), "{err}");
    assert_eq!(vault_password(&k, &ghost), old);

    // A user name IAM could not have: refused in the sandbox.
    let hostile = aws_record(&k, "hostile user", &moto, "bob&Action=DeleteUser", old);
    let run = kp(&k, &["rotate", &hostile]);
    run.fails();
    let err = run.stdout() + &run.stderr();
    assert!(err.contains("not an IAM user name"), "{err}");
    assert_eq!(moto.password("bob").as_deref(), Some(old), "bob untouched");
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));
}

#[test]
fn awspswd_hostile_passwords_arrive_intact_and_only_the_granted_origin_opens() {
    let old = "Start-aws-pass-3!";
    let moto = start("carol", old);
    let k = vault();
    let uid = aws_record(&k, "carol", &moto, "carol", old);
    let new = "N'e\"w\\p;a--s s&Action=DeleteUser%00`1$$ é✓";
    kp(&k, &["rotate", &uid, "--password", new]).ok();
    assert_eq!(vault_password(&k, &uid), new);
    assert_eq!(moto.password("carol").as_deref(), Some(new));

    // An endpoint that is not an origin is a clear error before any call.
    let bad = add(
        &k,
        &[
            "-t",
            "bad endpoint",
            "login=carol",
            "password=x",
            "c.text.cmdr:plugin=awspswd",
            "c.text.cmdr:endpoint_url=http://127.0.0.1:1/path",
            "c.text.cmdr:aws_access_key_id=AKID",
            "c.secret.cmdr:aws_secret_access_key=s",
        ],
    );
    let run = kp(&k, &["rotate", &bad]);
    run.fails();
    let err = run.stdout() + &run.stderr();
    assert!(
        err.contains("cmdr:endpoint_url") && err.contains("origin"),
        "{err}"
    );
    assert_eq!(moto.password("carol").as_deref(), Some(new), "untouched");
}

#[test]
fn awspswd_a_crash_at_any_stage_is_resolved_by_resume_without_lockout() {
    let old = "Crash-aws-pass-4!";
    crash_at_every_stage(
        |_| {
            let moto = start("crashy", old);
            let k = vault();
            let uid = aws_record(&k, "crashy", &moto, "crashy", old);
            (k, uid, moto)
        },
        |moto, password| moto.password("crashy").as_deref() == Some(password),
    );
}
