//! The enterprise layer on a SQLite vault: provisioning, pool
//! accounting, refusals that write nothing, the ledger, and the key
//! hierarchy (one company's data does not open with another's key).

use secrecy::SecretString;

use super::ops::{AddRequest, UpdateRequest};
use super::{EnterpriseError, Msp, licences};
use crate::vault::crypto::KdfParams;
use crate::vault::{Vault, ad};

const LICENCES: &str = "id = 100\n\
    [[pool]]\nplan = \"business\"\ntotal = 10\n\
    [[pool]]\nplan = \"enterprise\"\ntotal = 5\nstash = 1\n\
    [permits]\nallowed_products = [\"business\", \"enterprise\"]\n\
    allowed_addons = [\"connection_manager\", \"remote_browser_isolation\", \"chat\"]\n\
    max_file_plan = \"1TB\"\n\
    [[nodes]]\nname = \"Clients\"\n";

fn msp() -> (tempfile::TempDir, Vault, Msp) {
    let dir = tempfile::tempdir().expect("dir");
    let mut vault = Vault::create(
        &dir.path().join("vault.db"),
        "admin@msp.example",
        &SecretString::from("pw"),
        &KdfParams::insecure_fast(),
    )
    .expect("vault");
    let file = dir.path().join("licences.toml");
    std::fs::write(&file, LICENCES).expect("write");
    let made = licences::init(&mut vault, "My MSP", &file).expect("init");
    assert_eq!((made.id, made.companies), (100, 0));
    let msp = Msp::of(&vault).expect("the admin is logged in");
    (dir, vault, msp)
}

fn add(name: &str, plan: &str, seats: i64) -> AddRequest {
    AddRequest {
        name: name.into(),
        plan: plan.into(),
        seats: Some(seats),
        ..AddRequest::default()
    }
}

fn available(vault: &Vault, msp: &Msp, plan: &str) -> i64 {
    let state = msp.state(vault).expect("state");
    state
        .pool()
        .into_iter()
        .find(|p| p.plan_id == plan)
        .map(|p| p.available_licenses)
        .expect("plan in pool")
}

#[test]
fn seats_come_from_the_pool_and_go_back_to_it() {
    let (_dir, mut vault, msp) = msp();
    assert_eq!(available(&vault, &msp, "business"), 10);
    let a = msp
        .add(&mut vault, &add("Acme", "business", 4))
        .expect("add");
    assert_eq!((a.company_id, a.node.as_str()), (101, "My MSP"));
    assert_eq!(available(&vault, &msp, "business"), 6);
    msp.update(
        &mut vault,
        "acme",
        &UpdateRequest {
            seats: Some(6),
            ..Default::default()
        },
    )
    .expect("grow");
    assert_eq!(available(&vault, &msp, "business"), 4);
    msp.update(
        &mut vault,
        "101",
        &UpdateRequest {
            plan: Some("enterprise".into()),
            seats: Some(5),
            ..Default::default()
        },
    )
    .expect("move to enterprise");
    assert_eq!(available(&vault, &msp, "business"), 10);
    assert_eq!(available(&vault, &msp, "enterprise"), 0);
    let err = msp
        .add(&mut vault, &add("Beta", "enterprise", 1))
        .expect_err("pool empty");
    assert!(
        matches!(
            err,
            EnterpriseError::Pool {
                available: 0,
                requested: 1,
                total: 5,
                ..
            }
        ),
        "{err}"
    );
    msp.remove(&mut vault, "Acme").expect("remove");
    assert_eq!(available(&vault, &msp, "enterprise"), 5);
    let ledger = vault.store_read().billing_events(&msp.uid).expect("ledger");
    let lines: Vec<String> = ledger
        .iter()
        .map(|e| format!("{} {} {} {}", e.mc_id, e.change, e.product, e.licences))
        .collect();
    assert_eq!(
        lines,
        [
            "101 added business 4",
            "101 seats business 6",
            "101 plan business 0",
            "101 plan enterprise 5",
            "101 removed enterprise 0",
        ]
    );
}

#[test]
fn refusals_name_the_problem_and_write_nothing() {
    let (_dir, mut vault, msp) = msp();
    msp.add(&mut vault, &add("Acme", "business", 1))
        .expect("add");
    let before = vault.store_read().row_counts().expect("counts");
    let refused =
        |vault: &mut Vault, req: AddRequest| msp.add(vault, &req).expect_err("refused").to_string();
    assert_eq!(
        refused(&mut vault, add("X", "businessPlus", 1)),
        "Managed Company plan \"businessPlus\" is not allowed"
    );
    assert_eq!(
        refused(&mut vault, add("X", "business", -1)),
        "Managed Company unlimited licences are not allowed"
    );
    assert_eq!(
        refused(&mut vault, add("ACME", "business", 1)),
        "Managed company 'ACME' already exists: Skipping"
    );
    assert_eq!(
        refused(
            &mut vault,
            AddRequest {
                file_plan: Some("10TB".into()),
                ..add("X", "business", 1)
            }
        ),
        "Managed Company file storage \"10TB\" is not allowed"
    );
    assert_eq!(
        refused(
            &mut vault,
            AddRequest {
                node: Some("Nowhere".into()),
                ..add("X", "business", 1)
            }
        ),
        "Node \"Nowhere\" is not found"
    );
    assert_eq!(
        refused(
            &mut vault,
            AddRequest {
                addons: vec!["remote_browser_isolation".into()],
                ..add("X", "business", 1)
            }
        ),
        "Addon \"remote_browser_isolation\" requires \"connection_manager\" to be selected"
    );
    assert_eq!(
        refused(
            &mut vault,
            AddRequest {
                addons: vec!["password_rotation".into()],
                ..add("X", "business", 1)
            }
        ),
        "Managed Company add-on \"password_rotation\" is not allowed"
    );
    assert_eq!(
        msp.update(&mut vault, "nobody", &UpdateRequest::default())
            .expect_err("no mc")
            .to_string(),
        "Managed Company \"nobody\" not found"
    );
    assert_eq!(vault.store_read().row_counts().expect("counts"), before);
}

#[test]
fn each_company_has_its_own_tree_key_under_the_msps() {
    let (_dir, mut vault, msp) = msp();
    msp.add(
        &mut vault,
        &AddRequest {
            node: Some("Clients".into()),
            ..add("Acme", "business", 1)
        },
    )
    .expect("add");
    msp.add(&mut vault, &add("Beta", "business", 1))
        .expect("add");
    let rows = vault
        .store_read()
        .managed_companies(&msp.uid)
        .expect("rows");
    let (a, b) = (&rows[0], &rows[1]);
    let (ka, kb) = (
        msp.company_key(a).expect("a"),
        msp.company_key(b).expect("b"),
    );
    assert_ne!(ka.expose(), kb.expose());
    assert!(
        ka.open(&a.data, &ad::enterprise_data(&a.tenant_uid))
            .is_ok()
    );
    assert!(
        kb.open(&a.data, &ad::enterprise_data(&a.tenant_uid))
            .is_err(),
        "B's key opens A's data"
    );
    assert!(
        ka.open(&b.data, &ad::enterprise_data(&b.tenant_uid))
            .is_err(),
        "A's key opens B's data"
    );
    assert_eq!(a.node_id, 100 << 32 | 2, "the Clients node");
}
