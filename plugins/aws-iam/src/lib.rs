//! AWS IAM for keeper's rotators (`awspswd`, `awskey`): SigV4 signing
//! ([`sigv4`]) and IAM's Query API ([`iam`]), written for the sandbox:
//! requests leave through the SDK's `http` capability to the one origin the
//! host granted; nothing here reads a clock other than the caller's, the
//! environment or a file.
//!
//! A library, not a plugin: each rotator links it into its own component.

pub mod iam;
/// SigV4, from the `keeper-aws-sigv4` crate (shared with the host).
pub use keeper_aws_sigv4 as sigv4;
