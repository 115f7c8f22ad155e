//! How DynamoDB failures become [`globus_tokens_core::Error`]s.

use std::fmt;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;
use globus_tokens_core::Error;

/// The backend name in every [`Error::Backend`] and [`Error::Unsupported`] this crate returns.
pub const BACKEND: &str = "dynamodb";

/// What kind of DynamoDB failure an [`Error::Backend`] from this crate is.
///
/// Every `Error::Backend` this crate returns carries a [`DynamoDbError`] as its `source`;
/// [`error_kind`] reads the kind back.
///
/// ```
/// use globus_tokens_dynamodb::{error_kind, ErrorKind};
/// let err = globus_tokens_core::Error::invalid_data("somewhere", "bad");
/// assert_eq!(error_kind(&err), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The table does not exist (`ResourceNotFoundException`).
    TableNotFound,
    /// `create_table` found the table already there (`ResourceInUseException`).
    TableAlreadyExists,
    /// The table's key schema is not the one the configured [`crate::ItemLayout`] needs.
    WrongKeySchema,
    /// The table did not become `ACTIVE` within the wait `create_table` was given.
    TableNotActive,
    /// DynamoDB throttled the request (throughput exceeded, request limit, throttling). Temporary.
    Throttled,
    /// The credentials were refused, missing or expired, or lack permission.
    BadCredentials,
    /// The endpoint could not be reached (connection refused, DNS, timeout). Temporary.
    Unreachable,
    /// A transaction was cancelled by a concurrent write to the same item. Temporary.
    TransactionConflict,
    /// DynamoDB reported an internal error or is unavailable. Temporary.
    ServiceUnavailable,
    /// No AWS region is configured (builder, `AWS_REGION`, profile): nothing was sent.
    NoRegion,
    /// The request was invalid (`ValidationException`, a malformed request).
    InvalidRequest,
    /// Another process held the entry's renewal lease (and kept it alive) for longer than
    /// the configured wait ([`crate::LeaseConfig::max_wait`]). Temporary.
    LeaseTimeout,
    /// Any other failure.
    Other,
}

impl ErrorKind {
    /// Whether a failure of this kind may go away if the request is retried later.
    pub fn is_temporary(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled
                | ErrorKind::Unreachable
                | ErrorKind::TransactionConflict
                | ErrorKind::ServiceUnavailable
                | ErrorKind::TableNotActive
                | ErrorKind::LeaseTimeout
        )
    }
}

/// The `source` of every [`Error::Backend`] this crate returns: the [`ErrorKind`] and the
/// service's error code, if it sent one. Holds no request or item data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoDbError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// DynamoDB's error code (such as `ResourceNotFoundException`), when the service answered.
    pub code: Option<String>,
}

impl fmt::Display for DynamoDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{:?} ({code})", self.kind),
            None => write!(f, "{:?}", self.kind),
        }
    }
}

impl std::error::Error for DynamoDbError {}

/// The [`ErrorKind`] of an error returned by this crate, if it is a DynamoDB failure.
pub fn error_kind(err: &Error) -> Option<ErrorKind> {
    match err {
        Error::Backend {
            backend: BACKEND,
            source: Some(source),
            ..
        } => source.downcast_ref::<DynamoDbError>().map(|e| e.kind),
        _ => None,
    }
}

/// Build an [`Error::Backend`] of the given kind.
pub(crate) fn backend_error(
    kind: ErrorKind,
    code: Option<String>,
    location: impl Into<String>,
    message: impl Into<String>,
) -> Error {
    Error::Backend {
        backend: BACKEND,
        location: location.into(),
        message: message.into(),
        temporary: kind.is_temporary(),
        source: Some(Box::new(DynamoDbError { kind, code })),
    }
}

/// Classify a service error code.
fn kind_of_code(code: &str) -> ErrorKind {
    match code {
        "ResourceNotFoundException" => ErrorKind::TableNotFound,
        "ResourceInUseException" => ErrorKind::TableAlreadyExists,
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "Throttling"
        | "TooManyRequestsException" => ErrorKind::Throttled,
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "AccessDeniedException"
        | "MissingAuthenticationToken"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException"
        | "IncompleteSignatureException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch" => ErrorKind::BadCredentials,
        "TransactionConflictException"
        | "TransactionInProgressException"
        | "TransactionCanceledException" => ErrorKind::TransactionConflict,
        "InternalServerError" | "InternalFailure" | "ServiceUnavailable" => {
            ErrorKind::ServiceUnavailable
        }
        "ValidationException" | "SerializationException" => ErrorKind::InvalidRequest,
        _ => ErrorKind::Other,
    }
}

/// Turn an SDK error into an [`Error::Backend`], naming the operation, table and endpoint.
///
/// The message is one short line: what went wrong and what to do, with the innermost cause of
/// a transport failure rather than the SDK's whole error structure. Only the service's error
/// code and message and the transport's error chain are read; the request (which holds token
/// values) is never part of an error.
pub(crate) fn from_sdk<E, R>(err: SdkError<E, R>, operation: &str, location: &str) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + 'static,
{
    let code = err.code().map(str::to_owned);
    let (kind, detail) = match &err {
        SdkError::DispatchFailure(failure) => {
            let chain = DisplayErrorContext(&err).to_string().to_ascii_lowercase();
            let kind = if failure.is_io() || failure.is_timeout() {
                ErrorKind::Unreachable
            } else if chain.contains("credential") {
                // Resolving credentials failed before anything was sent.
                ErrorKind::BadCredentials
            } else if failure.is_user() {
                ErrorKind::InvalidRequest
            } else {
                ErrorKind::Unreachable
            };
            (kind, root_cause(&err))
        }
        SdkError::TimeoutError(_) => (ErrorKind::Unreachable, "request timed out".to_owned()),
        SdkError::ResponseError(_) => (ErrorKind::ServiceUnavailable, root_cause(&err)),
        SdkError::ConstructionFailure(_) => {
            let cause = root_cause(&err);
            let kind = if cause.to_ascii_lowercase().contains("credential") {
                ErrorKind::BadCredentials
            } else {
                ErrorKind::InvalidRequest
            };
            (kind, cause)
        }
        SdkError::ServiceError(_) => {
            let kind = code.as_deref().map_or(ErrorKind::Other, kind_of_code);
            let message = err.message().unwrap_or("no message");
            (
                kind,
                format!("{} ({message})", code.as_deref().unwrap_or("unknown error")),
            )
        }
        _ => (ErrorKind::Other, root_cause(&err)),
    };
    let message = match kind {
        ErrorKind::TableNotFound => format!("{operation}: the table does not exist"),
        ErrorKind::TableAlreadyExists => format!("{operation}: the table already exists"),
        ErrorKind::Unreachable => format!("{operation}: cannot reach DynamoDB: {detail}"),
        ErrorKind::BadCredentials if code.is_none() => format!(
            "{operation}: no AWS credentials found ({detail}): set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        ),
        ErrorKind::BadCredentials => {
            format!("{operation}: AWS refused the credentials: {detail}")
        }
        ErrorKind::Throttled => format!("{operation}: throttled: {detail}"),
        _ => format!("{operation}: {detail}"),
    };
    backend_error(kind, code, location, message)
}

/// The innermost cause of an error chain, one line, at most 200 characters: the SDK's
/// wrappers ("dispatch failure", "io error", ...) say less than what they wrap.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(
            kind_of_code("ResourceNotFoundException"),
            ErrorKind::TableNotFound
        );
        assert_eq!(
            kind_of_code("ProvisionedThroughputExceededException"),
            ErrorKind::Throttled
        );
        assert!(kind_of_code("ThrottlingException").is_temporary());
        assert_eq!(
            kind_of_code("UnrecognizedClientException"),
            ErrorKind::BadCredentials
        );
        assert!(!ErrorKind::BadCredentials.is_temporary());
        assert_eq!(kind_of_code("Whatever"), ErrorKind::Other);
    }

    #[test]
    fn kind_round_trips_through_core_error() {
        let err = backend_error(ErrorKind::Throttled, None, "table t", "slow down");
        assert!(err.is_temporary());
        assert_eq!(error_kind(&err), Some(ErrorKind::Throttled));
        assert!(err.to_string().contains("table t"));
    }
}
