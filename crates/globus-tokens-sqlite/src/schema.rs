//! The database layout globus-sdk uses, and detection of which version a file holds.

use std::collections::BTreeSet;
use std::fmt;

use globus_tokens_core::{Error, Result, WRITER_VERSION};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::{open_error, sqlite_error};

/// Which globus-sdk class laid out a database file.
///
/// Both layouts keep tokens in the same `token_storage` table; they differ in the JSON key order
/// of stored token data (each version is written the way its Python class writes it) and in
/// whether there is a `config_storage` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SchemaVersion {
    /// Schema `"1"`: globus-sdk's `SQLiteAdapter`, with tokens and named configuration. New
    /// databases created by this crate use this layout unless
    /// [`new_file_schema`](crate::SqliteAdapterBuilder::new_file_schema) says otherwise.
    V1,
    /// Schema `"2"`: globus-sdk's `SQLiteTokenStorage`, tokens only (no `config_storage` table).
    /// Created when asked for with
    /// [`new_file_schema`](crate::SqliteAdapterBuilder::new_file_schema).
    V2,
}

impl SchemaVersion {
    /// The number stored in `sdk_storage_adapter_internal` (`globus-sdk.database_schema_version`).
    ///
    /// ```
    /// use globus_tokens_sqlite::SchemaVersion;
    /// assert_eq!(SchemaVersion::V1.number(), 1);
    /// assert_eq!(SchemaVersion::V2.number(), 2);
    /// ```
    pub fn number(self) -> u32 {
        match self {
            SchemaVersion::V1 => 1,
            SchemaVersion::V2 => 2,
        }
    }

    /// Whether files of this version have a `config_storage` table.
    pub fn has_config_storage(self) -> bool {
        matches!(self, SchemaVersion::V1)
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// The schema versions this crate reads.
pub(crate) const SUPPORTED_VERSIONS: &[&str] = &["1", "2"];

const CREATE_CONFIG_STORAGE: &str = "CREATE TABLE config_storage (
    namespace VARCHAR NOT NULL,
    config_name VARCHAR NOT NULL,
    config_data_json VARCHAR NOT NULL,
    PRIMARY KEY (namespace, config_name)
)";
const CREATE_TOKEN_STORAGE: &str = "CREATE TABLE token_storage (
    namespace VARCHAR NOT NULL,
    resource_server VARCHAR NOT NULL,
    token_data_json VARCHAR NOT NULL,
    PRIMARY KEY (namespace, resource_server)
)";
const CREATE_INTERNAL: &str = "CREATE TABLE sdk_storage_adapter_internal (
    attribute VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    PRIMARY KEY (attribute)
)";

/// The statements globus-sdk 3.65.0 runs to create a database of `version`, in its order and
/// with the same text (`SQLiteAdapter` for schema 1, `SQLiteTokenStorage` for schema 2), so
/// `sqlite_master` of a file we create is identical to one Python created.
pub(crate) fn create_statements(version: SchemaVersion) -> &'static [&'static str] {
    match version {
        SchemaVersion::V1 => &[CREATE_CONFIG_STORAGE, CREATE_TOKEN_STORAGE, CREATE_INTERNAL],
        SchemaVersion::V2 => &[CREATE_TOKEN_STORAGE, CREATE_INTERNAL],
    }
}

const INSERT_INTERNAL: &str =
    "INSERT INTO sdk_storage_adapter_internal(attribute, value) VALUES (?, ?)";
const SCHEMA_VERSION_KEY: &str = "globus-sdk.database_schema_version";
const SDK_VERSION_KEY: &str = "globus-sdk.version";

/// Names of the tables in a database. This is the first read of a file, so it is also where a
/// file that is not a database is recognised.
fn table_names(conn: &Connection, location: &str) -> Result<BTreeSet<String>> {
    let read = || -> rusqlite::Result<BTreeSet<String>> {
        let mut statement = conn.prepare("SELECT name FROM sqlite_master WHERE type='table'")?;
        let names = statement.query_map([], |row| row.get::<_, String>(0))?;
        names.collect()
    };
    read().map_err(|err| open_error(location, "reading the schema", err))
}

/// Read and check the layout of an existing database. Reads only.
pub(crate) fn detect(conn: &Connection, location: &str) -> Result<SchemaVersion> {
    let tables = table_names(conn, location)?;
    if tables.is_empty() {
        // SQLite reads a non-empty file shorter than its header as an empty database.
        let pages: i64 = conn
            .pragma_query_value(None, "page_count", |row| row.get(0))
            .map_err(|err| sqlite_error(location, "reading the schema", err))?;
        if pages == 0 {
            return Err(Error::invalid_data(location, "not a SQLite database"));
        }
    }
    if !tables.contains("token_storage") {
        return Err(Error::invalid_data(
            location,
            "not a globus-sdk token database (it has no token_storage table)",
        ));
    }
    if !tables.contains("sdk_storage_adapter_internal") {
        return Err(Error::UnsupportedFormatVersion {
            location: location.to_owned(),
            found: "missing (no sdk_storage_adapter_internal table)".to_owned(),
            supported: SUPPORTED_VERSIONS,
        });
    }
    let version: Option<Option<String>> = conn
        .query_row(
            "SELECT value FROM sdk_storage_adapter_internal WHERE attribute = ?",
            [SCHEMA_VERSION_KEY],
            |row| {
                // Tolerate a non-text value by describing it instead of failing on the type.
                let value = row.get_ref(0)?;
                Ok(value.as_str().ok().map(str::to_owned))
            },
        )
        .optional()
        .map_err(|err| sqlite_error(location, "reading the schema version", err))?;
    let version = match version {
        None => {
            return Err(Error::UnsupportedFormatVersion {
                location: location.to_owned(),
                found: format!("missing ({SCHEMA_VERSION_KEY} is not set)"),
                supported: SUPPORTED_VERSIONS,
            });
        }
        Some(None) => {
            return Err(Error::UnsupportedFormatVersion {
                location: location.to_owned(),
                found: "a value that is not text".to_owned(),
                supported: SUPPORTED_VERSIONS,
            });
        }
        Some(Some(version)) => version,
    };
    match version.as_str() {
        "1" => {
            if !tables.contains("config_storage") {
                return Err(Error::invalid_data(
                    location,
                    "schema version 1 database has no config_storage table",
                ));
            }
            Ok(SchemaVersion::V1)
        }
        "2" => Ok(SchemaVersion::V2),
        _ => Err(Error::UnsupportedFormatVersion {
            location: location.to_owned(),
            found: version,
            supported: SUPPORTED_VERSIONS,
        }),
    }
}

/// Create globus-sdk's layout `version` in an empty database, in one transaction: schema 1 as
/// `SQLiteAdapter` creates it, schema 2 as `SQLiteTokenStorage` does (the same statements
/// without `config_storage`).
///
/// The transaction is `BEGIN IMMEDIATE` and checks for the tables first, so when several
/// processes create the same new file at once exactly one creates the tables and the others
/// find them.
pub(crate) fn create_or_detect(
    conn: &mut Connection,
    location: &str,
    version: SchemaVersion,
) -> Result<SchemaVersion> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|err| open_error(location, "creating the database", err))?;
    if !table_names(&tx, location)?.is_empty() {
        // Another process created it first.
        let version = detect(&tx, location)?;
        tx.commit()
            .map_err(|err| sqlite_error(location, "reading the schema", err))?;
        return Ok(version);
    }
    let create = || -> rusqlite::Result<()> {
        for statement in create_statements(version) {
            tx.execute(statement, [])?;
        }
        let mut insert = tx.prepare(INSERT_INTERNAL)?;
        insert.execute([SDK_VERSION_KEY, WRITER_VERSION])?;
        insert.execute([SCHEMA_VERSION_KEY, &version.number().to_string()])?;
        Ok(())
    };
    create().map_err(|err| sqlite_error(location, "creating the schema", err))?;
    tx.commit()
        .map_err(|err| sqlite_error(location, "creating the schema", err))?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_python_schema_in_memory() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(
            create_or_detect(&mut conn, ":memory:", SchemaVersion::V1).unwrap(),
            SchemaVersion::V1
        );
        assert_eq!(detect(&conn, ":memory:").unwrap(), SchemaVersion::V1);
        let sdk_version: String = conn
            .query_row(
                "SELECT value FROM sdk_storage_adapter_internal WHERE attribute = 'globus-sdk.version'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(sdk_version, WRITER_VERSION);
        // A second call finds the tables instead of failing to create them again.
        assert_eq!(
            create_or_detect(&mut conn, ":memory:", SchemaVersion::V1).unwrap(),
            SchemaVersion::V1
        );
    }

    #[test]
    fn unknown_version_is_rejected() {
        let mut conn = Connection::open_in_memory().unwrap();
        create_or_detect(&mut conn, "db", SchemaVersion::V1).unwrap();
        conn.execute(
            "UPDATE sdk_storage_adapter_internal SET value = '7' WHERE attribute = ?",
            [SCHEMA_VERSION_KEY],
        )
        .unwrap();
        match detect(&conn, "db") {
            Err(Error::UnsupportedFormatVersion { found, .. }) => assert_eq!(found, "7"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_tables_are_invalid() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute("CREATE TABLE unrelated (x)", []).unwrap();
        assert!(matches!(
            detect(&conn, "db"),
            Err(Error::InvalidData { .. })
        ));
        conn.execute_batch(CREATE_TOKEN_STORAGE).unwrap();
        assert!(matches!(
            detect(&conn, "db"),
            Err(Error::UnsupportedFormatVersion { .. })
        ));
    }

    #[test]
    fn display_is_the_number() {
        assert_eq!(SchemaVersion::V2.to_string(), "2");
        assert!(SchemaVersion::V1.has_config_storage());
        assert!(!SchemaVersion::V2.has_config_storage());
    }
}
