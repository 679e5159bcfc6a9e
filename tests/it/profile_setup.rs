//! `profile setup --type aws|env|file|keyring`, the container start-up
//! from `KSM_TOKEN` and `profile init -h`, through the binary, on both
//! stores. A machine with an empty environment reads a record as a device
//! whose configuration (what `client add --config-init b64` prints) stays
//! outside keeper.ini and is loaded at each use.
//!
//! AWS is moto's server (tests/it/moto.rs) on loopback with request
//! authentication on: Secrets Manager, IAM users and an STS role session.
//! The EC2 instance metadata service cannot run here: [`Imds`] is a small
//! labelled stand-in on loopback (IMDSv2: a PUT for a session token, GETs
//! carrying it) that hands out that role session's credentials. The
//! keyring is a real Secret Service (gnome-keyring on a private D-Bus
//! session) when `gnome-keyring-daemon` is installed.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::machine::{self, Machine, app_sharing, config_init, location, value_after};
use crate::moto::{Moto, element};
use crate::support::{Keeper, Run, keeper_bin};
use crate::vault::{add, kp, vault};

const PASSWORD: &str = "Db-pass-setup-1!";

/// A vault whose record "Prod DB" is shared with application CI.
fn app() -> Keeper {
    let k = vault();
    add(
        &k,
        &[
            "-t",
            "Prod DB",
            "login=app",
            &format!("password={PASSWORD}"),
        ],
    );
    app_sharing(&k, "Prod DB");
    k
}

/// A device configuration, base64 (`client add --config-init b64`).
fn config(k: &Keeper) -> String {
    value_after(&config_init(k, "CI", "b64"), "Initialized Config:")
}

/// A one-time token of application CI.
fn token(k: &Keeper) -> String {
    machine::token(k, "CI", &[]).0
}

/// What these tests do on a [`Machine`].
impl Machine {
    /// `profile setup --type aws ARGS --ini-file INI`.
    fn setup_aws(&self, args: &[&str], ini: &Path, env: &[(&str, &str)]) -> Command {
        let mut cmd = self.cmd_with(&["profile", "setup", "--type", "aws"], env);
        cmd.args(args).arg("--ini-file").arg(ini);
        cmd
    }

    /// `profile setup --type file --secret SECRET --ini-file INI`.
    fn setup_file(&self, secret: &str, ini: &str) -> Run {
        self.run(&[
            "profile",
            "setup",
            "--type",
            "file",
            "--secret",
            secret,
            "--ini-file",
            ini,
        ])
    }

    /// Runs [`Machine::setup_aws`].
    fn run_setup_aws(&self, args: &[&str], ini: &Path, env: &[(&str, &str)]) -> Run {
        Run(self.setup_aws(args, ini, env).output().expect("run keeper"))
    }

    /// `secret get "Prod DB" --field password EXTRA`.
    fn get_password(&self, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let mut args = vec!["secret", "get", "Prod DB", "--field", "password"];
        args.extend_from_slice(extra);
        self.run_with(&args, env)
    }

    /// [`Machine::get_password`], which must print the password.
    fn reads(&self, extra: &[&str], env: &[(&str, &str)]) {
        assert_eq!(self.get_password(extra, env).ok().trim(), PASSWORD);
    }

    /// Every file under the home, as text (to look for what must not be there).
    fn everything_written(&self) -> String {
        fn walk(dir: &Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
        }
        let mut out = String::new();
        walk(self.home(), &mut out);
        out
    }
}

/// A failure that names `what`, leaves `ini` absent, and shows none of `secrets`.
fn refused(run: Run, what: &[&str], ini: &Path, secrets: &[&str]) -> String {
    let err = run.fails();
    let all = format!("{}{}", run.stdout(), err);
    for w in what {
        assert!(err.contains(w), "expected {w:?} in: {err}");
    }
    for s in secrets {
        assert!(!all.contains(s), "a secret reached the output: {all}");
    }
    assert!(!ini.exists(), "{} was written: {err}", ini.display());
    eprintln!("refused as expected: {}", err.trim());
    err
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// moto with an administrator, the secrets, a device user allowed only
/// GetSecretValue, and a role session (for the instance role) allowed the same.
struct Aws {
    moto: Moto,
    device: (String, String),
    /// Key id, secret, session token of the role session.
    session: (String, String, String),
}

const GET_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;

impl Aws {
    fn new(config: &str) -> Self {
        let moto = Moto::launch(3);
        moto.setup(&[("Action", "CreateUser"), ("UserName", "admin")]);
        let admin = moto.setup(&[("Action", "CreateAccessKey"), ("UserName", "admin")]);
        moto.setup(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "admin"),
            ("PolicyName", "all"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            ),
        ]);
        let admin = (
            element(&admin, "AccessKeyId"),
            element(&admin, "SecretAccessKey"),
        );
        let aws = |service: &str, target: Option<&str>, body: &str| {
            let (status, text) = match target {
                Some(t) => moto.signed_call(
                    (&admin.0, &admin.1),
                    service,
                    &[
                        ("content-type", "application/x-amz-json-1.1"),
                        ("x-amz-target", t),
                    ],
                    body,
                ),
                None => moto.signed_call(
                    (&admin.0, &admin.1),
                    service,
                    &[("content-type", "application/x-www-form-urlencoded")],
                    body,
                ),
            };
            assert_eq!(status, 200, "{service} {target:?}: {text}");
            text
        };
        let iam = |params: &[(&str, &str)]| {
            let (status, text) = moto.signed((&admin.0, &admin.1), params);
            assert_eq!(status, 200, "{params:?}: {text}");
            text
        };
        for (name, value) in [
            ("ksm-config", config),
            ("not-a-config", "hello-not-a-config"),
        ] {
            aws(
                "secretsmanager",
                Some("secretsmanager.CreateSecret"),
                &serde_json::json!({"Name": name, "SecretString": value}).to_string(),
            );
        }
        iam(&[("Action", "CreateUser"), ("UserName", "device")]);
        iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "device"),
            ("PolicyName", "get"),
            ("PolicyDocument", GET_ONLY),
        ]);
        let device = iam(&[("Action", "CreateAccessKey"), ("UserName", "device")]);
        let device = (
            element(&device, "AccessKeyId"),
            element(&device, "SecretAccessKey"),
        );
        // On EC2 the instance assumes its role; here the administrator
        // does, so the trust policy names it (moto checks the trust).
        let admin_arn = element(&iam(&[("Action", "GetUser"), ("UserName", "admin")]), "Arn");
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "sts:AssumeRole"}]})
        .to_string();
        let role = iam(&[
            ("Action", "CreateRole"),
            ("RoleName", "ec2role"),
            ("AssumeRolePolicyDocument", &trust),
        ]);
        iam(&[
            ("Action", "PutRolePolicy"),
            ("RoleName", "ec2role"),
            ("PolicyName", "get"),
            ("PolicyDocument", GET_ONLY),
        ]);
        let arn = element(&role, "Arn");
        let assumed = aws(
            "sts",
            None,
            &format!(
                "Action=AssumeRole&Version=2011-06-15&RoleSessionName=i-0123&RoleArn={}",
                keeper_aws_iam::iam::form_encode(&arn)
            ),
        );
        let session = (
            element(&assumed, "AccessKeyId"),
            element(&assumed, "SecretAccessKey"),
            element(&assumed, "SessionToken"),
        );
        Self {
            moto,
            device,
            session,
        }
    }
}

/// The labelled stand-in for the EC2 instance metadata service (IMDSv2),
/// which cannot run here: a session token for a PUT with a TTL header,
/// then the role's name, its credentials and the region for GETs carrying
/// that token (401 without it). It records each request line.
struct Imds {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Imds {
    fn start(session: (String, String, String)) -> Self {
        const TOKEN: &str = "imds-session-token-1";
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let line = head.lines().next().unwrap_or_default().to_string();
                log.lock().expect("log").push(line.clone());
                let has = |h: &str| head.lines().any(|l| l.starts_with(h));
                let (status, body) = if line.starts_with("put /latest/api/token ") {
                    if has("x-aws-ec2-metadata-token-ttl-seconds:") {
                        (200, TOKEN.to_string())
                    } else {
                        (400, String::new())
                    }
                } else if !head.contains(&format!("x-aws-ec2-metadata-token: {TOKEN}")) {
                    (401, String::new())
                } else if line.starts_with("get /latest/meta-data/iam/security-credentials/ ") {
                    (200, "ec2role".to_string())
                } else if line
                    .starts_with("get /latest/meta-data/iam/security-credentials/ec2role ")
                {
                    (
                        200,
                        serde_json::json!({
                            "Code": "Success", "Type": "AWS-HMAC",
                            "AccessKeyId": session.0, "SecretAccessKey": session.1,
                            "Token": session.2, "Expiration": "2099-01-01T00:00:00Z",
                        })
                        .to_string(),
                    )
                } else if line.starts_with("get /latest/meta-data/placement/region ") {
                    (200, "us-east-1".to_string())
                } else {
                    (404, String::new())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url, seen }
    }
}

/// `setup --type aws` with keys, with an AWS CLI profile (and its
/// endpoint), and with the instance role; then `secret get` as that
/// device, the configuration loaded from moto each time and never written.
/// Wrong keys, a missing secret, a malformed secret and moto down: each a
/// clear error, keeper.ini not written, no secret in the output.
/// `--fallback` reaches the default chain (the environment's key).
#[test]
fn setup_aws_reads_the_configuration_from_secrets_manager() {
    let k = app();
    let config = config(&k);
    let aws = Aws::new(&config);
    let m = Machine::bare();
    let endpoint = aws.moto.url();
    let with_endpoint = [("AWS_ENDPOINT_URL", endpoint.as_str())];
    let (id, secret) = (aws.device.0.as_str(), aws.device.1.as_str());
    let keys_with = |extra: &[&str], secret_key: &str, ini: &Path, env: &[(&str, &str)]| -> Run {
        let mut args = vec![
            "--credentials",
            "keys",
            "--aws-access-key-id",
            id,
            "--aws-secret-access-key",
            secret_key,
            "--region",
            "us-east-1",
        ];
        args.extend_from_slice(extra);
        m.run_setup_aws(&args, ini, env)
    };
    let keys = |extra: &[&str], secret_key: &str, ini: &Path| {
        keys_with(extra, secret_key, ini, &with_endpoint)
    };
    let never_shown = [secret, config.as_str(), "hello-not-a-config"];

    // Keys.
    let out = keys(&[], secret, &m.ini()).ok();
    assert!(
        out.contains("AWS Secrets Manager secret \"ksm-config\""),
        "{out}"
    );
    assert!(!out.contains(secret), "{out}");
    let ini = std::fs::read_to_string(m.ini()).expect("keeper.ini");
    for line in [
        "storage=aws",
        "provider=keys",
        "secret=ksm-config",
        "region=us-east-1",
    ] {
        assert!(ini.contains(line), "{line:?} not in {ini}");
    }
    assert!(
        ini.contains(&format!("aws_secret_access_key={secret}")),
        "{ini}"
    );
    assert!(!ini.contains("privatekey"), "{ini}");
    assert_eq!(mode(&m.ini()), 0o600);
    m.reads(&[], &with_endpoint);
    // notation and exec load it the same way (exec inside keeper's runtime).
    let uid = m
        .run_with(&["secret", "list", "--format", "json"], &with_endpoint)
        .json()[0]["uid"]
        .as_str()
        .expect("uid")
        .to_string();
    let notation = format!("keeper://{uid}/field/password");
    assert_eq!(
        m.run_with(&["secret", "notation", &notation], &with_endpoint)
            .ok()
            .trim(),
        PASSWORD
    );
    let exec = m.run_with(
        &["exec", "--", "sh", "-c", "printf '%s' \"$DB_PW\""],
        &[
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("DB_PW", &notation),
        ],
    );
    assert_eq!(exec.ok(), PASSWORD);
    assert_eq!(
        m.run_with(&["secret", "list", "--format", "json"], &with_endpoint)
            .json()[0]["title"],
        "Prod DB"
    );
    // Exported? No: the configuration is not in keeper.ini.
    let err = m.run_with(&["profile", "export"], &[]).fails();
    assert!(err.contains("is not exported"), "{err}");

    // The errors, each into a fresh keeper.ini that must stay unwritten.
    let fresh = m.home().join("fresh.ini");
    let err = refused(
        keys(&[], "WRONGwrongWRONGwrongWRONGwrongWRONGwrong", &fresh),
        &[
            "AWS Secrets Manager refused",
            "ksm-config",
            id,
            "SignatureDoesNotMatch",
        ],
        &fresh,
        &["WRONGwrongWRONG", config.as_str()],
    );
    assert!(!err.contains(secret), "{err}");
    refused(
        keys(&["--secret", "no-such-secret"], secret, &fresh),
        &["ResourceNotFoundException", "no-such-secret"],
        &fresh,
        &never_shown,
    );
    refused(
        keys(&["--secret", "not-a-config"], secret, &fresh),
        &[
            "does not hold a keeper device configuration",
            "not-a-config",
        ],
        &fresh,
        &never_shown,
    );
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let down = format!("http://{closed}");
    refused(
        keys_with(&[], secret, &fresh, &[("AWS_ENDPOINT_URL", &down)]),
        &["could not be reached", &closed.to_string()],
        &fresh,
        &never_shown,
    );
    // --fallback: the wrong keys fail, the environment's (the default chain) work.
    let fallback_env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", id),
        ("AWS_SECRET_ACCESS_KEY", secret),
    ];
    let wrong_ini = fresh.to_string_lossy().into_owned();
    let setup_wrong = |fallback: bool| {
        let extra: &[&str] = if fallback {
            &["-p", "fb", "--fallback"]
        } else {
            &["-p", "fb"]
        };
        keys_with(extra, "WRONGwrongWRONG", &fresh, &fallback_env)
    };
    refused(
        setup_wrong(false),
        &["AWS Secrets Manager refused", "SignatureDoesNotMatch"],
        &fresh,
        &never_shown,
    );
    setup_wrong(true).ok();
    assert!(
        std::fs::read_to_string(&fresh)
            .expect("ini")
            .contains("fallback=true")
    );
    m.reads(&["--ini-file", &wrong_ini], &fallback_env);

    // An AWS CLI profile: its keys, its region and its endpoint.
    let aws_dir = m.home().join(".aws");
    std::fs::create_dir_all(&aws_dir).expect("~/.aws");
    std::fs::write(
        aws_dir.join("credentials"),
        format!(
            "[ci]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n\
             [session]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            aws.session.0, aws.session.1, aws.session.2
        ),
    )
    .expect("credentials");
    std::fs::write(
        aws_dir.join("config"),
        format!(
            "[profile ci]\nregion = us-east-1\nendpoint_url = {endpoint}\n\
             [profile session]\nregion = us-east-1\nendpoint_url = {endpoint}\n"
        ),
    )
    .expect("config");
    // `setup --credentials profile --credentials-profile NAME` into NAME.ini.
    let with_profile = |name: &str, extra: &[&str], env: &[(&str, &str)]| {
        let ini = m.home().join(format!("{name}.ini"));
        let mut args = vec!["--credentials", "profile", "--credentials-profile", name];
        args.extend_from_slice(extra);
        (m.run_setup_aws(&args, &ini, env), ini)
    };
    let (run, profile_ini) = with_profile("ci", &[], &[]);
    run.ok();
    let text = std::fs::read_to_string(&profile_ini).expect("ini");
    assert!(
        text.contains("provider=profile") && text.contains("credentials_profile=ci"),
        "{text}"
    );
    assert!(!text.contains(secret), "{text}");
    m.reads(&["--ini-file", &profile_ini.to_string_lossy()], &[]);
    // The secret key off the command line: from AWS_SECRET_ACCESS_KEY,
    // else standard input; with neither, refused.
    let ini_s = |name: &str| m.home().join(name).to_string_lossy().into_owned();
    let keys_only = |ini: &str| {
        m.setup_aws(
            &[
                "--credentials",
                "keys",
                "--aws-access-key-id",
                id,
                "--region",
                "us-east-1",
            ],
            Path::new(ini),
            &with_endpoint,
        )
    };
    let from_env = ini_s("env-key.ini");
    let mut cmd = keys_only(&from_env);
    Run(cmd
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .output()
        .expect("run"))
    .ok();
    m.reads(&["--ini-file", &from_env], &with_endpoint);
    let from_stdin = ini_s("stdin-key.ini");
    let key_file = m.home().join("key.txt");
    std::fs::write(&key_file, format!("{secret}\n")).expect("write");
    let mut cmd = keys_only(&from_stdin);
    cmd.stdin(std::fs::File::open(&key_file).expect("open"));
    Run(cmd.output().expect("run")).ok();
    m.reads(&["--ini-file", &from_stdin], &with_endpoint);
    let none = m.home().join("no-key.ini");
    refused(
        Run(keys_only(&none.to_string_lossy()).output().expect("run")),
        &[
            "needs the secret access key: --aws-secret-access-key, AWS_SECRET_ACCESS_KEY or standard input",
        ],
        &none,
        &never_shown,
    );
    // A region that is no region's name is refused before any request,
    // from the environment or from --region (nothing written).
    let err = m
        .run_with(
            &[
                "secret",
                "list",
                "--ini-file",
                &profile_ini.to_string_lossy(),
            ],
            &[("AWS_REGION", "x@evil.example/")],
        )
        .fails();
    assert!(
        err.contains("the AWS region \"x@evil.example/\" is not a region name"),
        "{err}"
    );
    let unwritten = m.home().join("region.ini");
    refused(
        m.run_setup_aws(
            &["--region", "us-east-1.evil.example#"],
            &unwritten,
            &with_endpoint,
        ),
        &["\"us-east-1.evil.example#\" is not a region name"],
        &unwritten,
        &never_shown,
    );
    // Temporary credentials: the session token is signed and sent (moto
    // refuses the role session's key without it).
    let (run, session_ini) = with_profile("session", &[], &[]);
    run.ok();
    m.reads(&["--ini-file", &session_ini.to_string_lossy()], &[]);
    // A profile the files do not have.
    let (run, missing) = with_profile("nope", &["--region", "us-east-1"], &with_endpoint);
    refused(
        run,
        &["no AWS credentials from the AWS profile \"nope\""],
        &missing,
        &never_shown,
    );

    // The instance role, through the metadata stand-in (region from it too).
    let imds = Imds::start(aws.session.clone());
    let role_env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url.as_str()),
    ];
    let role_ini = m.home().join("role.ini");
    let role_ini_s = role_ini.to_string_lossy().into_owned();
    m.run_setup_aws(&[], &role_ini, &role_env).ok();
    let text = std::fs::read_to_string(&role_ini).expect("ini");
    assert!(text.contains("provider=ec2instance"), "{text}");
    m.reads(&["--ini-file", &role_ini_s], &role_env);
    let seen = imds.seen.lock().expect("log").clone();
    assert!(
        seen.iter().any(|l| l.starts_with("put /latest/api/token"))
            && seen
                .iter()
                .any(|l| l.contains("/security-credentials/ec2role"))
            && seen.iter().any(|l| l.contains("/placement/region")),
        "{seen:?}"
    );
    // The role session's key without its token is refused by moto, so the
    // reads above sent and signed the token.
    let no_token = m.home().join("no-token.ini");
    let session_keys = [
        "--credentials",
        "keys",
        "--aws-access-key-id",
        &aws.session.0,
        "--aws-secret-access-key",
        &aws.session.1,
        "--region",
        "us-east-1",
    ];
    refused(
        m.run_setup_aws(&session_keys, &no_token, &with_endpoint),
        &["AWS Secrets Manager refused", "InvalidClientTokenId"],
        &no_token,
        &never_shown,
    );

    // Read at each use, never written: nothing under the home holds the
    // configuration, nor its decoded private key; with moto gone, reading
    // fails clearly.
    let written = m.everything_written();
    assert!(!written.contains(&config));
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(config.trim())
        .expect("base64 configuration");
    let fields: serde_json::Value = serde_json::from_slice(&decoded).expect("JSON configuration");
    let keys: Vec<&str> = fields
        .as_object()
        .expect("object")
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().contains("privatekey"))
        .filter_map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "{:?}",
        fields.as_object().map(|o| o.keys().collect::<Vec<_>>())
    );
    assert!(!written.contains(keys[0]), "the private key was written");
    let secret = secret.to_string();
    drop(aws);
    let err = m.get_password(&[], &with_endpoint).fails();
    assert!(err.contains("could not be reached"), "{err}");
    assert!(!err.contains(PASSWORD) && !err.contains(&secret), "{err}");
}

/// `--type env` and `--type file` round trips; a file others can read is
/// refused at setup and at use; an unset variable is a clear error.
#[test]
fn setup_env_and_file_round_trip() {
    let k = app();
    let config = config(&k);
    let m = Machine::bare();
    let env = [("KSM_CONFIG", config.as_str())];
    // env
    refused(
        m.run_with(&["profile", "setup", "--type", "env"], &[]),
        &["KSM_CONFIG is not set"],
        &m.ini(),
        &[],
    );
    let out = m
        .run_with(&["profile", "setup", "--type", "env"], &env)
        .ok();
    assert!(out.contains("the environment variable KSM_CONFIG"), "{out}");
    let ini = std::fs::read_to_string(m.ini()).expect("ini");
    assert!(
        ini.contains("storage=env") && ini.contains("secret=KSM_CONFIG"),
        "{ini}"
    );
    assert!(!ini.contains(&config), "{ini}");
    m.reads(&[], &env);
    let err = m.run_with(&["secret", "list"], &[]).fails();
    assert!(err.contains("KSM_CONFIG is not set"), "{err}");
    // A damaged configuration in the variable.
    let damaged = format!("{}AAAA", &config[..config.len() - 8]);
    let err = m
        .run_with(&["secret", "list"], &[("KSM_CONFIG", &damaged)])
        .fails();
    assert!(
        err.contains("does not hold a keeper device configuration"),
        "{err}"
    );
    assert!(!err.contains(&damaged[..20]), "{err}");

    // file
    let file = m.home().join("ksm.conf");
    std::fs::write(&file, &config).expect("write");
    chmod(&file, 0o644);
    let file_s = file.to_string_lossy().into_owned();
    let ini2 = m.home().join("file.ini");
    let ini2_s = ini2.to_string_lossy().into_owned();
    let setup = || m.setup_file(&file_s, &ini2_s);
    refused(
        setup(),
        &["can be read by other users", "chmod 600"],
        &ini2,
        &[&config],
    );
    chmod(&file, 0o600);
    setup().ok();
    m.reads(&["--ini-file", &ini2_s], &[]);
    chmod(&file, 0o640);
    let err = m
        .run_with(&["secret", "list", "--ini-file", &ini2_s], &[])
        .fails();
    assert!(err.contains("can be read by other users"), "{err}");
    // Refused at use: someone else's file, a FIFO (at once, not waited
    // on), a file larger than a configuration can be.
    let use_it = || {
        m.run_with(&["secret", "list", "--ini-file", &ini2_s], &[])
            .fails()
    };
    chmod(&file, 0o600);
    let me = std::fs::metadata(&file).map(|md| std::os::unix::fs::MetadataExt::uid(&md));
    if me.is_ok_and(|uid| uid == 0) {
        std::os::unix::fs::chown(&file, Some(4242), None).expect("chown");
        let err = use_it();
        assert!(
            err.contains("belongs to user 4242, not to this user (0)"),
            "{err}"
        );
        std::os::unix::fs::chown(&file, Some(0), None).expect("chown");
    } else {
        eprintln!("not root: the foreign-owner case is not run");
    }
    std::fs::write(&file, format!("{config}{}", " ".repeat(64 * 1024))).expect("write");
    let err = use_it();
    assert!(err.contains("is larger than 65536 bytes"), "{err}");
    std::fs::remove_file(&file).expect("rm");
    let made = Command::new("mkfifo").arg(&file).status().expect("mkfifo");
    assert!(made.success());
    let started = std::time::Instant::now();
    let err = use_it();
    assert!(err.contains("is not a regular file"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    std::fs::remove_file(&file).expect("rm");
    // A relative --secret is kept absolute in keeper.ini.
    std::fs::write(&file, &config).expect("write");
    chmod(&file, 0o600);
    let ini3 = m.home().join("relative.ini");
    let ini3_s = ini3.to_string_lossy().into_owned();
    m.setup_file("ksm.conf", &ini3_s).ok();
    let text = std::fs::read_to_string(&ini3).expect("ini");
    assert!(text.contains(&format!("secret={file_s}")), "{text}");
    // --type file needs its path; AWS flags go with aws only.
    let err = m
        .run_with(&["profile", "setup", "--type", "file", "-p", "x"], &[])
        .fails();
    assert!(err.contains("--type file needs --secret PATH"), "{err}");
    let err = m
        .run_with(
            &["profile", "setup", "--type", "env", "--region", "eu-west-1"],
            &env,
        )
        .fails();
    assert!(err.contains("--region goes with --type aws"), "{err}");
}

/// `--type keyring`. Without a Secret Service (no D-Bus session, as on a
/// server) setup fails saying so and writes nothing. With gnome-keyring
/// on a private D-Bus session (when installed): the configuration given on
/// standard input is stored in the keyring, and read back from it.
#[test]
fn setup_keyring_with_and_without_a_secret_service() {
    let k = app();
    let config = config(&k);
    let m = Machine::bare();
    let cfg = m.home().join("config.b64");
    std::fs::write(&cfg, &config).expect("write");
    let mut cmd = m.cmd_with(&["profile", "setup", "--type", "keyring"], &[]);
    cmd.stdin(std::fs::File::open(&cfg).expect("open"));
    let err = refused(
        Run(cmd.output().expect("run")),
        &["the OS keyring", "Secret Service"],
        &m.ini(),
        &[&config],
    );
    assert!(err.contains("--type file or --type env"), "{err}");

    let daemon = Command::new("sh")
        .args([
            "-c",
            "command -v gnome-keyring-daemon && command -v dbus-run-session",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !daemon {
        assert!(
            std::env::var_os("KEEPER_REQUIRE_SECRET_SERVICE").is_none(),
            "gnome-keyring-daemon, dbus-run-session and dbus-send are required (scripts/lib.sh ensure_secret_service)"
        );
        eprintln!(
            "skipped the keyring round trip: no gnome-keyring-daemon/dbus-run-session/dbus-send here"
        );
        return;
    }
    // One D-Bus session for the daemon and both keeper runs.
    // The daemon is started unlocked (it makes a "login" collection) in
    // the foreground of this shell, which stops it at the end; keeper runs
    // only once it owns the Secret Service name (a request before that
    // would have D-Bus start a second, locked daemon).
    let script = format!(
        "printf keyring-pw | gnome-keyring-daemon --foreground --unlock --components=secrets \
         >/dev/null 2>&1 & daemon=$!; trap 'kill $daemon' EXIT; \
         i=0; until dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
         org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; do \
         i=$((i+1)); [ $i -gt 100 ] && exit 8; sleep 0.1; done; \
         {bin} profile setup --type keyring --secret ci-config < {cfg} && \
         {bin} secret get 'Prod DB' --field password",
        bin = keeper_bin().display(),
        cfg = cfg.display()
    );
    let mut session = Command::new("dbus-run-session");
    session
        .args(["--", "sh", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", m.home())
        .env("KEEPER_DATA_DIR", m.home().join("data"))
        .current_dir(m.home())
        .stdin(Stdio::null());
    let run = Run(session.output().expect("dbus-run-session"));
    let out = run.ok();
    assert!(out.contains("the OS keyring entry \"ci-config\""), "{out}");
    assert_eq!(
        out.lines().last().unwrap_or_default().trim(),
        PASSWORD,
        "{out}"
    );
    let ini = std::fs::read_to_string(m.ini()).expect("ini");
    assert!(
        ini.contains("storage=keyring") && ini.contains("secret=ci-config"),
        "{ini}"
    );
    assert!(!ini.contains(&config), "{ini}");
}

/// A container's machine with no keeper.ini anywhere, for application CI's
/// vault; its token is for KSM_TOKEN and its keeper.ini goes to KSM_INI_DIR.
struct Container {
    k: Keeper,
    store: String,
    m: Machine,
    /// A folder of the machine's home, made empty.
    ini_dir: PathBuf,
    token: String,
}

impl Container {
    /// A container whose KSM_INI_DIR is `ini_dir` in its home.
    fn new(ini_dir: &str) -> Self {
        let k = app();
        let m = Machine::bare();
        let ini_dir = m.home().join(ini_dir);
        std::fs::create_dir_all(&ini_dir).expect("dir");
        Self {
            store: location(&k),
            token: token(&k),
            k,
            m,
            ini_dir,
        }
    }

    /// KSM_TOKEN, KEEPER_STORE and KSM_INI_DIR.
    fn env(&self) -> [(&str, &str); 3] {
        [
            ("KSM_TOKEN", &self.token),
            ("KEEPER_STORE", &self.store),
            ("KSM_INI_DIR", self.ini_dir.to_str().expect("utf-8")),
        ]
    }
}

/// Another bare machine running `secret list` with `env` is refused,
/// saying `what`, and writes no keeper.ini.
fn refused_elsewhere(env: &[(&str, &str)], what: &str) {
    let other = Machine::bare();
    let err = other.run_with(&["secret", "list"], env).fails();
    assert!(err.contains(what), "{err}");
    assert!(!other.ini().exists());
}

/// A container: no keeper.ini anywhere and a token in KSM_TOKEN. The first
/// reading command initialises profile "default" into KSM_INI_DIR (0600);
/// a second run reads through it without touching the token again (it
/// would be refused as used) and leaves the file as it was. KEEPER_INI_DIR
/// wins over KSM_INI_DIR; without either the file goes to the current folder.
#[test]
fn a_container_initialises_itself_from_ksm_token_once() {
    let c = Container::new("ksm");
    let (k, store, m, ksm_dir) = (&c.k, &c.store, &c.m, &c.ini_dir);
    let env = c.env();
    let first = m.get_password(&[], &env);
    // Standard output is the password alone (scripts capture it).
    assert_eq!(first.ok().trim(), PASSWORD);
    assert!(
        first.stderr().contains("initialising profile default"),
        "{}",
        first.stderr()
    );
    let ini = ksm_dir.join("keeper.ini");
    let before = std::fs::read(&ini).expect("keeper.ini in KSM_INI_DIR");
    assert_eq!(mode(&ini), 0o600);
    assert!(!m.ini().exists());
    let second = m.get_password(&[], &env);
    assert_eq!(second.ok().trim(), PASSWORD);
    assert!(
        !second.stderr().contains("initialising"),
        "{}",
        second.stderr()
    );
    assert_eq!(std::fs::read(&ini).expect("ini"), before);
    // Without a token nothing is initialised: the usual error.
    refused_elsewhere(
        &[("KEEPER_STORE", store)],
        "initialise one with `keeper profile init --token TOKEN`",
    );
    // KEEPER_INI_DIR before KSM_INI_DIR; KEEPER_CLI_TOKEN too.
    let ours = m.home().join("ours");
    std::fs::create_dir_all(&ours).expect("dir");
    let t2 = token(k);
    m.run_with(
        &["secret", "list"],
        &[
            ("KEEPER_CLI_TOKEN", t2.as_str()),
            ("KEEPER_STORE", store.as_str()),
            ("KEEPER_INI_DIR", ours.to_str().expect("utf-8")),
            (
                "KSM_INI_DIR",
                m.home().join("unused").to_str().expect("utf-8"),
            ),
        ],
    )
    .ok();
    assert!(ours.join("keeper.ini").exists());
    // The current folder, and KSM_INI_FILE naming the file.
    let t3 = token(k);
    m.run_with(
        &["secret", "list"],
        &[
            ("KSM_TOKEN", t3.as_str()),
            ("KEEPER_STORE", store.as_str()),
            ("KSM_INI_FILE", "container.ini"),
        ],
    )
    .ok();
    assert!(m.home().join("container.ini").exists());
    assert!(!m.ini().exists());
}

/// `profile init -h REGION` keeps the region in the profile (checked like
/// the rest of it); an unknown region is refused before the token is
/// spent; `--help` still prints help.
#[test]
fn profile_init_takes_a_hostname() {
    let k = app();
    let store = location(&k);
    let m = Machine::bare();
    let t = token(&k);
    let err = m
        .run_with(
            &["--store", &store, "profile", "init", "-t", &t, "-h", "MARS"],
            &[],
        )
        .fails();
    assert!(
        err.contains("MARS") && err.contains("US") && err.contains("EU") && err.contains("US_GOV"),
        "{err}"
    );
    assert!(!m.ini().exists());
    m.run_with(
        &["--store", &store, "profile", "init", "-t", &t, "-h", "eu"],
        &[],
    )
    .ok();
    let ini = std::fs::read_to_string(m.ini()).expect("ini");
    assert!(ini.contains("hostname=EU"), "{ini}");
    m.reads(&[], &[]);
    // The hostname is under the check: editing it is refused.
    std::fs::write(m.ini(), ini.replace("hostname=EU", "hostname=JP")).expect("write");
    let err = m.run_with(&["secret", "list"], &[]).fails();
    assert!(err.contains("tampered"), "{err}");
    // It travels with an export.
    std::fs::write(m.ini(), &ini).expect("write");
    let plain = m.run_with(&["profile", "export", "--plain"], &[]).ok();
    assert!(plain.contains("\"hostname\": \"EU\""), "{plain}");
    let help = m.run_with(&["profile", "init", "--help"], &[]).ok();
    assert!(help.contains("--hostname") && help.contains("-h"), "{help}");
}

/// `exec` hands its child none of the device's secrets: not the variable
/// an env profile's configuration is in, not a one-time token under any of
/// its names. The child still gets what it asked for and the rest.
#[test]
fn exec_keeps_the_device_secrets_from_its_child() {
    let k = app();
    let config = config(&k);
    let store = location(&k);
    let m = Machine::bare();
    let env = [("MY_DEVICE", config.as_str())];
    m.run_with(
        &["profile", "setup", "--type", "env", "--secret", "MY_DEVICE"],
        &env,
    )
    .ok();
    let t = token(&k);
    let run = m.run_with(
        &["exec", "--", "env"],
        &[
            ("MY_DEVICE", config.as_str()),
            ("KSM_CONFIG", config.as_str()),
            ("KEEPER_CLI_TOKEN", t.as_str()),
            ("KSM_TOKEN", t.as_str()),
            ("KSM_CLI_TOKEN", t.as_str()),
            ("KEEPER_STORE", store.as_str()),
            ("DB_PW", "keeper://Prod DB/field/password"),
            ("UNRELATED", "kept"),
        ],
    );
    let out = run.ok();
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, _)| n)
        .collect();
    for gone in [
        "MY_DEVICE",
        "KSM_CONFIG",
        "KEEPER_CLI_TOKEN",
        "KSM_TOKEN",
        "KSM_CLI_TOKEN",
    ] {
        assert!(
            !names.contains(&gone),
            "{gone} reached the child: {names:?}"
        );
    }
    assert!(
        !out.contains(&config) && !out.contains(&t),
        "a secret reached the child"
    );
    assert!(
        out.lines().any(|l| l == format!("DB_PW={PASSWORD}")),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "UNRELATED=kept"), "{out}");
}

/// Runs keeper with each of `args` (a shell-quoted argument string) in
/// processes that wait for one file, so they start together.
fn together(m: &Machine, args: &[String], env: &[(&str, &str)]) -> Vec<Run> {
    let go = m.home().join("go");
    let _ = std::fs::remove_file(&go);
    let base = m.cmd_with(&[], env);
    let children: Vec<_> = args
        .iter()
        .map(|a| {
            let script = format!(
                "until [ -e {go} ]; do sleep 0.01; done; exec {bin} {a}",
                go = go.display(),
                bin = keeper_bin().display()
            );
            Command::new("sh")
                .args(["-c", &script])
                .env_clear()
                .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
                .current_dir(m.home())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::write(&go, "").expect("go");
    children
        .into_iter()
        .map(|c| Run(c.wait_with_output().expect("wait")))
        .collect()
}

/// Several containers' processes start at once on one volume, all from one
/// token, with no keeper.ini yet: each reads the secret; the token is
/// redeemed once (one "initialising", one device bound); keeper.ini is
/// whole (one profile, which reads). A token already spent elsewhere
/// fails saying so, and writes nothing.
#[test]
fn parallel_auto_inits_from_one_token_redeem_it_once() {
    let c = Container::new("shared");
    let (k, store, m, dir) = (&c.k, &c.store, &c.m, &c.ini_dir);
    let env = c.env();
    let runs = together(
        m,
        &vec!["secret get 'Prod DB' --field password".to_string(); 8],
        &env,
    );
    let mut initialised = 0;
    for run in &runs {
        assert_eq!(run.stdout().trim(), PASSWORD, "{}", run.stderr());
        initialised += usize::from(run.stderr().contains("initialising profile default"));
    }
    assert_eq!(initialised, 1, "the token was redeemed more than once");
    let ini = std::fs::read_to_string(dir.join("keeper.ini")).expect("ini");
    assert_eq!(ini.matches("[default]").count(), 1, "{ini}");
    let clients = kp(
        k,
        &[
            "secrets-manager",
            "client",
            "list",
            "--app",
            "CI",
            "--format",
            "json",
        ],
    )
    .json();
    let bound = clients
        .as_array()
        .expect("clients")
        .iter()
        .filter(|c| c["bound"].is_number())
        .count();
    assert_eq!(bound, 1, "{clients}");
    // Another machine with the spent token: refused, nothing written.
    refused_elsewhere(
        &[("KSM_TOKEN", &c.token), ("KEEPER_STORE", store)],
        "this one-time token was already used",
    );
}

/// `profile setup` runs at once into one keeper.ini, each adding its own
/// profile: every profile is there afterwards (none lost to another's
/// write), and each reads.
#[test]
fn parallel_setups_keep_each_others_profiles() {
    let k = app();
    let config = config(&k);
    let m = Machine::bare();
    let env = [("KSM_CONFIG", config.as_str())];
    let names: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
    let args: Vec<String> = names
        .iter()
        .map(|n| format!("profile setup --type env -p {n}"))
        .collect();
    for run in together(&m, &args, &env) {
        run.ok();
    }
    for n in &names {
        m.reads(&["--profile", n], &env);
    }
    let listed = m
        .run_with(&["profile", "list", "--format", "json"], &[])
        .json();
    assert_eq!(
        listed.as_array().expect("list").len(),
        names.len(),
        "{listed}"
    );
}

/// The process dies (abort, as kill -9) after the vault bound the device
/// and before keeper.ini was saved: the key is in keeper.ini.pending
/// (0600), and the next run with the same token completes with it instead
/// of failing with a spent token; the pending file is then gone.
#[test]
fn a_crash_between_bind_and_save_loses_no_device() {
    let k = app();
    let store = location(&k);
    let m = Machine::bare();
    let t = token(&k);
    let env = [("KSM_TOKEN", t.as_str()), ("KEEPER_STORE", store.as_str())];
    let mut crashing = env.to_vec();
    crashing.push(("KEEPER_FAULT", "after-bind"));
    let crashed = m.run_with(&["secret", "list"], &crashing);
    assert!(
        crashed.stderr().contains("injected fault at after-bind"),
        "{}",
        crashed.stderr()
    );
    assert!(!m.ini().exists());
    let pending = m.home().join("keeper.ini.pending");
    assert_eq!(mode(&pending), 0o600);
    let run = m.get_password(&[], &env);
    assert_eq!(run.ok().trim(), PASSWORD);
    assert!(
        run.stderr()
            .contains("Completing the earlier initialisation"),
        "{}",
        run.stderr()
    );
    assert!(!pending.exists());
    m.reads(&[], &[]);
}
