//! `keeper plugin new` end to end: a new rotator and a new importer are
//! written, built with `cargo build --target wasm32-wasip2 --release` (the
//! SDK taken from this repository by path), packaged and installed through
//! the binary, and run: the rotator rotates (it changes nothing on any
//! target, as made), the importer imports.

use std::time::Instant;

use serde_json::Value;

use crate::sdk_package::{cargo_in, root};
use crate::vault::{add, kp, vault, vault_password};

#[test]
fn a_new_rotator_and_importer_build_install_and_run() {
    let k = vault();
    let work = tempfile::tempdir().expect("dir");
    let sdk = root().join("plugin-sdk");
    let sdk = sdk.to_str().expect("utf8");
    for (name, kind) in [("acme", "rotator"), ("bulk", "importer")] {
        let dir = work.path().join(name);
        let out = kp(
            &k,
            &[
                "plugin",
                "new",
                name,
                "--kind",
                kind,
                "--dir",
                dir.to_str().expect("utf8"),
                "--sdk-path",
                sdk,
            ],
        )
        .ok();
        assert!(
            out.contains(&format!("Created the {kind} plugin {name}")),
            "{out}"
        );
        assert!(
            out.contains(&format!("release/keeper_plugin_{name}.wasm")),
            "{out}"
        );

        let started = Instant::now();
        let build = cargo_in(
            &dir,
            "plugin-template",
            &["build", "--target", "wasm32-wasip2", "--release"],
        );
        assert!(
            build.status.success(),
            "the new {kind} does not build:\n{}",
            String::from_utf8_lossy(&build.stderr)
        );
        eprintln!("{name}: built in {:.1} s", started.elapsed().as_secs_f64());
        let wasm = crate::sdk_package::target_of("plugin-template")
            .join(format!("wasm32-wasip2/release/keeper_plugin_{name}.wasm"));
        let dist = work.path().join(format!("{name}-dist"));
        kp(
            &k,
            &[
                "plugin",
                "package",
                "--wasm",
                wasm.to_str().expect("utf8"),
                "--manifest",
                dir.join("plugin.toml").to_str().expect("utf8"),
                "--out",
                dist.to_str().expect("utf8"),
            ],
        )
        .ok();
        let installed = kp(
            &k,
            &["plugin", "install", "--grant", dist.to_str().expect("utf8")],
        )
        .ok();
        assert!(
            installed.contains(&format!("Installed {name} 0.1.0")),
            "{installed}"
        );
    }
    let list = kp(&k, &["plugin", "list", "--format", "json"]).json();
    for name in ["acme", "bulk"] {
        assert!(
            list.as_array()
                .expect("array")
                .iter()
                .any(|p| p["name"] == name && p["api_version"] == "1.1.0"),
            "{list}"
        );
    }

    let uid = add(
        &k,
        &[
            "-t",
            "Acme",
            "login=app",
            "password=Old-pass-123",
            "c.text.cmdr:plugin=acme",
        ],
    );
    let report = kp(&k, &["rotate", &uid, "--format", "json"]).json();
    assert_eq!(report[0]["outcome"], "rotated", "{report}");
    assert_ne!(vault_password(&k, &uid), "Old-pass-123");

    let source = work.path().join("source.txt");
    std::fs::write(
        &source,
        "Web,alice,pw-1,https://web.example\nnot a record\nDB,root,pw-2\n",
    )
    .expect("write");
    let out = kp(
        &k,
        &["import", "--format", "bulk", source.to_str().expect("utf8")],
    )
    .ok();
    assert!(out.contains("2 records imported"), "{out}");
    let all = kp(&k, &["ls", "--format", "json"]).json();
    let titles: Vec<&str> = all
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["title"].as_str().or(r["name"].as_str()))
        .collect();
    for title in ["Acme", "Web", "DB"] {
        assert!(titles.contains(&title), "{titles:?}");
    }
    let web: Value = kp(&k, &["get", "Web", "--format", "json", "--unmask"]).json();
    assert!(web.to_string().contains("https://web.example"), "{web}");
}

#[test]
fn plugin_new_refuses_a_bad_name_and_a_folder_with_files() {
    let k = vault();
    let work = tempfile::tempdir().expect("dir");
    let err = kp(
        &k,
        &[
            "plugin",
            "new",
            "Not Valid",
            "--dir",
            work.path().join("x").to_str().expect("utf8"),
        ],
    )
    .fails();
    assert!(err.contains("invalid plugin manifest"), "{err}");
    assert!(!work.path().join("x").exists(), "nothing written");
    std::fs::write(work.path().join("mine.txt"), "keep me").expect("write");
    let err = kp(
        &k,
        &[
            "plugin",
            "new",
            "acme",
            "--dir",
            work.path().to_str().expect("utf8"),
        ],
    )
    .fails();
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(std::fs::read_dir(work.path()).expect("dir").count(), 1);
}
