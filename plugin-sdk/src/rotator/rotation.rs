//! [`Rotation`]: everything one rotation step gets from the host.

use crate::bindings::rotator::exports::keeper::plugin::rotator as wit;
#[cfg(feature = "v1_1")]
use crate::bindings::rotator_v1_1::exports::keeper::plugin::rotator as wit_v1_1;
use crate::{Field, PluginError, RecordView, Secret, Target};

/// Everything one rotation step needs.
///
/// The host builds it; in native unit tests of a plugin, build one with
/// [`Rotation::new`] and the `with_*` setters.
///
/// ```
/// use keeper_plugin_sdk::{Rotation, Target};
///
/// let req = Rotation::new("app", "old-pw", "new-pw")
///     .with_param("user_host", "%")
///     .with_target(Target { host: "db1".into(), port: 3306, address: "10.0.0.5:3306".into() });
/// assert_eq!(req.param("user_host"), Some("%"));
/// assert_eq!(req.new_password().expose(), "new-pw");
/// assert_eq!(req.target().map(|t| t.port), Ok(3306));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Rotation {
    record: RecordView,
    target: Option<Target>,
    params: Vec<(String, String)>,
    login: String,
    old_password: Secret,
    new_password: Secret,
    prepared: Vec<Field>,
}

impl Rotation {
    /// A rotation of `login`'s password from `old_password` to
    /// `new_password`, with an empty record, no target and no parameters.
    pub fn new(
        login: impl Into<String>,
        old_password: impl Into<Secret>,
        new_password: impl Into<Secret>,
    ) -> Self {
        Self {
            login: login.into(),
            old_password: old_password.into(),
            new_password: new_password.into(),
            ..Self::default()
        }
    }

    /// Sets the record.
    pub fn with_record(mut self, record: RecordView) -> Self {
        self.record = record;
        self
    }

    /// Sets the pinned target.
    pub fn with_target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Adds a parameter (a later one with the same name does not override
    /// an earlier one; the host sends each name once).
    pub fn with_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Adds prepared credential material.
    pub fn with_prepared(mut self, field: Field) -> Self {
        self.prepared.push(field);
        self
    }

    /// The record being rotated, as the host shows it: its `login`, `host`
    /// and `url` fields, its first `password` field, its `cmdr:*` custom
    /// fields and the fields the manifest's `[fields] needs` names. No notes.
    pub fn record(&self) -> &RecordView {
        &self.record
    }

    /// The pinned network target.
    ///
    /// Fails with [`PluginError::InvalidConfig`] when the record has no host,
    /// so a plugin that needs the network can simply use `req.target()?`.
    pub fn target(&self) -> Result<&Target, PluginError> {
        self.target.as_ref().ok_or_else(|| {
            PluginError::InvalidConfig(
                "the record has no host to connect to (set its host field or cmdr:host)".into(),
            )
        })
    }

    /// The pinned network target, if the record has a host.
    pub fn target_opt(&self) -> Option<&Target> {
        self.target.as_ref()
    }

    /// A parameter by name: the record's `cmdr:*` custom fields (prefix
    /// removed), overridden by the record's own login/password/host/url and
    /// then by the command line. Names are lower-case, e.g. `user_host`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A parameter that must be present.
    ///
    /// Fails with [`PluginError::InvalidConfig`] naming the parameter.
    pub fn require_param(&self, name: &str) -> Result<&str, PluginError> {
        self.param(name).ok_or_else(|| {
            PluginError::InvalidConfig(format!(
                "parameter `{name}` is missing (add a cmdr:{name} custom field)"
            ))
        })
    }

    /// Every parameter, in the order the host sent them.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The account whose password is rotated.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// The password the target has now (before `rotate`).
    pub fn old_password(&self) -> &Secret {
        &self.old_password
    }

    /// The password to set.
    pub fn new_password(&self) -> &Secret {
        &self.new_password
    }

    /// Credential material returned by [`Rotator::prepare`](crate::Rotator::prepare)
    /// and, once it returned, by
    /// [`Rotator::rotate_generating`](crate::Rotator::rotate_generating) (API 1.1).
    pub fn prepared(&self) -> &[Field] {
        &self.prepared
    }
}

/// `From` each version's request (the same fields in 1.0 and 1.1).
macro_rules! from_wit {
    ($($request:ty),*) => {$(
        impl From<$request> for Rotation {
            fn from(r: $request) -> Self {
                Self {
                    record: r.record.into(),
                    target: r.target.map(Into::into),
                    params: r.params,
                    login: r.login,
                    old_password: Secret::from(r.old_password),
                    new_password: Secret::from(r.new_password),
                    prepared: r.prepared.into_iter().map(Field::from).collect(),
                }
            }
        }
    )*};
}

from_wit!(wit::Rotation);
#[cfg(feature = "v1_1")]
from_wit!(wit_v1_1::Rotation);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::rotator::keeper::plugin::types as wit_types;

    fn wit_rotation(target: Option<wit_types::Target>) -> wit::Rotation {
        wit::Rotation {
            record: wit_types::RecordView {
                uid: "uid1".into(),
                title: "t".into(),
                record_type: "login".into(),
                fields: vec![],
                custom: vec![],
                notes: None,
            },
            target,
            params: vec![
                ("port".into(), "3307".into()),
                ("user_host".into(), "%".into()),
            ],
            login: "app".into(),
            old_password: "old-secret".into(),
            new_password: "new-secret".into(),
            prepared: vec![wit_types::Field {
                kind: "keyPair".into(),
                label: None,
                values: vec!["{}".into()],
            }],
        }
    }

    #[test]
    fn converts_from_wit_and_looks_up_params() {
        let req = Rotation::from(wit_rotation(None));
        assert_eq!(req.login(), "app");
        assert_eq!(req.old_password().expose(), "old-secret");
        assert_eq!(req.new_password().expose(), "new-secret");
        assert_eq!(req.param("port"), Some("3307"));
        assert_eq!(req.param("user_host"), Some("%"));
        assert_eq!(req.param("PORT"), None);
        assert_eq!(req.params().count(), 2);
        assert_eq!(req.prepared()[0].kind, "keyPair");
        assert_eq!(req.record().uid.as_str(), "uid1");
        assert!(matches!(
            req.require_param("missing"),
            Err(PluginError::InvalidConfig(m)) if m.contains("missing")
        ));
    }

    #[test]
    fn target_is_an_invalid_config_error_when_absent() {
        let req = Rotation::from(wit_rotation(None));
        assert!(matches!(req.target(), Err(PluginError::InvalidConfig(_))));
        let req = Rotation::from(wit_rotation(Some(wit_types::Target {
            host: "db1".into(),
            port: 3306,
            address: "127.0.0.1:3306".into(),
        })));
        assert_eq!(
            req.target().map(|t| t.address.as_str()),
            Ok("127.0.0.1:3306")
        );
    }

    #[test]
    fn debug_redacts_passwords() {
        let req = Rotation::from(wit_rotation(None));
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("old-secret") && !shown.contains("new-secret"),
            "{shown}"
        );
        assert!(shown.contains("[redacted]"));
    }
}
