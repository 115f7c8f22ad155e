//! [`TokenStorage`] and [`EnumerableTokenStorage`] for [`SqliteAdapter`]: token rows in
//! `token_storage`, written as the file's Python class writes them.

use std::collections::BTreeMap;

use globus_tokens_core::raw::{swap_matches, token_json};
use globus_tokens_core::{
    ConfigStorage, EnumerableTokenStorage, Error, Result, SwapOutcome, TokenData, TokenDataLayout,
    TokenStorage, UpdateFn,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, TransactionBehavior};

use crate::adapter::{SELECT_TOKEN_NAMESPACES, SqliteAdapter, json_text, parse_json_column};
use crate::schema::SchemaVersion;

// The statements, in the shapes globus-sdk's SQLiteAdapter uses.
const SELECT_TOKEN: &str =
    "SELECT token_data_json FROM token_storage WHERE namespace=? AND resource_server=?";
const REPLACE_TOKEN: &str =
    "REPLACE INTO token_storage(namespace, resource_server, token_data_json) VALUES(?, ?, ?)";
const DELETE_TOKEN: &str = "DELETE FROM token_storage WHERE namespace=? AND resource_server=?";
const SELECT_NAMESPACE_TOKENS: &str =
    "SELECT resource_server, token_data_json FROM token_storage WHERE namespace=?";

impl SqliteAdapter {
    fn layout(&self) -> TokenDataLayout {
        match self.schema_version() {
            SchemaVersion::V1 => TokenDataLayout::Legacy,
            SchemaVersion::V2 => TokenDataLayout::V2,
        }
    }

    fn token_location(&self, resource_server: &str) -> String {
        format!(
            "{}: token_storage[namespace={}, resource_server={}]",
            self.location(),
            self.namespace,
            resource_server
        )
    }

    /// Token data as the JSON text the file's Python class would write.
    fn token_json(&self, data: &TokenData) -> Result<String> {
        json_text(&data.to_json_object(self.layout())).map_err(|reason| {
            Error::invalid_data(self.token_location(&data.resource_server), reason)
        })
    }

    /// Parse a stored `token_data_json` value; errors name the row, never its content.
    fn parse_token(&self, value: ValueRef<'_>, resource_server: &str) -> Result<TokenData> {
        // One pass for the usual well-formed entry; the full read below for anything else,
        // which gives the same data or the precise error.
        if let ValueRef::Text(bytes) | ValueRef::Blob(bytes) = value
            && let Some(data) = token_json::token_data(bytes, resource_server)
        {
            return Ok(data);
        }
        let json = parse_json_column(value, "token_data_json")
            .map_err(|reason| Error::invalid_data(self.token_location(resource_server), reason))?;
        // The location is only needed on failure; build it then.
        TokenData::from_json_value(&json, resource_server, "").map_err(|err| match err {
            Error::InvalidData { reason, .. } => {
                Error::invalid_data(self.token_location(resource_server), reason)
            }
            other => other,
        })
    }

    /// Read one resource server's entry through `conn` (possibly inside a transaction).
    fn read_token(&self, conn: &Connection, resource_server: &str) -> Result<Option<TokenData>> {
        let mut statement = conn
            .prepare_cached(SELECT_TOKEN)
            .map_err(|err| self.db_error("reading tokens", err))?;
        let mut rows = statement
            .query((self.namespace.as_str(), resource_server))
            .map_err(|err| self.db_error("reading tokens", err))?;
        let Some(row) = rows
            .next()
            .map_err(|err| self.db_error("reading tokens", err))?
        else {
            return Ok(None);
        };
        let value = row
            .get_ref(0)
            .map_err(|err| self.db_error("reading tokens", err))?;
        self.parse_token(value, resource_server).map(Some)
    }

    fn replace_token(&self, conn: &Connection, resource_server: &str, json: &str) -> Result<()> {
        conn.prepare_cached(REPLACE_TOKEN)
            .and_then(|mut statement| {
                statement.execute((self.namespace.as_str(), resource_server, json))
            })
            .map(drop)
            .map_err(|err| self.db_error("storing tokens", err))
    }
}

impl TokenStorage for SqliteAdapter {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    /// All entries in one `BEGIN IMMEDIATE` transaction: either every one is stored or none.
    fn store_token_data(&self, token_data: &BTreeMap<String, TokenData>) -> Result<()> {
        if token_data.is_empty() {
            return Ok(());
        }
        let rows = token_data
            .iter()
            .map(|(resource_server, data)| Ok((resource_server.as_str(), self.token_json(data)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| self.db_error("storing tokens", err))?;
        for (resource_server, json) in &rows {
            self.replace_token(&tx, resource_server, json)?;
        }
        tx.commit()
            .map_err(|err| self.db_error("storing tokens", err))
    }

    fn get_token_data(&self, resource_server: &str) -> Result<Option<TokenData>> {
        self.read_token(&self.lock(), resource_server)
    }

    fn remove_token_data(&self, resource_server: &str) -> Result<bool> {
        self.lock()
            .prepare_cached(DELETE_TOKEN)
            .and_then(|mut statement| statement.execute((self.namespace.as_str(), resource_server)))
            .map(|removed| removed > 0)
            .map_err(|err| self.db_error("removing tokens", err))
    }

    fn compare_and_swap(
        &self,
        expected: Option<&TokenData>,
        new: &TokenData,
    ) -> Result<SwapOutcome> {
        let json = self.token_json(new)?;
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| self.db_error("updating tokens", err))?;
        let stored = self.read_token(&tx, &new.resource_server)?;
        if !swap_matches(stored.as_ref(), expected) {
            tx.rollback()
                .map_err(|err| self.db_error("updating tokens", err))?;
            return Ok(SwapOutcome::Conflict(stored));
        }
        self.replace_token(&tx, &new.resource_server, &json)?;
        tx.commit()
            .map_err(|err| self.db_error("updating tokens", err))?;
        Ok(SwapOutcome::Swapped)
    }

    /// Runs `update` inside a `BEGIN IMMEDIATE` transaction, so no other connection or process
    /// can write the database until it returns: concurrent renewals of one token happen one
    /// after another, each seeing the previous one's result. The new entry is stored under
    /// `resource_server`.
    fn update_token_data(
        &self,
        resource_server: &str,
        update: &mut UpdateFn<'_>,
    ) -> Result<Option<TokenData>> {
        let started = std::time::Instant::now();
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|err| self.db_error("updating tokens", err))?;
        globus_tokens_core::raw::fs::report_lock_wait(
            "sqlite write transaction",
            &self.location(),
            started,
        );
        let current = self.read_token(&tx, resource_server)?;
        let Some(new) = update(current.as_ref()) else {
            tx.rollback()
                .map_err(|err| self.db_error("updating tokens", err))?;
            return Ok(current);
        };
        let json = self.token_json(&new)?;
        self.replace_token(&tx, resource_server, &json)?;
        tx.commit()
            .map_err(|err| self.db_error("updating tokens", err))?;
        Ok(Some(new))
    }

    fn as_enumerable(&self) -> Option<&dyn EnumerableTokenStorage> {
        Some(self)
    }

    /// `Some` for schema 1 and schema 2 alike; on schema-2 files every config call fails with
    /// [`Error::Unsupported`] saying the file has no config table.
    fn as_config_storage(&self) -> Option<&dyn ConfigStorage> {
        Some(self)
    }
}

impl EnumerableTokenStorage for SqliteAdapter {
    fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached(SELECT_NAMESPACE_TOKENS)
            .map_err(|err| self.db_error("reading tokens", err))?;
        let mut rows = statement
            .query([self.namespace.as_str()])
            .map_err(|err| self.db_error("reading tokens", err))?;
        let mut all = BTreeMap::new();
        while let Some(row) = rows
            .next()
            .map_err(|err| self.db_error("reading tokens", err))?
        {
            let resource_server = match row.get_ref(0) {
                Ok(ValueRef::Text(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
                Ok(_) => {
                    return Err(Error::invalid_data(
                        format!(
                            "{}: token_storage[namespace={}]",
                            self.location(),
                            self.namespace
                        ),
                        "a resource_server value is not text",
                    ));
                }
                Err(err) => return Err(self.db_error("reading tokens", err)),
            };
            let value = row
                .get_ref(1)
                .map_err(|err| self.db_error("reading tokens", err))?;
            let data = self.parse_token(value, &resource_server)?;
            all.insert(resource_server, data);
        }
        Ok(all)
    }

    /// The namespaces holding tokens, sorted (configuration-only namespaces are not included;
    /// see [`SqliteAdapter::namespaces_including_config`]).
    fn namespaces(&self) -> Result<Vec<String>> {
        self.query_namespaces(SELECT_TOKEN_NAMESPACES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MEMORY_PATH;

    fn memory() -> SqliteAdapter {
        SqliteAdapter::open(MEMORY_PATH).unwrap()
    }

    fn sample(rs: &str) -> TokenData {
        TokenData::new(rs, "scope", "AT-secret-value", 2_000_000_000).with_refresh_token("RT-x")
    }

    #[test]
    fn legacy_layout_text() {
        let store = memory();
        let data = sample("a.example.org");
        assert_eq!(
            store.token_json(&data).unwrap(),
            r#"{"scope": "scope", "access_token": "AT-secret-value", "refresh_token": "RT-x", "token_type": "Bearer", "expires_at_seconds": 2000000000, "resource_server": "a.example.org"}"#
        );
    }

    #[test]
    fn corrupt_row_names_the_row_not_the_value() {
        let store = memory();
        store
            .lock()
            .execute(
                "INSERT INTO token_storage VALUES ('DEFAULT', 'rs', '{\"scope\": 5, \"access_token\": \"AT-hidden\"}')",
                [],
            )
            .unwrap();
        let err = store.get_token_data("rs").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidData { .. }), "{text}");
        assert!(
            text.contains("token_storage[namespace=DEFAULT, resource_server=rs]"),
            "{text}"
        );
        assert!(text.contains("scope"), "{text}");
        assert!(!text.contains("AT-hidden"), "{text}");
        assert!(store.get_by_resource_server().is_err());
    }

    #[test]
    fn panic_in_update_rolls_back() {
        let store = memory();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = store.update_token_data("a.example.org", &mut |_| panic!("boom"));
        }));
        assert!(caught.is_err());
        // The connection is usable again and not stuck in a transaction.
        let data = sample("a.example.org");
        store
            .store_token_data(&[(data.resource_server.clone(), data.clone())].into())
            .unwrap();
        assert_eq!(store.get_token_data("a.example.org").unwrap(), Some(data));
    }

    #[test]
    fn writes_through_one_handle_are_seen_by_another() {
        let store = memory();
        let other = store.with_namespace("other");
        assert_eq!(store.get_token_data("a.example.org").unwrap(), None);
        let data = sample("a.example.org");
        other
            .store_token_data(&[(data.resource_server.clone(), data.clone())].into())
            .unwrap();
        store
            .store_token_data(&[(data.resource_server.clone(), data.clone())].into())
            .unwrap();
        assert_eq!(
            store.get_token_data("a.example.org").unwrap(),
            Some(data.clone())
        );
        assert!(store.remove_token_data("a.example.org").unwrap());
        assert_eq!(store.get_token_data("a.example.org").unwrap(), None);
        assert_eq!(other.get_token_data("a.example.org").unwrap(), Some(data));
    }
}
