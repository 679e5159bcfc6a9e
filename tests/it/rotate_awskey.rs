//! `keeper rotate` end to end with the awskey plugin (the embedded 1.1
//! component) against moto, the labelled local stand-in for AWS IAM
//! (`moto.rs`), with request authentication on. The IAM user signs its own
//! rotation with the key in the record; the tests check moto's state
//! (`/moto-api/data.json`) and sign their own requests with the keys the
//! vault holds (the SigV4 of `keeper-aws-iam`), never trusting the plugin.

use serde_json::Value;

use crate::moto::{Keyed, Moto, element};
use crate::support::Keeper;
use crate::vault::{add, crash_at, kp, vault, vault_password};

/// The record's password, which an access-key rotation leaves alone.
const PASSWORD: &str = "Unchanged-console-pw-1";

/// What the administrator may do.
const ALL_IAM: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;

/// What alice may do to herself (and look up other users' keys).
const SELF_ROTATION: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetUser","iam:ListAccessKeys","iam:CreateAccessKey","iam:DeleteAccessKey","iam:UpdateAccessKey","iam:ListUserTags","iam:TagUser","iam:UntagUser"],"Resource":"*"}]}"#;

/// moto with an administrator (the `Keyed` key, which the tests list keys
/// with), IAM user alice (one access key, allowed to rotate it) and user
/// bob (no key).
struct Aws {
    iam: Keyed,
    /// Alice's first key: id and secret.
    alice: (String, String),
}

impl std::ops::Deref for Aws {
    type Target = Keyed;
    fn deref(&self) -> &Keyed {
        &self.iam
    }
}

impl Aws {
    /// `user`'s keys, as IAM lists them to the administrator.
    fn user_keys(&self, user: &str) -> Vec<(String, String)> {
        self.keys(self.pair(), user)
    }

    /// Alice's first key.
    fn first(&self) -> (&str, &str) {
        pair(&self.alice)
    }
}

fn start() -> Aws {
    let moto = Moto::launch(7);
    moto.setup(&[("Action", "CreateUser"), ("UserName", "admin")]);
    let admin = moto.setup(&[("Action", "CreateAccessKey"), ("UserName", "admin")]);
    moto.setup(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "admin"),
        ("PolicyName", "all-iam"),
        ("PolicyDocument", ALL_IAM),
    ]);
    moto.setup(&[("Action", "CreateUser"), ("UserName", "alice")]);
    let alice = moto.setup(&[("Action", "CreateAccessKey"), ("UserName", "alice")]);
    moto.setup(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "alice"),
        ("PolicyName", "self-rotation"),
        ("PolicyDocument", SELF_ROTATION),
    ]);
    moto.setup(&[("Action", "CreateUser"), ("UserName", "bob")]);
    let alice = (
        element(&alice, "AccessKeyId"),
        element(&alice, "SecretAccessKey"),
    );
    Aws {
        iam: Keyed::new(moto, &admin),
        alice,
    }
}

/// An IAM call signed as alice with `key`; the body, which must be a
/// success.
fn as_alice(aws: &Aws, key: (&str, &str), params: &[(&str, &str)]) -> String {
    let (status, body) = aws.signed(key, params);
    assert_eq!(status, 200, "{params:?}: {body}");
    body
}

fn pair(key: &(String, String)) -> (&str, &str) {
    (&key.0, &key.1)
}

/// A record for `login` holding the access key `(id, secret)`.
fn key_record(k: &Keeper, title: &str, aws: &Aws, login: &str, key: (&str, &str)) -> String {
    add(
        k,
        &[
            "-t",
            title,
            &format!("login={login}"),
            &format!("password={PASSWORD}"),
            "c.text.cmdr:plugin=awskey",
            &format!("c.text.cmdr:endpoint_url={}", aws.url()),
            &format!("c.text.aws_access_key_id={}", key.0),
            &format!("c.secret.aws_secret_access_key={}", key.1),
        ],
    )
}

/// The access key the record holds, and how many fields hold each half.
fn record_key(k: &Keeper, uid: &str) -> ((String, String), usize) {
    let json = kp(k, &["get", uid, "--format", "json", "--unmask"]).json();
    let all: Vec<&Value> = ["fields", "custom"]
        .iter()
        .filter_map(|part| json[part].as_array())
        .flatten()
        .collect();
    let find = |kind: &str, label: &str| -> Vec<String> {
        all.iter()
            .filter(|f| f["type"] == kind && f["label"] == label)
            .filter_map(|f| f["value"][0].as_str().map(str::to_string))
            .collect()
    };
    let ids = find("text", "aws_access_key_id");
    let secrets = find("secret", "aws_secret_access_key");
    let key = (
        ids.first().cloned().unwrap_or_default(),
        secrets.first().cloned().unwrap_or_default(),
    );
    (key, ids.len().max(secrets.len()))
}

/// The new key a pending rotation of `uid` holds, if keeper stored one
/// (read from the vault itself, as `rotate --resume` would).
fn pending_key(k: &Keeper, uid: &str) -> Option<(String, String)> {
    let pending = crate::vault::unlocked(k)
        .pending_rotation(uid)
        .expect("read")?;
    let value = |label: &str| {
        pending
            .prepared
            .iter()
            .find(|f| f.label.as_deref() == Some(label))
            .and_then(|f| f.values.first().cloned())
    };
    Some((value("aws_access_key_id")?, value("aws_secret_access_key")?))
}

/// Rotates `uid` (it must succeed) and checks the outcome in IAM and the
/// vault: alice's only key is the one the record holds now, in its own
/// fields (not added beside them), it works, and the record's password is
/// the one it had. Returns the key. `why` is said when it does not hold.
fn rotate_to_one_working_key(aws: &Aws, k: &Keeper, uid: &str, why: &str) -> (String, String) {
    kp(k, &["rotate", uid]).ok();
    let (key, count) = record_key(k, uid);
    assert_eq!(
        count, 1,
        "{why}: the record's own fields were updated in place"
    );
    assert_eq!(
        aws.user_keys("alice"),
        [(key.0.clone(), "Active".to_string())],
        "{why}: the record's key is alice's only key"
    );
    assert!(aws.key_works(pair(&key), "alice"), "{why}: the key works");
    assert_eq!(
        vault_password(k, uid),
        PASSWORD,
        "{why}: the password is untouched"
    );
    key
}

#[test]
fn awskey_rotates_the_key_and_deletes_the_old_one_only_with_the_new_one_stored() {
    let aws = start();
    let k = vault();
    let uid = key_record(&k, "alice's key", &aws, "alice", aws.first());

    let run = kp(&k, &["rotate", &uid, "--format", "json"]);
    let report = run.json();
    assert_eq!(report[0]["outcome"], "rotated", "{report}");
    let (new, count) = record_key(&k, &uid);
    assert_eq!(count, 1, "the record's own fields were updated in place");
    assert_ne!(new.0, aws.alice.0);
    assert_ne!(new.1, aws.alice.1);
    assert_eq!(
        aws.user_keys("alice"),
        [(new.0.clone(), "Active".to_string())],
        "the old key is gone, the new one is alice's only key"
    );
    assert!(aws.key_works(pair(&new), "alice"), "the new key works");
    assert!(!aws.key_works(aws.first(), "alice"), "the old one does not");
    assert_eq!(
        vault_password(&k, &uid),
        PASSWORD,
        "the password is untouched"
    );
    let tags = as_alice(
        &aws,
        pair(&new),
        &[("Action", "ListUserTags"), ("UserName", "alice")],
    );
    assert!(!tags.contains("keeper-awskey-rotation"), "{tags}");

    // No secret in what keeper printed or audited.
    let audit = kp(&k, &["audit-log", "--record", &uid, "--format", "json"]);
    let shown = run.stdout() + &run.stderr() + &audit.stdout();
    for secret in [&aws.alice.1, &new.1] {
        assert!(!shown.contains(secret.as_str()), "{shown}");
    }
    assert_eq!(audit.json()[0]["plugin"], "awskey");

    // And again, from the new key.
    let third = rotate_to_one_working_key(&aws, &k, &uid, "a second rotation");
    assert_ne!(third.0, new.0);
}

#[test]
fn awskey_a_wrong_secret_user_or_key_is_refused_and_nothing_changes() {
    let aws = start();
    let k = vault();
    let before = aws.user_keys("alice");
    let refused = |uid: &str, expect: &str| {
        let run = kp(&k, &["rotate", uid, "--format", "json"]);
        run.fails();
        let err = run.stdout() + &run.stderr();
        // (JSON: a table would wrap the message.)
        assert!(err.contains(expect), "{expect}: {err}");
        assert!(
            !err.contains(&aws.alice.1),
            "the secret is never shown: {err}"
        );
        assert_eq!(aws.user_keys("alice"), before, "IAM unchanged");
        assert_eq!(vault_password(&k, uid), PASSWORD);
    };

    let wrong = key_record(
        &k,
        "wrong secret",
        &aws,
        "alice",
        (&aws.alice.0, "not-the-secret"),
    );
    refused(&wrong, "SignatureDoesNotMatch");
    let (kept, _) = record_key(&k, &wrong);
    assert_eq!(kept.1, "not-the-secret", "vault unchanged");

    // A user IAM does not know; alice's key, which is not one of bob's;
    // hostile values, refused in the sandbox: nothing is made or deleted.
    let hostile_secret = "it's; -- a \\ secret";
    for (title, login, key, expect) in [
        ("ghost", "ghost", aws.first(), "NoSuchEntity"),
        (
            "not bob's key",
            "bob",
            aws.first(),
            "is not one of IAM user bob's keys",
        ),
        (
            "hostile user",
            "alice&Action=DeleteUser",
            aws.first(),
            "not an IAM user name",
        ),
        (
            "hostile id",
            "alice",
            ("AKIA';--&Action=x", aws.alice.1.as_str()),
            "not an AWS access key id",
        ),
        (
            "hostile secret",
            "alice",
            (aws.alice.0.as_str(), hostile_secret),
            "not an AWS secret access key",
        ),
    ] {
        refused(&key_record(&k, title, &aws, login, key), expect);
    }
    assert!(aws.user_keys("bob").is_empty());
    let endpoint = add(
        &k,
        &[
            "-t",
            "bad endpoint",
            "login=alice",
            &format!("password={PASSWORD}"),
            "c.text.cmdr:plugin=awskey",
            "c.text.cmdr:endpoint_url=http://127.0.0.1:1/path",
            &format!("c.text.aws_access_key_id={}", aws.alice.0),
            &format!("c.secret.aws_secret_access_key={}", aws.alice.1),
        ],
    );
    refused(&endpoint, "cmdr:endpoint_url");
    assert!(
        aws.key_works(aws.first(), "alice"),
        "alice's key still works"
    );
    assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));
}

#[test]
fn awskey_at_the_two_key_limit_never_deletes_the_key_in_use() {
    let aws = start();
    let k = vault();
    let other = as_alice(
        &aws,
        aws.first(),
        &[("Action", "CreateAccessKey"), ("UserName", "alice")],
    );
    let other = element(&other, "AccessKeyId");
    let uid = key_record(&k, "two keys", &aws, "alice", aws.first());

    // An active second key keeper did not make: named, nothing deleted.
    let run = kp(&k, &["rotate", &uid, "--format", "json"]);
    run.fails();
    let report: Value = serde_json::from_str(&run.stdout()).expect("a JSON report");
    assert!(
        report[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("already has a second access key, {other}"))),
        "{report}"
    );
    assert_eq!(aws.user_keys("alice").len(), 2, "both keys stay");
    assert!(aws.key_works(aws.first(), "alice"));
    assert_eq!(
        record_key(&k, &uid).0,
        aws.alice,
        "the record keeps its key"
    );

    // Deactivated, it makes room.
    as_alice(
        &aws,
        aws.first(),
        &[
            ("Action", "UpdateAccessKey"),
            ("UserName", "alice"),
            ("AccessKeyId", &other),
            ("Status", "Inactive"),
        ],
    );
    rotate_to_one_working_key(&aws, &k, &uid, "the inactive key made room");
}

/// keeper killed after IAM made the new key but before it stored it: the
/// key is lost to keeper (an orphan), the resumed rotation rolls back to
/// the record's key, which works, and the next rotation deletes the orphan
/// (the user tag says an interrupted rotation of this key made it).
#[test]
fn awskey_a_retry_deletes_the_key_an_interrupted_rotation_made() {
    let aws = start();
    let k = vault();
    let uid = key_record(&k, "orphan", &aws, "alice", aws.first());
    let out = crash_at(&k, &["rotate", &uid], "before-material");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("injected fault at before-material"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = aws.user_keys("alice");
    assert_eq!(keys.len(), 2, "the orphan exists: {keys:?}");
    assert!(pending_key(&k, &uid).is_none(), "keeper never stored it");
    assert!(aws.key_works(aws.first(), "alice"));

    let report = kp(&k, &["rotate", "--resume", "--format", "json"]).json();
    assert_eq!(report[0]["outcome"], "rolled-back", "{report}");
    assert_eq!(record_key(&k, &uid).0, aws.alice);

    rotate_to_one_working_key(&aws, &k, &uid, "orphan and old key deleted");
}

/// A crash at every stage of the engine (and before the new key is
/// stored): some key the vault holds works against moto at every point,
/// `rotate --resume` settles it, and afterwards alice has exactly the
/// record's key and the record its password.
#[test]
fn awskey_a_crash_at_any_stage_never_loses_a_working_key() {
    let points = keeper::testing::rotation::fault::POINTS
        .into_iter()
        .chain(["before-material"]);
    for point in points {
        let aws = start();
        let k = vault();
        let uid = key_record(&k, "crashy", &aws, "alice", aws.first());
        let out = crash_at(&k, &["rotate", &uid], point);
        assert!(!out.status.success(), "{point}: the fault must kill keeper");

        let stored = record_key(&k, &uid).0;
        let pending = pending_key(&k, &uid);
        assert!(
            aws.key_works(pair(&stored), "alice")
                || pending
                    .as_ref()
                    .is_some_and(|p| aws.key_works(pair(p), "alice")),
            "{point}: LOST: no key the vault holds works"
        );

        let resumed = kp(&k, &["rotate", "--resume", "--format", "json"]);
        assert!(
            resumed.0.status.success(),
            "{point}: {}{}",
            resumed.stdout(),
            resumed.stderr()
        );
        let (key, _) = record_key(&k, &uid);
        assert!(aws.key_works(pair(&key), "alice"), "{point}: after resume");
        assert!(kp(&k, &["rotate", "--resume"]).ok().contains("No pending"));

        assert_eq!(vault_password(&k, &uid), PASSWORD, "{point}");
        rotate_to_one_working_key(&aws, &k, &uid, point);
    }
}
