//! [`ConfigStorage`] for [`SqliteAdapter`]: named JSON objects in the `config_storage` table of
//! schema-1 files (schema-2 files have none).

use globus_tokens_core::raw::json_type_name;
use globus_tokens_core::{ConfigStorage, Error, Result};
use serde_json::{Map, Value};

use crate::adapter::{SqliteAdapter, json_text, parse_json_column};
use crate::error::BACKEND;

// The statements, in the shapes globus-sdk's SQLiteAdapter uses.
const SELECT_CONFIG: &str =
    "SELECT config_data_json FROM config_storage WHERE namespace=? AND config_name=?";
const REPLACE_CONFIG: &str =
    "REPLACE INTO config_storage(namespace, config_name, config_data_json) VALUES (?, ?, ?)";
const DELETE_CONFIG: &str = "DELETE FROM config_storage WHERE namespace=? AND config_name=?";

impl SqliteAdapter {
    fn config_location(&self, config_name: &str) -> String {
        format!(
            "{}: config_storage[namespace={}, config_name={}]",
            self.location(),
            self.namespace,
            config_name
        )
    }

    fn no_config_table(&self) -> Error {
        Error::Unsupported {
            backend: BACKEND,
            operation: "config storage",
            detail: Some(format!(
                "{} is a globus-sdk SQLiteTokenStorage database (schema 2), which has no config table",
                self.location()
            )),
        }
    }
}

impl ConfigStorage for SqliteAdapter {
    fn store_config(&self, config_name: &str, config: &Map<String, Value>) -> Result<()> {
        if !self.schema_version().has_config_storage() {
            return Err(self.no_config_table());
        }
        let json = json_text(config)
            .map_err(|reason| Error::invalid_data(self.config_location(config_name), reason))?;
        self.lock()
            .prepare_cached(REPLACE_CONFIG)
            .and_then(|mut statement| {
                statement.execute((self.namespace.as_str(), config_name, json.as_str()))
            })
            .map(drop)
            .map_err(|err| self.db_error("storing config", err))
    }

    fn read_config(&self, config_name: &str) -> Result<Option<Map<String, Value>>> {
        if !self.schema_version().has_config_storage() {
            return Err(self.no_config_table());
        }
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached(SELECT_CONFIG)
            .map_err(|err| self.db_error("reading config", err))?;
        let mut rows = statement
            .query((self.namespace.as_str(), config_name))
            .map_err(|err| self.db_error("reading config", err))?;
        let Some(row) = rows
            .next()
            .map_err(|err| self.db_error("reading config", err))?
        else {
            return Ok(None);
        };
        let value = row
            .get_ref(0)
            .map_err(|err| self.db_error("reading config", err))?;
        match parse_json_column(value, "config_data_json") {
            Ok(Value::Object(object)) => Ok(Some(object)),
            Ok(other) => Err(Error::invalid_data(
                self.config_location(config_name),
                format!(
                    "config data must be a JSON object, found {}",
                    json_type_name(&other)
                ),
            )),
            Err(reason) => Err(Error::invalid_data(
                self.config_location(config_name),
                reason,
            )),
        }
    }

    fn remove_config(&self, config_name: &str) -> Result<bool> {
        if !self.schema_version().has_config_storage() {
            return Err(self.no_config_table());
        }
        self.lock()
            .prepare_cached(DELETE_CONFIG)
            .and_then(|mut statement| statement.execute((self.namespace.as_str(), config_name)))
            .map(|removed| removed > 0)
            .map_err(|err| self.db_error("removing config", err))
    }

    fn config_names(&self) -> Result<Vec<String>> {
        if !self.schema_version().has_config_storage() {
            return Err(self.no_config_table());
        }
        self.lock()
            .prepare_cached(
                "SELECT config_name FROM config_storage WHERE namespace=? ORDER BY config_name",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([self.namespace.as_str()], |row| row.get::<_, String>(0))?
                    .collect()
            })
            .map_err(|err| self.db_error("listing config", err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MEMORY_PATH;
    use serde_json::json;

    fn memory() -> SqliteAdapter {
        SqliteAdapter::open(MEMORY_PATH).unwrap()
    }

    #[test]
    fn config_round_trip_and_bad_values() {
        let store = memory();
        assert_eq!(store.read_config("missing").unwrap(), None);
        let config = json!({"b": [1, "é"], "a": null});
        store
            .store_config("cfg", config.as_object().unwrap())
            .unwrap();
        assert_eq!(
            store.read_config("cfg").unwrap().map(Value::Object),
            Some(config)
        );
        assert!(store.remove_config("cfg").unwrap());
        assert!(!store.remove_config("cfg").unwrap());
        store
            .lock()
            .execute(
                "INSERT INTO config_storage VALUES ('DEFAULT', 'bad', '[1, 2]')",
                [],
            )
            .unwrap();
        let err = store.read_config("bad").unwrap_err();
        assert!(
            err.to_string()
                .contains(":memory:: config_storage[namespace=DEFAULT, config_name=bad]"),
            "{err}"
        );
    }
}
