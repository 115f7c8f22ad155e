//! The parameters of the authorize URL a user opens to log in.

use crate::pkce::PkceVerifier;

/// Parameters of the authorize URL a user opens to log in.
///
/// Field order in the URL follows globus-sdk's native-app flow.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthorizeParams {
    /// Where Globus Auth sends the browser afterwards; `None` for the client's default
    /// (`{base}v2/web/auth-code`, which shows the code to paste).
    pub redirect_uri: Option<String>,
    /// Space-separated scopes.
    pub scopes: String,
    /// Echoed back on the redirect; check it there.
    pub state: String,
    /// `challenge` of the [`PkceVerifier`] used later in the exchange.
    pub code_challenge: Option<String>,
    /// Ask for refresh tokens (`access_type=offline`).
    pub refresh_tokens: bool,
    /// Name for the grant shown on the user's consents page.
    pub prefill_named_grant: Option<String>,
    /// Extra query parameters (e.g. `session_required_identities`), appended last.
    pub query_params: Vec<(String, String)>,
}

impl AuthorizeParams {
    /// Parameters for `scopes` with state `_default`, no refresh tokens and PKCE for `verifier`.
    pub fn new(scopes: impl Into<String>, verifier: &PkceVerifier) -> Self {
        AuthorizeParams {
            redirect_uri: None,
            scopes: scopes.into(),
            state: "_default".to_owned(),
            code_challenge: Some(verifier.challenge()),
            refresh_tokens: false,
            prefill_named_grant: None,
            query_params: Vec::new(),
        }
    }

    /// Set the redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// Set the state.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = state.into();
        self
    }

    /// Ask for refresh tokens or not.
    pub fn refresh_tokens(mut self, refresh_tokens: bool) -> Self {
        self.refresh_tokens = refresh_tokens;
        self
    }

    /// Name the grant.
    pub fn prefill_named_grant(mut self, name: impl Into<String>) -> Self {
        self.prefill_named_grant = Some(name.into());
        self
    }

    /// Add a query parameter.
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query_params.push((name.into(), value.into()));
        self
    }
}
