//! External storage for a profile's configuration (`profile setup --type`):
//! keeper.ini then names *where* the device configuration is — the OS
//! keyring, an environment variable, a private file, or an AWS Secrets
//! Manager secret — and each use loads it from there into memory (never
//! onto disk) and checks it like any profile.
//!
//! ```ini
//! [default]
//! storage = aws
//! provider = ec2instance
//! secret = ksm-config
//! ```

pub mod aws;
mod env;
mod error;
mod file;
mod keyring;

use std::fmt;

use zeroize::Zeroizing;

use super::{ProfileConfig, ProfileError};
pub use aws::{AwsSpec, Provider};
pub use error::StorageError;

/// The INI keys of an external profile (besides the AWS ones).
const STORAGE: &str = "storage";
const SECRET: &str = "secret";

/// The kinds of storage (`--type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The OS keyring (Secret Service, macOS Keychain, Windows Credential Manager).
    Keyring,
    /// An environment variable.
    Env,
    /// A file readable by its owner only.
    File,
    /// An AWS Secrets Manager secret.
    Aws,
}

impl Kind {
    /// As keeper.ini spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Keyring => "keyring",
            Self::Env => "env",
            Self::File => "file",
            Self::Aws => "aws",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Keyring, Self::Env, Self::File, Self::Aws]
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(text.trim()))
    }

    /// What `--secret` names for this kind when it is not given.
    pub fn default_secret(self) -> Option<&'static str> {
        match self {
            Self::Keyring | Self::Aws => Some("ksm-config"),
            Self::Env => Some("KSM_CONFIG"),
            Self::File => None,
        }
    }
}

/// Where a profile's configuration is kept.
#[derive(Clone)]
pub struct Storage {
    /// The kind.
    pub kind: Kind,
    /// The keyring entry, variable name, file path or AWS secret id.
    pub secret: String,
    /// How to reach AWS (`kind` = aws).
    pub aws: Option<AwsSpec>,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("kind", &self.kind)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// A storage of `kind` at `secret` (the kind's default when `None`).
    ///
    /// # Errors
    ///
    /// [`ProfileError::Invalid`] when `kind` has no default (`file`).
    pub fn new(
        kind: Kind,
        secret: Option<String>,
        aws: Option<AwsSpec>,
    ) -> Result<Self, ProfileError> {
        let secret = secret
            .filter(|s| !s.trim().is_empty())
            .or_else(|| kind.default_secret().map(str::to_string))
            .ok_or_else(|| {
                ProfileError::Invalid(format!("--type {} needs --secret PATH", kind.name()))
            })?;
        if kind == Kind::Env && secret.contains(['=', '\0']) {
            return Err(ProfileError::Invalid(format!(
                "{secret:?} cannot be an environment variable name"
            )));
        }
        Ok(Self { kind, secret, aws })
    }

    /// Whether an INI section describes an external profile.
    pub(crate) fn is_external<'a>(mut pairs: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        pairs.any(|(k, _)| k.trim().eq_ignore_ascii_case(STORAGE))
    }

    /// From an INI section's pairs.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Malformed`] for a missing, unknown or bad key.
    pub(crate) fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        what: &str,
    ) -> Result<Self, ProfileError> {
        let (mut kind, mut secret) = (None, None);
        let mut rest = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (k.trim(), v.trim());
            if k.eq_ignore_ascii_case(STORAGE) {
                kind = Some(Kind::parse(v).ok_or_else(|| {
                    ProfileError::Malformed(format!(
                        "{what}: storage {v:?} is none of keyring, env, file, aws"
                    ))
                })?);
            } else if k.eq_ignore_ascii_case(SECRET) {
                secret = Some(v.to_string());
            } else {
                rest.push((k, v));
            }
        }
        let kind = kind.ok_or_else(|| ProfileError::Malformed(format!("{what} has no storage")))?;
        let aws = if kind == Kind::Aws {
            Some(AwsSpec::from_pairs(rest, what)?)
        } else if let Some((k, _)) = rest.first() {
            return Err(ProfileError::Malformed(format!(
                "{what}: unknown key {k:?} for storage {}",
                kind.name()
            )));
        } else {
            None
        };
        Self::new(kind, secret, aws).map_err(|e| ProfileError::Malformed(format!("{what}: {e}")))
    }

    /// As `key = value` pairs (an INI section's body).
    pub(crate) fn to_pairs(&self) -> Vec<(&'static str, Zeroizing<String>)> {
        let mut pairs = vec![(STORAGE, Zeroizing::new(self.kind.name().to_string()))];
        if let Some(aws) = &self.aws {
            pairs.push(("provider", Zeroizing::new(aws.provider.name().to_string())));
        }
        pairs.push((SECRET, Zeroizing::new(self.secret.clone())));
        if let Some(aws) = &self.aws {
            pairs.extend(aws.to_pairs());
        }
        pairs
    }

    /// Where the configuration is, for messages.
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Keyring => format!("the OS keyring entry {:?}", self.secret),
            Kind::Env => format!("the environment variable {}", self.secret),
            Kind::File => format!("the file {}", self.secret),
            Kind::Aws => format!("the AWS Secrets Manager secret {:?}", self.secret),
        }
    }

    /// Loads the configuration from the storage and checks it.
    ///
    /// # Errors
    ///
    /// [`StorageError`]: nothing there, unreachable, refused, or not a
    /// (valid) configuration.
    pub fn load(&self) -> Result<ProfileConfig, StorageError> {
        let text = self.fetch()?;
        self.parse(&text)
    }

    /// The stored text, unchecked.
    pub(crate) fn fetch(&self) -> Result<Zeroizing<String>, StorageError> {
        match self.kind {
            Kind::Keyring => keyring::get(&self.secret),
            Kind::Env => env::get(&self.secret),
            Kind::File => file::get(std::path::Path::new(&self.secret)),
            Kind::Aws => {
                let spec = self.aws.clone().unwrap_or_default();
                Ok(aws::get_secret_value(&spec, &self.secret)?)
            }
        }
    }

    /// Checks `text` as a configuration held by this storage (the reason
    /// of a refusal never quotes the text).
    ///
    /// # Errors
    ///
    /// [`StorageError::NotAConfig`].
    pub(crate) fn parse(&self, text: &str) -> Result<ProfileConfig, StorageError> {
        match ProfileConfig::parse(text) {
            Ok((_, config)) => Ok(config),
            Err(ProfileError::Tampered(_)) => Err(StorageError::NotAConfig(
                self.describe(),
                "its check does not match its contents (tampered with or damaged)",
            )),
            Err(_) => Err(StorageError::NotAConfig(
                self.describe(),
                "it is not a profile configuration in JSON, INI or base64",
            )),
        }
    }

    /// Stores `text` in the OS keyring entry of a keyring storage.
    ///
    /// # Errors
    ///
    /// [`StorageError::Keyring`]; [`StorageError::Missing`] for another kind.
    pub(crate) fn store_in_keyring(&self, text: &str) -> Result<(), StorageError> {
        if self.kind != Kind::Keyring {
            return Err(StorageError::Missing(format!(
                "{} cannot be written by keeper",
                self.describe()
            )));
        }
        keyring::set(&self.secret, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(&str, &str)> {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect()
    }

    #[test]
    fn sections_round_trip_and_keep_the_key_out_of_debug() {
        for text in [
            "storage=aws\nprovider=ec2instance\nsecret=ksm-config",
            "storage=aws\nprovider=profile\nsecret=s\ncredentials_profile=ci\nregion=eu-west-1\nfallback=true",
            "storage=aws\nprovider=keys\nsecret=s\naws_access_key_id=AKIA1\naws_secret_access_key=Sekrit/Key+1",
            "storage=env\nsecret=KSM_CONFIG",
            "storage=file\nsecret=/run/secrets/ksm",
            "storage=keyring\nsecret=ksm-config",
        ] {
            let storage = Storage::from_pairs(pairs(text), "t").expect(text);
            let back: Vec<String> = storage
                .to_pairs()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str()))
                .collect();
            assert_eq!(back.join("\n"), text);
            let debug = format!("{storage:?} {:?}", storage.aws);
            assert!(!debug.contains("Sekrit"), "{debug}");
        }
    }

    #[test]
    fn malformed_sections_are_refused() {
        for (text, why) in [
            ("storage=s3\nsecret=x", "none of keyring, env, file, aws"),
            (
                "storage=env\nsecret=X\nregion=eu-west-1",
                "unknown key \"region\"",
            ),
            (
                "storage=aws\nprovider=keys\naws_access_key_id=A",
                "needs aws_access_key_id",
            ),
            (
                "storage=aws\nprovider=ec2\n",
                "none of ec2instance, profile, keys",
            ),
            ("storage=aws\nfallback=maybe", "not true or false"),
            ("storage=aws\nbucket=b", "unknown key \"bucket\""),
            (
                "storage=aws\nregion=x@evil.example/",
                "\"x@evil.example/\" is not a region name",
            ),
            ("storage=aws\nregion=EU-WEST-1", "is not a region name"),
            (
                "storage=aws\nregion=a-region-name-longer-than-32-chars",
                "is not a region name",
            ),
            ("storage=file", "needs --secret PATH"),
            (
                "storage=env\nsecret=A=B",
                "cannot be an environment variable name",
            ),
        ] {
            let err = Storage::from_pairs(pairs(text), "t").expect_err(text);
            assert!(
                matches!(err, ProfileError::Malformed(_)) && err.to_string().contains(why),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn a_configuration_that_does_not_parse_is_never_quoted() {
        let storage = Storage::new(Kind::Env, None, None).expect("env");
        for text in [
            "not base64 at all: Hunter2!",
            "eyJzdG9yZSI6IDV9",
            "{\"store\": \"Hunter2\"}",
        ] {
            let err = storage.parse(text).expect_err(text).to_string();
            assert!(
                err.contains("does not hold a keeper device configuration"),
                "{err}"
            );
            assert!(!err.contains("Hunter2") && !err.contains("store"), "{err}");
        }
    }
}
