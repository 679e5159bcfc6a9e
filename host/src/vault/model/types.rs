//! Keeper's standard record types (`$id` → field slots), as in Commander's
//! `recordv3.py` and reference §5.

/// One field slot of a record type.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// Field type.
    pub kind: &'static str,
    /// Label, when the slot has one (`text:cardholderName`).
    pub label: Option<&'static str>,
    /// Required by the type.
    pub required: bool,
}

/// A record type.
#[derive(Debug, Clone, Copy)]
pub struct RecordType {
    /// `$id`.
    pub id: &'static str,
    /// Its field slots, in order.
    pub fields: &'static [Slot],
}

const fn s(kind: &'static str) -> Slot {
    Slot {
        kind,
        label: None,
        required: false,
    }
}
const fn l(kind: &'static str, label: &'static str) -> Slot {
    Slot {
        kind,
        label: Some(label),
        required: false,
    }
}
const fn r(kind: &'static str) -> Slot {
    Slot {
        kind,
        label: None,
        required: true,
    }
}

/// The standard record types.
pub const RECORD_TYPES: &[RecordType] = &[
    RecordType {
        id: "login",
        fields: &[
            s("login"),
            s("password"),
            s("url"),
            s("fileRef"),
            s("oneTimeCode"),
        ],
    },
    RecordType {
        id: "serverCredentials",
        fields: &[s("host"), s("login"), s("password"), s("fileRef")],
    },
    RecordType {
        id: "databaseCredentials",
        fields: &[
            l("text", "type"),
            s("host"),
            s("login"),
            s("password"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "sshKeys",
        fields: &[
            s("login"),
            s("keyPair"),
            l("text", "passphrase"),
            s("host"),
            s("fileRef"),
            s("securityQuestion"),
        ],
    },
    RecordType {
        id: "bankCard",
        fields: &[
            s("paymentCard"),
            l("text", "cardholderName"),
            s("pinCode"),
            s("addressRef"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "bankAccount",
        fields: &[
            r("bankAccount"),
            s("name"),
            s("login"),
            s("password"),
            s("url"),
            s("cardRef"),
            s("fileRef"),
            s("oneTimeCode"),
        ],
    },
    RecordType {
        id: "address",
        fields: &[s("address"), s("fileRef")],
    },
    RecordType {
        id: "contact",
        fields: &[
            r("name"),
            l("text", "company"),
            s("email"),
            s("phone"),
            s("addressRef"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "encryptedNotes",
        fields: &[s("note"), s("date"), s("fileRef")],
    },
    RecordType {
        id: "general",
        fields: &[
            s("login"),
            s("password"),
            s("url"),
            s("oneTimeCode"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "driverLicense",
        fields: &[
            l("accountNumber", "dlNumber"),
            s("name"),
            s("birthDate"),
            s("addressRef"),
            s("expirationDate"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "passport",
        fields: &[
            l("accountNumber", "passportNumber"),
            s("name"),
            s("birthDate"),
            s("addressRef"),
            s("expirationDate"),
            l("date", "dateIssued"),
            s("password"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "ssnCard",
        fields: &[
            l("accountNumber", "identityNumber"),
            s("name"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "healthInsurance",
        fields: &[
            s("accountNumber"),
            s("name"),
            s("login"),
            s("password"),
            s("url"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "membership",
        fields: &[s("accountNumber"), s("name"), s("password"), s("fileRef")],
    },
    RecordType {
        id: "softwareLicense",
        fields: &[
            s("licenseNumber"),
            s("expirationDate"),
            l("date", "dateActive"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "wifiCredentials",
        fields: &[
            l("text", "SSID"),
            s("password"),
            s("isSSIDHidden"),
            s("wifiEncryption"),
            s("fileRef"),
        ],
    },
    RecordType {
        id: "birthCertificate",
        fields: &[s("name"), s("birthDate"), s("fileRef")],
    },
    RecordType {
        id: "photo",
        fields: &[s("fileRef")],
    },
    RecordType {
        id: "file",
        fields: &[s("fileRef")],
    },
];

/// The record type with this `$id` (case-insensitive).
pub fn find(id: &str) -> Option<&'static RecordType> {
    RECORD_TYPES.iter().find(|t| t.id.eq_ignore_ascii_case(id))
}

/// Whether `kind` is one of the type's slots (removing it clears the value
/// rather than the slot).
pub fn is_slot(record_type: &str, kind: &str) -> bool {
    find(record_type).is_some_and(|t| t.fields.iter().any(|s| s.kind == kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_has_a_known_field_type() {
        for t in RECORD_TYPES {
            for slot in t.fields {
                assert!(
                    super::super::fields::shape(slot.kind).is_some(),
                    "{}: {}",
                    t.id,
                    slot.kind
                );
            }
        }
    }

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(
            find("ServerCredentials").map(|t| t.id),
            Some("serverCredentials")
        );
        assert!(find("nope").is_none());
    }
}
