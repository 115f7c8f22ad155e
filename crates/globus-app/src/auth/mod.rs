//! The parts of validation that talk to Globus Auth, plugged into the seams of
//! [`validating`](crate::validating): consents for dependent scope requirements
//! ([`AuthConsentCheck`]), and verified `id_token`s ([`VerifiedIdentityDecoder`]).
//!
//! [`globus_scopes::Scope`] is a [`RequiredScope`](crate::validating::RequiredScope): its
//! dependencies are checked against the consent forest.

mod consents;
mod identity;

pub use consents::{AccessTokenFn, AuthConsentCheck};
pub use identity::VerifiedIdentityDecoder;
