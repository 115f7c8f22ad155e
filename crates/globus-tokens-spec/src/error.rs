//! Errors of parsing a store spec and of opening the store it names.

/// A store spec that does not parse. Every variant names the spec as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// No `scheme:` prefix.
    #[error(
        "store {spec:?} has no scheme; use sqlite:PATH, json:PATH, json1:PATH, frl:PATH#CLIENT_ID, dynamodb:TABLE or app:NAME"
    )]
    NoScheme {
        /// The spec as given.
        spec: String,
    },
    /// A scheme this library does not know.
    #[error(
        "unknown store scheme {scheme:?} in {spec:?}; use sqlite, json, json1, frl, dynamodb or app"
    )]
    UnknownScheme {
        /// The scheme.
        scheme: String,
        /// The spec as given.
        spec: String,
    },
    /// A known scheme whose cargo feature is not enabled in this build.
    #[error(
        "store scheme {scheme:?} in {spec:?} needs the cargo feature {feature:?}, which this build does not enable"
    )]
    SchemeDisabled {
        /// The scheme.
        scheme: &'static str,
        /// The feature that enables it.
        feature: &'static str,
        /// The spec as given.
        spec: String,
    },
    /// A file store without a path.
    #[error("store {spec:?} has no path")]
    NoPath {
        /// The spec as given.
        spec: String,
    },
    /// `frl:` without `#CLIENT_ID`.
    #[error("store {spec:?}: frl stores are frl:PATH#CLIENT_ID")]
    NoClientId {
        /// The spec as given.
        spec: String,
    },
    /// `dynamodb:` without a table name.
    #[error("store {spec:?} has no table name")]
    NoTable {
        /// The spec as given.
        spec: String,
    },
    /// A `dynamodb:` query option other than `region`, `endpoint`, `layout`, `lease`.
    #[error("store {spec:?}: unknown option {option:?} (region, endpoint, layout, lease)")]
    UnknownOption {
        /// The option.
        option: String,
        /// The spec as given.
        spec: String,
    },
    /// A `lease=` that is neither `off` nor a number of seconds of at least 0.1.
    #[error(
        "store {spec:?}: lease must be a number of seconds (at least 0.1) or off, not {lease:?}"
    )]
    BadLease {
        /// The lease given.
        lease: String,
        /// The spec as given.
        spec: String,
    },
    /// A `layout=` other than `seed` or `composite`.
    #[error("store {spec:?}: layout must be seed or composite, not {layout:?}")]
    BadLayout {
        /// The layout given.
        layout: String,
        /// The spec as given.
        spec: String,
    },
    /// An `app:` name that is empty once made into a directory name (globus-sdk: "App name
    /// results in the empty string").
    #[error("store {spec:?}: the app name results in the empty string; choose a different name")]
    EmptyAppName {
        /// The spec as given.
        spec: String,
    },
    /// An `app:` name that makes a file name Windows reserves (globus-sdk refuses it on every
    /// platform).
    #[error(
        "store {spec:?}: the app name results in a reserved filename ({slug:?}); choose a different name"
    )]
    ReservedAppName {
        /// What the name became.
        slug: String,
        /// The spec as given.
        spec: String,
    },
    /// A `storage=` other than `json` or `sqlite`.
    #[error("store {spec:?}: storage must be json or sqlite, not {storage:?}")]
    BadAppStorage {
        /// The storage given.
        storage: String,
        /// The spec as given.
        spec: String,
    },
    /// An `app:` query option other than `storage`.
    #[error("store {spec:?}: unknown option {option:?} (app stores take storage=json|sqlite)")]
    UnknownAppOption {
        /// The option.
        option: String,
        /// The spec.
        spec: String,
    },
    /// An `app:` store used without the app's client id, which its file's path holds.
    #[error(
        "store {spec:?}: an app store needs the app's client id (--client-id or GLOBUS_CLIENT_ID)"
    )]
    NoAppClientId {
        /// The spec.
        spec: String,
    },
    /// A `globus-cli` store that cannot be located as globus-cli would (half a client login,
    /// an empty profile).
    #[error("store {spec:?}: {reason}")]
    GlobusCli {
        /// The spec.
        spec: String,
        /// Why.
        reason: String,
    },
    /// An `app:` store whose file cannot be located (a client id that is not one directory
    /// name, no home directory).
    #[error("store {spec:?}: {reason}")]
    AppLocation {
        /// Why.
        reason: String,
        /// The spec.
        spec: String,
    },
}

/// A store that could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// [`crate::OpenMode::Existing`] and the store's file does not exist (or, for SQLite, is
    /// empty): there are no tokens, and nothing was created.
    #[error("no tokens: {spec} does not exist")]
    NotFound {
        /// The store.
        spec: String,
    },
    /// [`crate::OpenMode::Existing`] and the SQLite file is empty (0 bytes): no tokens, and
    /// the file is left as it is.
    #[error("no tokens: {spec} is an empty file")]
    Empty {
        /// The store.
        spec: String,
    },
    /// A namespace other than `DEFAULT` for a store without namespaces.
    #[error("{spec} has no namespaces; the namespace must be DEFAULT, not {namespace:?}")]
    NoNamespaces {
        /// The store.
        spec: String,
        /// The namespace asked for.
        namespace: String,
    },
    /// The store's scheme needs a cargo feature this build does not enable.
    #[error("{spec} needs the cargo feature {feature:?}, which this build does not enable")]
    SchemeDisabled {
        /// The store.
        spec: String,
        /// The feature.
        feature: &'static str,
    },
    /// The spec cannot be opened as it is: an `app:` spec not located for a client id yet
    /// ([`SpecError::NoAppClientId`]; see `StoreSpec::resolve_app`, feature `app`).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The backend failed to open the store (it names the file or table).
    #[error("{source}{hint}")]
    Store {
        /// The store.
        spec: String,
        /// What to do about it, when there is something to say (starts with `"; "`), else empty.
        hint: String,
        /// The backend's error (boxed: it is large, and this is the rare path).
        #[source]
        source: Box<globus_tokens_core::Error>,
    },
}

impl OpenError {
    /// Whether retrying later may succeed (only backend failures can be temporary).
    pub fn is_temporary(&self) -> bool {
        matches!(self, OpenError::Store { source, .. } if source.is_temporary())
    }

    /// Whether the store simply does not exist yet (no tokens, nothing created).
    pub fn is_not_found(&self) -> bool {
        matches!(self, OpenError::NotFound { .. } | OpenError::Empty { .. })
    }
}
