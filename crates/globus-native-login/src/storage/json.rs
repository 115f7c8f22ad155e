//! fair-research-login's `JSONTokenStorage` file: a plain `{resource_server: group}` object.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globus_tokens_core::raw::fs::{FileChange, read_if_exists, update_file};
use globus_tokens_core::raw::json_type_name;
use globus_tokens_core::raw::pyjson::{PythonFormatter, to_vec_with};
use globus_tokens_core::{
    DEFAULT_NAMESPACE, EnumerableTokenStorage, Error, Result, TokenData, TokenDataLayout,
};
use serde_json::{Map, Value};

use super::groups::{GroupFile, Groups, group_file_token_storage, replace_all};
use super::{LoginTokenStorage, UpdateTokensFn};

/// fair-research-login's `JSONTokenStorage` (default file `mytokens.json`): one JSON object
/// mapping each resource server to its token group, written as Python's
/// `json.dump(tokens, fh, indent=2)` writes it.
///
/// Unlike the original, writes are atomic (temporary file + rename), a new file is owner-only
/// (0600) while a rewritten one keeps its mode, a symbolic link is followed to its target (which
/// is locked and replaced; the link stays), and read-modify-write cycles hold a lock on the
/// sidecar `NAME.lock`. The order of
/// resource servers already in the file is kept; new ones are appended. Groups are written with
/// fair-research-login's six fields only: `identity_id` and unknown fields are dropped, because
/// its `verify_token_group` rejects a file holding them.
///
/// It is also a [`TokenStorage`](globus_tokens_core::TokenStorage) with the single namespace `DEFAULT` (the format has no
/// namespaces), so any tool built on the storage traits can use the file.
///
/// ```
/// use globus_native_login::JsonLoginTokenStorage;
/// use globus_tokens_core::{TokenData, TokenStorage};
///
/// let dir = tempfile::tempdir()?;
/// let store = JsonLoginTokenStorage::new(dir.path().join("mytokens.json"));
/// let data = TokenData::new("auth.globus.org", "openid", "AT", 2_000_000_000);
/// store.store_token_data(&[(data.resource_server.clone(), data.clone())].into())?;
/// assert_eq!(store.get_token_data("auth.globus.org")?, Some(data));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct JsonLoginTokenStorage {
    path: PathBuf,
}

impl JsonLoginTokenStorage {
    /// fair-research-login's default file name.
    pub const DEFAULT_FILENAME: &'static str = "mytokens.json";

    /// Storage in the JSON file at `path` (created on the first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonLoginTokenStorage { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn render(&self, groups: &Groups) -> Result<Vec<u8>> {
        let mut root = Map::new();
        for (rs, data) in groups {
            root.insert(
                rs.clone(),
                Value::Object(Self::as_stored(data).to_json_object(TokenDataLayout::Legacy)),
            );
        }
        to_vec_with(&Value::Object(root), PythonFormatter::indented(2))
            .map_err(|err| Error::invalid_data(self.location(), format!("cannot serialize: {err}")))
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// Parse the file: an object of objects (an empty file counts as no tokens, as in Python).
fn parse(path: &Path, bytes: &[u8]) -> Result<Groups> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|err| Error::json_syntax(path, &err))?;
    let Value::Object(root) = value else {
        return Err(Error::invalid_data(
            path.display().to_string(),
            format!(
                "root must be a JSON object, found {}",
                json_type_name(&value)
            ),
        ));
    };
    root.iter()
        .map(|(rs, group)| {
            let location = format!("{}: {rs}", path.display());
            TokenData::from_json_value(group, rs, &location).map(|data| (rs.clone(), data))
        })
        .collect()
}

impl LoginTokenStorage for JsonLoginTokenStorage {
    fn read_tokens(&self) -> Result<BTreeMap<String, TokenData>> {
        Ok(self.read_groups()?.into_iter().collect())
    }

    fn write_tokens(&self, tokens: &BTreeMap<String, TokenData>) -> Result<()> {
        self.modify(|groups| replace_all::<Self>(groups, tokens))
    }

    /// Removes the file (as fair-research-login does; a symbolic link's target, the link
    /// stays); no file is not an error.
    fn clear_tokens(&self) -> Result<()> {
        update_file(&self.path, |_, _| Ok(((), FileChange::Remove)))
    }

    fn update_tokens(&self, update: &mut UpdateTokensFn<'_>) -> Result<()> {
        self.modify(|groups| {
            let mut tokens: BTreeMap<String, TokenData> = groups.iter().cloned().collect();
            update(&mut tokens);
            replace_all::<Self>(groups, &tokens);
        })
    }

    fn as_token_storage(&self) -> Option<&dyn globus_tokens_core::TokenStorage> {
        Some(self)
    }
}

impl GroupFile for JsonLoginTokenStorage {
    fn read_groups(&self) -> Result<Groups> {
        let Some(bytes) = read_if_exists(&self.path)? else {
            return Ok(Vec::new());
        };
        parse(&self.path, &bytes)
    }

    fn modify<T>(&self, update: impl FnOnce(&mut Groups) -> T) -> Result<T> {
        update_file(&self.path, |bytes, _target| {
            let before = match bytes {
                Some(bytes) => parse(&self.path, bytes)?,
                None => Vec::new(),
            };
            let mut groups = before.clone();
            let outcome = update(&mut groups);
            let change = if groups == before {
                FileChange::Keep
            } else {
                FileChange::Write(self.render(&groups)?)
            };
            Ok((outcome, change))
        })
    }

    fn as_stored(data: &TokenData) -> TokenData {
        let mut group = data.clone();
        group.identity_id = None;
        group.extra.clear();
        group
    }
}

group_file_token_storage!(JsonLoginTokenStorage, |_this| DEFAULT_NAMESPACE);

impl EnumerableTokenStorage for JsonLoginTokenStorage {
    fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
        self.read_tokens()
    }

    fn namespaces(&self) -> Result<Vec<String>> {
        Ok(if self.read_groups()?.is_empty() {
            Vec::new()
        } else {
            vec![DEFAULT_NAMESPACE.to_owned()]
        })
    }
}
