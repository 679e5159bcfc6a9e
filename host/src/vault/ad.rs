//! Associated-data strings: every sealed blob is bound to where it belongs
//! (tenant, user, record, holder, revision…), so a blob moved elsewhere
//! fails to open.

pub fn data_key(tenant: &str, user: &str, kdf: &[u8]) -> Vec<u8> {
    let mut v = format!("keeper/v1/data-key|{tenant}|{user}|").into_bytes();
    v.extend_from_slice(kdf);
    v
}
pub fn private_key(user: &str) -> Vec<u8> {
    format!("keeper/v1/private-key|{user}").into_bytes()
}
pub fn record_key(record: &str, holder: &str) -> Vec<u8> {
    format!("keeper/v1/record-key|{record}|{holder}").into_bytes()
}
/// A record key shared until `expires` (epoch ms): the end is bound
/// to the key, so a store that drops it cannot revive the share.
pub fn record_key_until(record: &str, holder: &str, expires: Option<i64>) -> Vec<u8> {
    let mut v = record_key(record, holder);
    if let Some(t) = expires {
        v.extend_from_slice(format!("|expires={t}").as_bytes());
    }
    v
}
pub fn record(uid: &str, revision: i64) -> Vec<u8> {
    format!("keeper/v1/record|{uid}|{revision}").into_bytes()
}
pub fn folder(uid: &str) -> Vec<u8> {
    format!("keeper/v1/folder|{uid}").into_bytes()
}
pub fn shared_folder_key(folder: &str, holder: &str) -> Vec<u8> {
    format!("keeper/v1/shared-folder-key|{folder}|{holder}").into_bytes()
}
pub fn team_key(team: &str, user: &str) -> Vec<u8> {
    format!("keeper/v1/team-key|{team}|{user}").into_bytes()
}
pub fn attachment(record: &str, file: &str) -> Vec<u8> {
    format!("keeper/v1/file|{record}|{file}").into_bytes()
}
pub fn pending(record: &str) -> Vec<u8> {
    format!("keeper/v1/pending|{record}").into_bytes()
}
pub fn device_session(tenant: &str, user: &str, header: &[u8], context: &str) -> Vec<u8> {
    let mut v = format!("keeper/v1/device-session|{tenant}|{user}|{context}|").into_bytes();
    v.extend_from_slice(header);
    v
}
/// An enterprise's tree key, wrapped for one of its admins.
pub fn tree_key(tenant: &str, user: &str) -> Vec<u8> {
    format!("keeper/v1/tree-key|{tenant}|{user}").into_bytes()
}
/// A managed company's tree key, wrapped under its MSP's.
pub fn mc_tree_key(mc: &str, msp: &str) -> Vec<u8> {
    format!("keeper/v1/mc-tree-key|{mc}|{msp}").into_bytes()
}
/// An enterprise's own data (root node and admin role names), sealed
/// under its tree key.
pub fn enterprise_data(tenant: &str) -> Vec<u8> {
    format!("keeper/v1/enterprise-data|{tenant}").into_bytes()
}
/// A node's name, sealed under its enterprise's tree key.
pub fn node(tenant: &str, node_id: i64) -> Vec<u8> {
    format!("keeper/v1/node|{tenant}|{node_id}").into_bytes()
}
/// A role's name, sealed under its enterprise's tree key.
pub fn role(tenant: &str, role_id: i64) -> Vec<u8> {
    format!("keeper/v1/role|{tenant}|{role_id}").into_bytes()
}
/// An application's key, wrapped under its owner's data key.
pub fn app_key(app: &str, owner: &str) -> Vec<u8> {
    format!("keeper/v1/app-key|{app}|{owner}").into_bytes()
}
/// An application's key wrapped under a one-time token's key, usable
/// until `expires` (epoch ms); the device's access, when it has an end,
/// lasts `access_minutes` from its first use (`None`: as before schema 6).
pub fn client_token(client: &str, app: &str, expires: i64, access_minutes: Option<i64>) -> Vec<u8> {
    let mut v = format!("keeper/v1/client-token|{client}|{app}|{expires}").into_bytes();
    if let Some(m) = access_minutes {
        v.extend_from_slice(format!("|access-minutes={m}").as_bytes());
    }
    v
}
/// A one-time token's key wrapped under the application owner's data key
/// (so that re-keying the application can reach a waiting token).
pub fn client_token_key(client: &str, app: &str, owner: &str) -> Vec<u8> {
    format!("keeper/v1/client-token-key|{client}|{app}|{owner}").into_bytes()
}
/// An application's key sealed to a client device, whose access ends at
/// `expires` (epoch ms; `None`: never). Clearing the end in the store
/// does not revive an expired device.
pub fn client_app_key(client: &str, app: &str, expires: Option<i64>) -> Vec<u8> {
    let end = expires.map_or_else(|| "never".to_string(), |t| t.to_string());
    format!("keeper/v1/client-app-key|{client}|{app}|{end}").into_bytes()
}
