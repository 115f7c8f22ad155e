//! Scope strings of the Globus services: globus-sdk's `AuthScopes`, `TransferScopes`, … as
//! unit structs with associated constants (`TransferScopes.all` is `TransferScopes::ALL`).

/// Defines one service's scope collection. Every constant's doc names its value and the
/// globus-sdk attribute it mirrors; `SCOPES` lists them all in globus-sdk's `scope_names`
/// order.
macro_rules! service_scopes {
    (
        $(#[$doc:meta])*
        pub struct $name:ident;
        resource_server = $rs:literal;
        $( client_id = $client:literal; )?
        $( const $konst:ident ($attr:literal) = $value:literal; )+
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;

        impl $name {
            #[doc = concat!("The resource server: `", $rs, "`.")]
            pub const RESOURCE_SERVER: &'static str = $rs;
            $(
                #[doc = concat!(
                    "The client id the scopes are built on (not the resource server): `",
                    $client,
                    "`."
                )]
                pub const CLIENT_ID: &'static str = $client;
            )?
            $(
                #[doc = concat!(
                    "`", $value, "` (globus-sdk `", stringify!($name), ".", $attr, "`)."
                )]
                pub const $konst: &'static str = $value;
            )+
            /// Every scope as `(globus-sdk attribute name, scope string)`, in globus-sdk's
            /// `scope_names` order.
            pub const SCOPES: &'static [(&'static str, &'static str)] = &[$(($attr, $value)),+];
        }
    };
}

service_scopes! {
    /// Globus Auth (globus-sdk `AuthScopes`): the OpenID Connect scopes and Auth's API scopes.
    pub struct AuthScopes;
    resource_server = "auth.globus.org";
    const OPENID ("openid") = "openid";
    const EMAIL ("email") = "email";
    const PROFILE ("profile") = "profile";
    const MANAGE_PROJECTS ("manage_projects") = "urn:globus:auth:scope:auth.globus.org:manage_projects";
    const VIEW_AUTHENTICATIONS ("view_authentications") = "urn:globus:auth:scope:auth.globus.org:view_authentications";
    const VIEW_CLIENTS ("view_clients") = "urn:globus:auth:scope:auth.globus.org:view_clients";
    const VIEW_CLIENTS_AND_SCOPES ("view_clients_and_scopes") = "urn:globus:auth:scope:auth.globus.org:view_clients_and_scopes";
    const VIEW_CONSENTS ("view_consents") = "urn:globus:auth:scope:auth.globus.org:view_consents";
    const VIEW_IDENTITIES ("view_identities") = "urn:globus:auth:scope:auth.globus.org:view_identities";
    const VIEW_IDENTITY_SET ("view_identity_set") = "urn:globus:auth:scope:auth.globus.org:view_identity_set";
}

service_scopes! {
    /// Globus Compute (globus-sdk `ComputeScopes`). Its resource server is a service name and
    /// its scopes are built on its client id.
    pub struct ComputeScopes;
    resource_server = "funcx_service";
    client_id = "facd7ccc-c5f4-42aa-916b-a0e270e2c2a9";
    const ALL ("all") = "https://auth.globus.org/scopes/facd7ccc-c5f4-42aa-916b-a0e270e2c2a9/all";
}

service_scopes! {
    /// Globus Flows, the service (globus-sdk `FlowsScopes`); see
    /// [`SpecificFlowScopeBuilder`](crate::SpecificFlowScopeBuilder) for one flow's scope.
    /// Its scopes are built on its client id, not its resource server.
    pub struct FlowsScopes;
    resource_server = "flows.globus.org";
    client_id = "eec9b274-0c81-4334-bdc2-54e90e689b9a";
    const ALL ("all") = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all";
    const MANAGE_FLOWS ("manage_flows") = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/manage_flows";
    const VIEW_FLOWS ("view_flows") = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/view_flows";
    const RUN ("run") = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run";
    const RUN_STATUS ("run_status") = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run_status";
    const RUN_MANAGE ("run_manage") = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run_manage";
}

service_scopes! {
    /// Globus Groups (globus-sdk `GroupsScopes`).
    pub struct GroupsScopes;
    resource_server = "groups.api.globus.org";
    const ALL ("all") = "urn:globus:auth:scope:groups.api.globus.org:all";
    const VIEW_MY_GROUPS_AND_MEMBERSHIPS ("view_my_groups_and_memberships") = "urn:globus:auth:scope:groups.api.globus.org:view_my_groups_and_memberships";
}

service_scopes! {
    /// The legacy Nexus API's groups scope (globus-sdk `NexusScopes`).
    pub struct NexusScopes;
    resource_server = "nexus.api.globus.org";
    const GROUPS ("groups") = "urn:globus:auth:scope:nexus.api.globus.org:groups";
}

service_scopes! {
    /// Globus Search (globus-sdk `SearchScopes`).
    pub struct SearchScopes;
    resource_server = "search.api.globus.org";
    const ALL ("all") = "urn:globus:auth:scope:search.api.globus.org:all";
    const GLOBUS_CONNECT_SERVER ("globus_connect_server") = "urn:globus:auth:scope:search.api.globus.org:globus_connect_server";
    const INGEST ("ingest") = "urn:globus:auth:scope:search.api.globus.org:ingest";
    const SEARCH ("search") = "urn:globus:auth:scope:search.api.globus.org:search";
}

service_scopes! {
    /// Globus Timers (globus-sdk `TimersScopes`, formerly `TimerScopes`).
    pub struct TimersScopes;
    resource_server = "524230d7-ea86-4a52-8312-86065a9e0417";
    const TIMER ("timer") = "https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer";
}

service_scopes! {
    /// Globus Transfer (globus-sdk `TransferScopes`).
    pub struct TransferScopes;
    resource_server = "transfer.api.globus.org";
    const ALL ("all") = "urn:globus:auth:scope:transfer.api.globus.org:all";
    const GCP_INSTALL ("gcp_install") = "urn:globus:auth:scope:transfer.api.globus.org:gcp_install";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scope, ScopeBuilder};

    #[test]
    fn constants_are_what_the_builder_makes() {
        for (attr, value) in TransferScopes::SCOPES {
            assert_eq!(
                *value,
                ScopeBuilder::new(TransferScopes::RESOURCE_SERVER).urn_scope_string(attr)
            );
        }
        for (attr, value) in FlowsScopes::SCOPES {
            assert_eq!(
                *value,
                ScopeBuilder::new(FlowsScopes::CLIENT_ID).url_scope_string(attr)
            );
        }
        assert_eq!(
            TimersScopes::TIMER,
            ScopeBuilder::new(TimersScopes::RESOURCE_SERVER).url_scope_string("timer")
        );
    }

    #[test]
    fn every_constant_is_one_valid_scope() {
        let all = [
            AuthScopes::SCOPES,
            ComputeScopes::SCOPES,
            FlowsScopes::SCOPES,
            GroupsScopes::SCOPES,
            NexusScopes::SCOPES,
            SearchScopes::SCOPES,
            TimersScopes::SCOPES,
            TransferScopes::SCOPES,
        ];
        for (_, value) in all.iter().flat_map(|s| s.iter()) {
            assert!(Scope::new(*value).is_ok(), "{value}");
        }
    }
}
