//! Scope strings built from a resource server: globus-sdk's `ScopeBuilder`,
//! `GCSCollectionScopeBuilder`, `GCSEndpointScopeBuilder` and `SpecificFlowScopeBuilder`.

/// Builds the two forms of Globus Auth scope string for one resource server (globus-sdk's
/// `ScopeBuilder`).
///
/// ```
/// use globus_scopes::ScopeBuilder;
///
/// let actions = ScopeBuilder::new("actions.globus.org");
/// assert_eq!(actions.urn_scope_string("all"), "urn:globus:auth:scope:actions.globus.org:all");
/// assert_eq!(
///     actions.url_scope_string("hello_world"),
///     "https://auth.globus.org/scopes/actions.globus.org/hello_world"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScopeBuilder {
    resource_server: String,
}

impl ScopeBuilder {
    /// A builder for `resource_server` (usually a domain name or a client id).
    pub fn new(resource_server: impl Into<String>) -> Self {
        Self {
            resource_server: resource_server.into(),
        }
    }

    /// The resource server.
    pub fn resource_server(&self) -> &str {
        &self.resource_server
    }

    /// `urn:globus:auth:scope:{resource_server}:{scope_name}`.
    pub fn urn_scope_string(&self, scope_name: &str) -> String {
        format!(
            "urn:globus:auth:scope:{}:{scope_name}",
            self.resource_server
        )
    }

    /// `https://auth.globus.org/scopes/{resource_server}/{scope_name}`.
    pub fn url_scope_string(&self, scope_name: &str) -> String {
        format!(
            "https://auth.globus.org/scopes/{}/{scope_name}",
            self.resource_server
        )
    }
}

/// The scopes of one Globus Connect Server collection; the resource server is the
/// collection id (globus-sdk's `GCSCollectionScopeBuilder`, 4.x `GCSCollectionScopes`).
///
/// ```
/// use globus_scopes::GcsCollectionScopeBuilder;
///
/// let collection = GcsCollectionScopeBuilder::new("542a86fc-1766-450d-841f-065488a2ec01");
/// assert_eq!(
///     collection.data_access(),
///     "https://auth.globus.org/scopes/542a86fc-1766-450d-841f-065488a2ec01/data_access"
/// );
/// assert_eq!(
///     collection.https(),
///     "https://auth.globus.org/scopes/542a86fc-1766-450d-841f-065488a2ec01/https"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GcsCollectionScopeBuilder {
    builder: ScopeBuilder,
}

impl GcsCollectionScopeBuilder {
    /// The names of the scopes this builder makes, as globus-sdk's `scope_names`.
    pub const SCOPE_NAMES: &'static [&'static str] = &["data_access", "https"];

    /// The scopes of the collection `collection_id`.
    pub fn new(collection_id: impl Into<String>) -> Self {
        Self {
            builder: ScopeBuilder::new(collection_id),
        }
    }

    /// The collection id.
    pub fn resource_server(&self) -> &str {
        self.builder.resource_server()
    }

    /// The `data_access` scope (URL form), needed under Transfer's scope for mapped
    /// collections that require it.
    pub fn data_access(&self) -> String {
        self.builder.url_scope_string("data_access")
    }

    /// The `https` scope (URL form), for HTTPS access to the collection's files.
    pub fn https(&self) -> String {
        self.builder.url_scope_string("https")
    }
}

/// The scopes of one Globus Connect Server endpoint; the resource server is the endpoint id
/// (globus-sdk's `GCSEndpointScopeBuilder`, 4.x `GCSEndpointScopes`).
///
/// ```
/// use globus_scopes::GcsEndpointScopeBuilder;
///
/// assert_eq!(
///     GcsEndpointScopeBuilder::new("xyz").manage_collections(),
///     "urn:globus:auth:scope:xyz:manage_collections"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GcsEndpointScopeBuilder {
    builder: ScopeBuilder,
}

impl GcsEndpointScopeBuilder {
    /// The names of the scopes this builder makes, as globus-sdk's `scope_names`.
    pub const SCOPE_NAMES: &'static [&'static str] = &["manage_collections"];

    /// The scopes of the endpoint `endpoint_id`.
    pub fn new(endpoint_id: impl Into<String>) -> Self {
        Self {
            builder: ScopeBuilder::new(endpoint_id),
        }
    }

    /// The endpoint id.
    pub fn resource_server(&self) -> &str {
        self.builder.resource_server()
    }

    /// The `manage_collections` scope (URN form).
    pub fn manage_collections(&self) -> String {
        self.builder.urn_scope_string("manage_collections")
    }
}

/// The scopes of one flow, as distinct from the Flows service; the resource server is the
/// flow id (globus-sdk's `SpecificFlowScopeBuilder`, 4.x `SpecificFlowScopes`).
///
/// ```
/// use globus_scopes::SpecificFlowScopeBuilder;
///
/// let flow = SpecificFlowScopeBuilder::new("2fbdda78-a599-4cb5-ac3d-1fbcfbc6a754");
/// assert_eq!(
///     flow.user(),
///     "https://auth.globus.org/scopes/2fbdda78-a599-4cb5-ac3d-1fbcfbc6a754/flow_2fbdda78_a599_4cb5_ac3d_1fbcfbc6a754_user"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpecificFlowScopeBuilder {
    builder: ScopeBuilder,
}

impl SpecificFlowScopeBuilder {
    /// The names of the scopes this builder makes, as globus-sdk's `scope_names`.
    pub const SCOPE_NAMES: &'static [&'static str] = &["user"];

    /// The scopes of the flow `flow_id`.
    pub fn new(flow_id: impl Into<String>) -> Self {
        Self {
            builder: ScopeBuilder::new(flow_id),
        }
    }

    /// The flow id.
    pub fn resource_server(&self) -> &str {
        self.builder.resource_server()
    }

    /// The `user` scope, needed to start a run of the flow:
    /// `https://auth.globus.org/scopes/{flow_id}/flow_{flow_id with '-' as '_'}_user`.
    pub fn user(&self) -> String {
        let name = format!(
            "flow_{}_user",
            self.builder.resource_server().replace('-', "_")
        );
        self.builder.url_scope_string(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_keep_the_resource_server() {
        assert_eq!(GcsCollectionScopeBuilder::new("c").resource_server(), "c");
        assert_eq!(GcsEndpointScopeBuilder::new("e").resource_server(), "e");
        assert_eq!(SpecificFlowScopeBuilder::new("f").resource_server(), "f");
        assert_eq!(ScopeBuilder::new("r").resource_server(), "r");
    }

    #[test]
    fn flow_user_scope_replaces_every_dash() {
        assert_eq!(
            SpecificFlowScopeBuilder::new("a-b-c").user(),
            "https://auth.globus.org/scopes/a-b-c/flow_a_b_c_user"
        );
    }
}
