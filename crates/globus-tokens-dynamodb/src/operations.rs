//! Each storage operation as a `'static` future that runs on the runtime thread, shared by the
//! blocking trait methods and the `*_async` methods.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
use aws_sdk_dynamodb::types::{DeleteRequest, ReturnValue, WriteRequest};
use globus_tokens_core::{Error, Result, SwapOutcome, TokenData};

use crate::error::from_sdk;
use crate::item::{
    self, ACCESS_TOKEN, Item, ItemLayout, NAMESPACE, REFRESH_TOKEN, RESOURCE_SERVER,
};
use crate::lease::is_lease_resource_server;
use crate::requests::{
    BATCH_WRITE_LIMIT, batch_write, build_error, get_item, query_namespace, write_items,
};
use crate::storage::DynamoDbStorage;

impl DynamoDbStorage {
    // ----- futures -----

    pub(crate) fn store_future(
        &self,
        token_data: &BTreeMap<String, TokenData>,
    ) -> Result<impl Future<Output = Result<()>> + Send + 'static> {
        let layout = self.shared.layout;
        let mut items = Vec::with_capacity(token_data.len());
        for (key, data) in token_data {
            let mut data = data.clone();
            if data.resource_server != *key {
                data.resource_server.clone_from(key);
            }
            if !self.key_is_storable(key) {
                return Err(Error::invalid_data(
                    self.location_of(key),
                    "the composite layout cannot store an empty namespace or resource server",
                ));
            }
            items.push(item::to_item(layout, &self.namespace, &data));
        }
        let shared = Arc::clone(&self.shared);
        Ok(async move { write_items(&shared, items).await })
    }

    pub(crate) fn get_future(
        &self,
        resource_server: &str,
    ) -> impl Future<Output = Result<Option<TokenData>>> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        let storable = self.key_is_storable(resource_server);
        let key = shared.layout.key(&self.namespace, resource_server);
        let location = self.location_of(resource_server);
        let resource_server = resource_server.to_owned();
        async move {
            if !storable {
                return Ok(None);
            }
            get_item(&shared, key, &resource_server, &location).await
        }
    }

    pub(crate) fn remove_future(
        &self,
        resource_server: &str,
    ) -> impl Future<Output = Result<bool>> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        let storable = self.key_is_storable(resource_server);
        let key = shared.layout.key(&self.namespace, resource_server);
        async move {
            if !storable {
                return Ok(false);
            }
            let output = shared
                .client
                .delete_item()
                .table_name(&shared.table)
                .set_key(Some(key))
                .return_values(ReturnValue::AllOld)
                .send()
                .await
                .map_err(|err| from_sdk(err, "DeleteItem", &shared.location))?;
            Ok(output.attributes().is_some_and(|a| !a.is_empty()))
        }
    }

    pub(crate) fn cas_future(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<impl Future<Output = Result<SwapOutcome>> + Send + 'static> {
        let rs = new.resource_server.clone();
        if !self.key_is_storable(&rs) {
            return Err(Error::invalid_data(
                self.location_of(&rs),
                "the composite layout cannot store an empty namespace or resource server",
            ));
        }
        let shared = Arc::clone(&self.shared);
        let item = item::to_item(shared.layout, &self.namespace, new);
        let key = shared.layout.key(&self.namespace, &rs);
        let location = self.location_of(&rs);
        let expected = expected.map(|e| (e.access_token.clone(), e.refresh_token.clone()));
        Ok(async move {
            let mut put = shared
                .client
                .put_item()
                .table_name(&shared.table)
                .set_item(Some(item))
                .expression_attribute_names("#at", ACCESS_TOKEN);
            put = match &expected {
                None => put.condition_expression("attribute_not_exists(#at)"),
                Some((access, refresh)) => {
                    let put = put
                        .expression_attribute_names("#rt", REFRESH_TOKEN)
                        .expression_attribute_values(
                            ":at",
                            aws_sdk_dynamodb::types::AttributeValue::S(access.expose().to_owned()),
                        );
                    match refresh {
                        None => put.condition_expression("#at = :at AND attribute_not_exists(#rt)"),
                        Some(refresh) => put
                            .condition_expression("#at = :at AND #rt = :rt")
                            .expression_attribute_values(
                                ":rt",
                                aws_sdk_dynamodb::types::AttributeValue::S(
                                    refresh.expose().to_owned(),
                                ),
                            ),
                    }
                }
            };
            match put.send().await {
                Ok(_) => Ok(SwapOutcome::Swapped),
                Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                    let now = get_item(&shared, key, &rs, &location).await?;
                    Ok(SwapOutcome::Conflict(now))
                }
                Err(err) => Err(from_sdk(err, "PutItem (conditional)", &shared.location)),
            }
        })
    }

    pub(crate) fn list_future(
        &self,
    ) -> Result<impl Future<Output = Result<BTreeMap<String, TokenData>>> + Send + 'static> {
        if self.shared.layout != ItemLayout::Composite {
            return Err(self.unsupported_listing("listing a namespace"));
        }
        let shared = Arc::clone(&self.shared);
        let namespace = self.namespace.clone();
        Ok(async move {
            let mut all = BTreeMap::new();
            if namespace.is_empty() {
                return Ok(all);
            }
            for item in query_namespace(&shared, &namespace).await? {
                let rs = match item.get(RESOURCE_SERVER) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(rs)) => rs.clone(),
                    _ => String::new(),
                };
                if is_lease_resource_server(&rs) {
                    continue;
                }
                let location = format!(
                    "{} item {}",
                    shared.location,
                    shared.layout.describe_key(&namespace, &rs)
                );
                let data = item::from_item(&item, &rs, &location)?;
                all.insert(rs, data);
            }
            Ok(all)
        })
    }

    pub(crate) fn namespaces_future(
        &self,
    ) -> Result<impl Future<Output = Result<Vec<String>>> + Send + 'static> {
        if self.shared.layout != ItemLayout::Composite {
            return Err(self.unsupported_listing("listing namespaces"));
        }
        let shared = Arc::clone(&self.shared);
        Ok(async move {
            let mut namespaces = BTreeSet::new();
            let mut start: Option<Item> = None;
            loop {
                let output = shared
                    .client
                    .scan()
                    .table_name(&shared.table)
                    .projection_expression("#ns, #rs")
                    .expression_attribute_names("#ns", NAMESPACE)
                    .expression_attribute_names("#rs", RESOURCE_SERVER)
                    .consistent_read(true)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|err| from_sdk(err, "Scan", &shared.location))?;
                for item in output.items() {
                    // A namespace whose only item is a leftover lease holds no tokens.
                    if let Some(aws_sdk_dynamodb::types::AttributeValue::S(rs)) =
                        item.get(RESOURCE_SERVER)
                        && is_lease_resource_server(rs)
                    {
                        continue;
                    }
                    if let Some(aws_sdk_dynamodb::types::AttributeValue::S(ns)) =
                        item.get(NAMESPACE)
                    {
                        namespaces.insert(ns.clone());
                    }
                }
                match output.last_evaluated_key() {
                    Some(key) if !key.is_empty() => start = Some(key.clone()),
                    _ => break,
                }
            }
            Ok(namespaces.into_iter().collect())
        })
    }

    pub(crate) fn remove_namespace_future(
        &self,
    ) -> Result<impl Future<Output = Result<usize>> + Send + 'static> {
        if self.shared.layout != ItemLayout::Composite {
            return Err(self.unsupported_listing("removing a namespace"));
        }
        let shared = Arc::clone(&self.shared);
        let namespace = self.namespace.clone();
        Ok(async move {
            if namespace.is_empty() {
                return Ok(0);
            }
            // Leftover lease items go with the namespace, but only entries are counted.
            let mut count = 0;
            let keys: Vec<Item> = query_namespace(&shared, &namespace)
                .await?
                .into_iter()
                .filter_map(|item| match item.get(RESOURCE_SERVER) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(rs)) => {
                        if !is_lease_resource_server(rs) {
                            count += 1;
                        }
                        Some(shared.layout.key(&namespace, rs))
                    }
                    _ => None,
                })
                .collect();
            for chunk in keys.chunks(BATCH_WRITE_LIMIT) {
                let mut requests = Vec::with_capacity(chunk.len());
                for key in chunk {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map_err(|err| build_error(&shared, err))?;
                    requests.push(WriteRequest::builder().delete_request(delete).build());
                }
                batch_write(&shared, requests).await?;
            }
            Ok(count)
        })
    }
}
