//! [`EnterpriseError`]: why an MSP command refused or failed. Refusals
//! carry Commander's messages; nothing is written when one is returned.

use crate::vault::VaultError;

/// An MSP operation's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum EnterpriseError {
    /// The logged-in user administers no MSP.
    #[error(
        "{0} is not an MSP admin: msp commands need one (`keeper enterprise-init --msp NAME \
         --licences FILE` makes this vault's tenant an MSP with you as its admin)"
    )]
    NotMspAdmin(String),
    /// Switched into a managed company.
    #[error("this runs as the MSP; you are inside a managed company: run switch-to-msp first")]
    InsideCompany,
    /// The logged-in user belongs to a managed company's tenant.
    #[error(
        "{email} belongs to managed company \"{name}\" (ID={id}), which sees only itself: msp and \
         distributor commands are for its MSP's and distributor's admins"
    )]
    InCompany {
        /// The user.
        email: String,
        /// The company's enterprise id.
        id: i64,
        /// Its name.
        name: String,
    },
    /// The logged-in user administers no distributor.
    #[error(
        "{0} is not a distributor admin: this command is only available for Distributors (`keeper \
         enterprise-init --distributor NAME --licences FILE` makes this vault's tenant a distributor \
         with you as its admin)"
    )]
    NotDistributorAdmin(String),
    /// enterprise-init in a tenant another tenant manages.
    #[error(
        "{email}'s tenant is managed by \"{manager}\": only a top-level tenant can become an \
         enterprise; nothing was changed"
    )]
    ManagedTenant {
        /// The user.
        email: String,
        /// The managing tenant's name.
        manager: String,
    },
    /// enterprise-init by a user who is not the tenant's first.
    #[error(
        "only the tenant's first user ({first}) may make it an enterprise, not {email}; nothing was \
         changed"
    )]
    NotFirstUser {
        /// The user.
        email: String,
        /// The tenant's first user.
        first: String,
    },
    /// The tenant is an enterprise already.
    #[error("this tenant is already an enterprise ({0}); nothing was changed")]
    AlreadyEnterprise(String),
    /// A licences file that cannot be used.
    #[error("licences file {path}: {reason}")]
    Licences {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Input Commander refuses, with its message.
    #[error("{0}")]
    Rejected(String),
    /// No such managed company.
    #[error("Managed Company \"{0}\" not found")]
    NoCompany(String),
    /// The pool has too few licences left.
    #[error(
        "not enough \"{plan}\" licences: {available} available, {requested} requested (the MSP's \
         pool has {total})"
    )]
    Pool {
        /// Plan code.
        plan: String,
        /// Licences left.
        available: i64,
        /// Licences asked for.
        requested: i64,
        /// The pool's total.
        total: i64,
    },
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// This module's result.
pub(crate) type Result<T, E = EnterpriseError> = std::result::Result<T, E>;
