//! A user login: globus-sdk's `LoginFlowManager.run_login_flow`, with globus-native-login's
//! code handlers doing the part that meets the user.

use globus_authorizers::{AuthClient, AuthorizeParams, PkceVerifier};
use globus_native_login::{CodeOutcome, HandlerContext};
use globus_tokens_core::TokenResponse;

use super::{AppError, GlobusAppConfig, LoginFlow};

/// Run the configured flow for `scopes`: PKCE and a random `state`, the authorize URL (with
/// the handler's redirect URI, else the configured one, else the client's default), the code
/// from the handler, and its exchange.
pub(super) fn run_user_login(
    client: &AuthClient,
    config: &GlobusAppConfig,
    app_name: &str,
    scopes: &str,
) -> Result<TokenResponse, AppError> {
    let default_flow = LoginFlow::default();
    let handler = config
        .login_flow
        .as_ref()
        .unwrap_or(&default_flow)
        .handler();
    let verifier = PkceVerifier::generate()?;
    let state = random_state()?;
    let context = HandlerContext::new(app_name);
    let session = handler.start(&context)?;
    let redirect_uri = session
        .redirect_uri()
        .or_else(|| config.login_redirect_uri.clone())
        .unwrap_or_else(|| client.default_native_redirect_uri());
    let params = AuthorizeParams::new(scopes, &verifier)
        .redirect_uri(redirect_uri.clone())
        .state(state.clone())
        .refresh_tokens(config.request_refresh_tokens)
        .prefill_named_grant(format!("{app_name} Login"));
    let url = client.oauth2_get_authorize_url(&params);
    tracing::debug!(flow = handler.name(), "starting a login flow");
    match session.authenticate(&url, &state)? {
        CodeOutcome::Code(code) => {
            Ok(client.oauth2_exchange_code_for_tokens(&code, &redirect_uri, Some(&verifier))?)
        }
        _ => Err(AppError::LoginCancelled {
            flow: handler.name().to_owned(),
        }),
    }
}

/// 128 random bits, hex: the `state` a redirect must echo.
fn random_state() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|err| {
        AppError::InvalidConfig(format!("no randomness for the login state: {err}"))
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
