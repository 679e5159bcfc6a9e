//! AWS IAM for keeper's rotators (`awspswd`, `awskey`): SigV4 signing
//! ([`sigv4`]) and IAM's Query API ([`iam`]), written for the sandbox:
//! requests leave through the SDK's `http` capability to the one origin the
//! host granted; nothing here reads a clock other than the caller's, the
//! environment or a file.
//!
//! A library, not a plugin: each rotator links it into its own component.

pub mod iam;
pub mod sigv4;
