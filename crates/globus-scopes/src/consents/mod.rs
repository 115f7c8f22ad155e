//! Globus Auth consents as a forest: globus-sdk's `globus_sdk.scopes.consents`.
//!
//! A [`ConsentForest`] is built from the JSON body of Globus Auth's
//! `GET /v2/api/identities/{identity_id}/consents` (this crate makes no HTTP calls) and answers
//! [`meets_scope_requirements`](ConsentForest::meets_scope_requirements): has the user already
//! consented to these scopes, dependencies included? globus-sdk's token validation asks this
//! before trusting that stored tokens carry dependent scopes such as a collection's
//! `data_access` under Transfer.

mod consent;
mod error;
mod forest;

pub use consent::Consent;
pub use error::ConsentError;
pub use forest::{ConsentForest, ConsentTree};
