//! Errors of the command line and the exit codes they map to.

use globus_tokens::authorizers::AuthError;

/// Exit code: success.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: any error not listed below.
pub(crate) const EXIT_ERROR: u8 = 1;
/// Exit code: bad command line (also what clap uses).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code: the user must log in (no tokens, expired without refresh token, `invalid_grant`).
pub(crate) const EXIT_LOGIN_REQUIRED: u8 = 3;

/// A failure, already phrased for the user as one line.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    pub(crate) fn login_required(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_LOGIN_REQUIRED,
            message: message.into(),
        }
    }

    pub(crate) fn failure(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_ERROR,
            message: message.into(),
        }
    }
}

impl From<globus_tokens::Error> for CliError {
    fn from(err: globus_tokens::Error) -> Self {
        CliError::failure(one_line(&err.to_string()))
    }
}

impl From<AuthError> for CliError {
    fn from(err: AuthError) -> Self {
        let message = one_line(&err.to_string());
        if err.is_login_required() {
            CliError::login_required(format!("{message}; run `globus-tokens login`"))
        } else {
            CliError::failure(message)
        }
    }
}

/// Errors are printed as one line, whatever their sources put in them.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
