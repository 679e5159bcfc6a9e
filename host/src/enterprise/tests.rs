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
    msp_from(LICENCES)
}

fn msp_from(licences_file: &str) -> (tempfile::TempDir, Vault, Msp) {
    let dir = tempfile::tempdir().expect("dir");
    let mut vault = Vault::create(
        &dir.path().join("vault.db"),
        "admin@msp.example",
        &SecretString::from("pw"),
        &KdfParams::insecure_fast(),
    )
    .expect("vault");
    let file = dir.path().join("licences.toml");
    std::fs::write(&file, licences_file).expect("write");
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
    let seen = msp.removal(&vault, "Acme").expect("removal");
    assert_eq!(
        seen,
        super::ops::Removal::default(),
        "no users, none moving"
    );
    msp.remove(&mut vault, "Acme", &seen).expect("remove");
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

/// A second top-level tenant of the same store (no CLI command makes one:
/// a store with two, merged from elsewhere), logged in.
fn second_tenant(dir: &tempfile::TempDir, vault: &mut Vault) -> Vault {
    let mut tenant = crate::vault::store::TenantRow {
        uid: crate::vault::crypto::new_uid(),
        name: "Other".into(),
        parent_uid: None,
        created: crate::vault::now_ms(),
        creator_uid: None,
    };
    let (user, _, _) = crate::vault::new_user_row(
        &tenant.uid,
        "other@msp.example",
        &SecretString::from("pw2"),
        &KdfParams::insecure_fast(),
    )
    .expect("user");
    tenant.creator_uid = Some(user.uid.clone());
    vault
        .transact(|tx| {
            tx.insert_tenant(&tenant)?;
            tx.insert_user(&user)
        })
        .expect("tenant");
    Vault::open(&dir.path().join("vault.db"))
        .expect("open")
        .unlock(Some("other@msp.example"), &SecretString::from("pw2"))
        .expect("unlock")
}

/// enterprise-init is for the first user of a top-level tenant: not a
/// tenant another manages, not a user who joined a tenant later.
#[test]
fn only_a_top_level_tenants_first_user_may_init() {
    let dir = tempfile::tempdir().expect("dir");
    let fast = KdfParams::insecure_fast();
    let mut vault = Vault::create(
        &dir.path().join("vault.db"),
        "first@example.com",
        &SecretString::from("pw"),
        &fast,
    )
    .expect("vault");
    let file = dir.path().join("licences.toml");
    std::fs::write(&file, "[[pool]]\nplan = \"business\"\ntotal = 1\n").expect("write");
    vault
        .add_user("later@example.com", &SecretString::from("pw3"), &fast)
        .expect("user");
    vault
        .create_tenant(
            "Managed",
            "sub@example.com",
            &SecretString::from("pw4"),
            &fast,
        )
        .expect("tenant");
    let login = |email: &str, pw: &str| {
        Vault::open(&dir.path().join("vault.db"))
            .expect("open")
            .unlock(Some(email), &SecretString::from(pw))
            .expect("unlock")
    };
    let err = licences::init(&mut login("later@example.com", "pw3"), "X", &file)
        .expect_err("a later user");
    assert!(
        matches!(err, EnterpriseError::NotFirstUser { ref first, .. } if first == "first@example.com"),
        "{err}"
    );
    let err = licences::init(&mut login("sub@example.com", "pw4"), "X", &file)
        .expect_err("a managed tenant");
    assert!(err.to_string().contains("managed by \"default\""), "{err}");
    assert!(
        vault.store_read().enterprises().expect("read").is_empty(),
        "nothing written"
    );
    licences::init(&mut vault, "Mine", &file).expect("the first user may");
}

fn node_rows(vault: &Vault) -> Vec<(i64, String)> {
    let mut rows = Vec::new();
    for e in vault.store_read().enterprises().expect("enterprises") {
        for n in vault
            .store_read()
            .enterprise_nodes(&e.tenant_uid)
            .expect("nodes")
        {
            rows.push((n.node_id, n.tenant_uid));
        }
    }
    rows
}

#[test]
fn a_licences_file_cannot_take_another_tenants_node() {
    let (dir, mut vault, _msp) = msp();
    let before = node_rows(&vault);
    assert_eq!(before.len(), 2, "root and Clients");
    let mut other = second_tenant(&dir, &mut vault);
    let file = dir.path().join("steal.toml");
    let clients = (100_i64 << 32) | 2;
    std::fs::write(
        &file,
        format!("id = 200\n[[nodes]]\nname = \"Mine\"\nid = {clients}\n"),
    )
    .expect("write");
    let err = licences::init(&mut other, "Thief", &file).expect_err("refused");
    assert!(
        err.to_string()
            .contains(&format!("node id {clients} is taken by another enterprise")),
        "{err}"
    );
    assert_eq!(
        node_rows(&other),
        before,
        "the first MSP's nodes are its own"
    );
    assert!(
        other
            .store_read()
            .enterprise(&other.user().tenant_uid)
            .expect("read")
            .is_none(),
        "nothing written"
    );
    // Ids that would wrap the root node id are refused by the file check.
    for bad in ["id = 2147483648\n", "id = 9223372036854775807\n"] {
        std::fs::write(&file, bad).expect("write");
        let err = licences::init(&mut other, "Big", &file).expect_err("refused");
        assert!(
            err.to_string()
                .contains("the MSP's id must be 1 to 2147483647"),
            "{err}"
        );
    }
    std::fs::write(
        &file,
        "[[companies]]\nname = \"C\"\nplan = \"business\"\nid = 9223372036854775807\n",
    )
    .expect("write");
    let err = licences::init(&mut other, "Big", &file).expect_err("refused");
    assert!(err.to_string().contains("its id must be 1 to"), "{err}");
}

#[test]
fn a_second_msp_in_a_store_gets_the_next_id() {
    let (dir, mut vault, msp) = msp();
    msp.add(&mut vault, &add("Acme", "business", 1))
        .expect("add");
    let mut other = second_tenant(&dir, &mut vault);
    let file = dir.path().join("second.toml");
    std::fs::write(&file, "[[pool]]\nplan = \"business\"\ntotal = 1\n").expect("write");
    let made = licences::init(&mut other, "Second", &file).expect("init");
    assert_eq!(
        made.id, 102,
        "above the first MSP (100) and its company (101)"
    );
    let second = Msp::of(&other).expect("admin");
    let state = second.state(&other).expect("state");
    assert_eq!(state.root_node().map(|n| n.id), Some((102_i64 << 32) | 1));
}

fn unlimited_msp() -> (tempfile::TempDir, Vault, Msp) {
    msp_from("id = 100\n[[pool]]\nplan = \"business\"\ntotal = 10\n")
}

#[test]
fn the_unlimited_encoding_is_not_a_way_around_the_permit() {
    let (_dir, mut vault, msp) = msp();
    for seats in [2_147_483_647, 5_000_000_000] {
        let err = msp
            .add(&mut vault, &add("X", "business", seats))
            .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "Managed Company unlimited licences are not allowed"
        );
    }
    msp.add(&mut vault, &add("Acme", "business", 2))
        .expect("add");
    let err = msp
        .update(
            &mut vault,
            "acme",
            &UpdateRequest {
                seats: Some(2_147_483_647),
                ..Default::default()
            },
        )
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "Managed Company unlimited licences are not allowed"
    );
    assert_eq!(available(&vault, &msp, "business"), 8);
}

#[test]
fn unlimited_to_counted_seats_draws_from_the_pool() {
    let (_dir, mut vault, msp) = unlimited_msp();
    msp.add(&mut vault, &add("Big", "business", -1))
        .expect("add");
    assert_eq!(available(&vault, &msp, "business"), 10);
    let err = msp
        .update(
            &mut vault,
            "big",
            &UpdateRequest {
                seats: Some(50),
                ..Default::default()
            },
        )
        .expect_err("overdraw refused");
    assert!(
        matches!(
            err,
            EnterpriseError::Pool {
                available: 10,
                requested: 50,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(available(&vault, &msp, "business"), 10, "nothing changed");
    msp.update(
        &mut vault,
        "big",
        &UpdateRequest {
            seats: Some(7),
            ..Default::default()
        },
    )
    .expect("within the pool");
    assert_eq!(available(&vault, &msp, "business"), 3);
}

/// A distributor's id another tenant's enterprise has is refused, and
/// nothing of the file is written (its MSP neither).
#[test]
fn a_distributor_cannot_take_another_enterprises_id() {
    let (dir, mut vault, _msp) = msp();
    let mut other = second_tenant(&dir, &mut vault);
    let file = dir.path().join("dist.toml");
    std::fs::write(
        &file,
        "id = 100\n[[msps]]\nname = \"A\"\nadmin = \"a@x.example\"\n",
    )
    .expect("write");
    let plan = super::distributor::provision::DistributorPlan::read(&file).expect("plan");
    let prepared = super::distributor::provision::prepare(&other, "D", &plan).expect("may try");
    let (enterprises, users) = (
        vault.store_read().enterprises().expect("read").len(),
        vault.store_read().all_users().expect("read").len(),
    );
    let err = super::distributor::provision::init(
        &mut other,
        &prepared,
        &[SecretString::from("a-pw")],
        &KdfParams::insecure_fast(),
    )
    .expect_err("id 100 is the MSP's");
    assert!(
        err.to_string().contains("enterprise id 100 is taken"),
        "{err}"
    );
    assert_eq!(
        vault.store_read().enterprises().expect("read").len(),
        enterprises
    );
    assert_eq!(vault.store_read().all_users().expect("read").len(), users);
}

/// msp-remove deletes only what its confirmation showed: a user recorded
/// as moving into the company after the confirmation (or a move finished
/// meanwhile) makes it refuse, with the company still there.
#[test]
fn msp_remove_refuses_a_company_changed_since_the_confirmation() {
    use crate::vault::store::roles::UserNodeRow;

    let (_dir, mut vault, msp) = msp();
    msp.add(&mut vault, &add("Acme", "business", 2))
        .expect("add");
    let seen = msp.removal(&vault, "Acme").expect("removal");
    let bob = vault
        .add_user(
            "bob@msp.example",
            &SecretString::from("b"),
            &KdfParams::insecure_fast(),
        )
        .expect("bob");
    let acme = msp
        .state(&vault)
        .expect("state")
        .company("Acme")
        .expect("Acme")
        .tenant_uid
        .clone();
    // (Only the row's tenant counts for the confirmation.)
    let node = 1;
    vault
        .transact(|tx| {
            tx.put_user_node(&UserNodeRow {
                user_uid: bob.uid.clone(),
                tenant_uid: acme.clone(),
                node_id: node,
            })
        })
        .expect("bob recorded as moving into Acme");
    let err = msp
        .remove(&mut vault, "Acme", &seen)
        .expect_err("changed since the confirmation");
    assert!(
        matches!(&err, EnterpriseError::Rejected(why) if why.contains("changed since the confirmation")),
        "{err}"
    );
    assert!(
        msp.state(&vault).expect("state").company("Acme").is_some(),
        "nothing removed"
    );
    // Confirmed again, it goes.
    let seen = msp.removal(&vault, "Acme").expect("removal");
    assert_eq!(seen.moving, ["bob@msp.example"]);
    msp.remove(&mut vault, "Acme", &seen).expect("remove");
}
