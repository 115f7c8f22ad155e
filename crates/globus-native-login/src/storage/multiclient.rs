//! fair-research-login's `MultiClientTokenStorage`: `~/.globus-native-apps.cfg`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globus_tokens_core::raw::fs::{FileChange, read_if_exists, update_file};
use globus_tokens_core::{EnumerableTokenStorage, Error, Result, Secret, TokenData};
use serde_json::Map;

use super::groups::{GroupFile, Groups, group_file_token_storage, replace_all};
use super::ini::{self, IniFile};
use super::{LoginTokenStorage, TOKEN_GROUP_KEYS, UpdateTokensFn};

/// fair-research-login's default storage: an INI file (by default `~/.globus-native-apps.cfg`)
/// with one section per client id.
///
/// In a client's section each resource server's group is six options named
/// `{resource server with "." as "_"}__{field}` (lowercased), `key = value`, an empty value
/// standing for null; the real resource server name is the `__resource_server` value. The file
/// is read and written as Python's `configparser` does, so fair-research-login 0.3.1 reads what
/// we write and we read what it writes; other sections are kept on every write.
///
/// Beyond the original: writes are atomic, a new file is owner-only (0600) while a rewritten
/// one keeps its mode, a symbolic link is followed to its target (locked and replaced; the link
/// stays), read-modify-write cycles hold a lock on the sidecar `NAME.lock`, and bad input
/// (duplicate sections or options, a group without `__resource_server`, a non-integer expiry,
/// an unknown field, ...) is a typed error naming the file, section and option, never a value.
///
/// What the format cannot hold: `identity_id` and unknown fields (fair-research-login rejects
/// groups with them; they are dropped), an empty refresh token (it reads back as none), and
/// values with leading or trailing whitespace on a line (refused with an error).
///
/// It is also a [`TokenStorage`](globus_tokens_core::TokenStorage) whose namespace is the client id (the section), so tools built
/// on the storage traits (the `globus-tokens` CLI's `frl:PATH#CLIENT_ID`) can use the file.
///
/// ```
/// use globus_native_login::{LoginTokenStorage, MultiClientTokenStorage};
/// use globus_tokens_core::TokenData;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join(".globus-native-apps.cfg");
/// let storage = MultiClientTokenStorage::new(&path, "my-client-id");
/// let data = TokenData::new("auth.globus.org", "openid", "AT", 2_000_000_000);
/// storage.write_tokens(&[("auth.globus.org".to_owned(), data)].into())?;
/// let text = std::fs::read_to_string(&path)?;
/// assert!(text.starts_with("[my-client-id]\nauth_globus_org__scope = openid\n"));
/// assert!(text.contains("auth_globus_org__refresh_token = \n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct MultiClientTokenStorage {
    path: PathBuf,
    client_id: String,
}

impl MultiClientTokenStorage {
    /// The file fair-research-login uses, relative to the home directory.
    pub const DEFAULT_FILENAME: &'static str = ".globus-native-apps.cfg";

    /// The section for `client_id` in the INI file at `path` (created on the first write).
    pub fn new(path: impl Into<PathBuf>, client_id: impl Into<String>) -> Self {
        MultiClientTokenStorage {
            path: path.into(),
            client_id: client_id.into(),
        }
    }

    /// `~/.globus-native-apps.cfg`, as fair-research-login uses by default; `None` when the
    /// home directory is unknown.
    pub fn default_path() -> Option<PathBuf> {
        std::env::home_dir().map(|home| home.join(Self::DEFAULT_FILENAME))
    }

    /// The same file, another client's section.
    pub fn with_client_id(&self, client_id: impl Into<String>) -> Self {
        MultiClientTokenStorage::new(self.path.clone(), client_id)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The client id: the section this storage reads and writes.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// A client id must be usable as a section name: not empty, no line break, and not
    /// `DEFAULT` (configparser's defaults section, inherited by every other section).
    fn check_client_id(&self) -> Result<()> {
        let id = &self.client_id;
        if id.is_empty()
            || id.contains(['\n', '\r'])
            || id.trim() != id
            || id == ini::DEFAULT_SECTION
        {
            return Err(Error::invalid_data(
                self.path.display().to_string(),
                format!(
                    "client id {id:?} cannot be a section: it must be non-empty, on one line, without surrounding spaces, and not {:?}",
                    ini::DEFAULT_SECTION
                ),
            ));
        }
        Ok(())
    }

    fn read_file(&self) -> Result<IniFile> {
        self.check_client_id()?;
        self.parse_file(read_if_exists(&self.path)?.as_deref())
    }

    fn parse_file(&self, bytes: Option<&[u8]>) -> Result<IniFile> {
        match bytes {
            Some(bytes) => IniFile::parse(&self.path, bytes),
            None => Ok(IniFile::default()),
        }
    }

    /// Locked read-modify-write of the whole INI file (see [`update_file`]); `change` says
    /// whether to write.
    fn modify_file<T>(&self, change: impl FnOnce(&mut IniFile) -> Result<(T, bool)>) -> Result<T> {
        self.check_client_id()?;
        update_file(&self.path, |bytes, _target| {
            let mut file = self.parse_file(bytes)?;
            let (outcome, write) = change(&mut file)?;
            let action = if write {
                FileChange::Write(file.render().into_bytes())
            } else {
                FileChange::Keep
            };
            Ok((outcome, action))
        })
    }

    fn location(&self, key: Option<&str>) -> String {
        match key {
            Some(key) => format!("{}: [{}] {key}", self.path.display(), self.client_id),
            None => format!("{}: [{}]", self.path.display(), self.client_id),
        }
    }

    /// The groups of this client's section, in file order.
    fn groups(&self, file: &IniFile) -> Result<Vec<(String, TokenData)>> {
        let mut options: Vec<(String, String)> = file.defaults.clone();
        if let Some(section) = file.section(&self.client_id) {
            for (key, value) in &section.options {
                match options.iter_mut().find(|(k, _)| k == key) {
                    Some(slot) => slot.1 = value.clone(),
                    None => options.push((key.clone(), value.clone())),
                }
            }
        } else {
            // configparser only applies DEFAULT to sections that exist.
            return Ok(Vec::new());
        }
        // Collect fields per key prefix, in order of first appearance.
        let mut prefixes: Vec<(String, FieldValues)> = Vec::new();
        for (key, raw) in &options {
            let location = || self.location(Some(key));
            let mut parts = key.split("__");
            let (Some(prefix), Some(field), None) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(Error::invalid_data(
                    location(),
                    "option name is not RESOURCE_SERVER__FIELD (exactly one \"__\")",
                ));
            };
            if !TOKEN_GROUP_KEYS.contains(&field) {
                return Err(Error::invalid_data(
                    location(),
                    format!(
                        "unknown token field {field:?}; expected one of {}",
                        TOKEN_GROUP_KEYS.join(", ")
                    ),
                ));
            }
            let value = ini::uninterpolate(raw).ok_or_else(|| {
                Error::invalid_data(
                    location(),
                    "value holds a '%' interpolation, which token values never do (a literal % is written %%)",
                )
            })?;
            let value = (!value.is_empty()).then_some(value);
            match prefixes.iter_mut().find(|(p, _)| p == prefix) {
                Some((_, fields)) => fields.push((field.to_owned(), value)),
                None => prefixes.push((prefix.to_owned(), vec![(field.to_owned(), value)])),
            }
        }
        let mut groups: Vec<(String, TokenData)> = Vec::new();
        for (prefix, fields) in prefixes {
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(f, _)| f == name)
                    .map(|(_, v)| v.clone())
            };
            let key_of = |field: &str| format!("{prefix}__{field}");
            let required = |field: &str| -> Result<String> {
                match get(field) {
                    Some(value) => Ok(value.unwrap_or_default()),
                    None => Err(Error::invalid_data(
                        self.location(Some(&key_of(field))),
                        "missing: every token group needs scope, access_token, expires_at_seconds and resource_server",
                    )),
                }
            };
            let resource_server = required("resource_server")?;
            if resource_server.is_empty() {
                return Err(Error::invalid_data(
                    self.location(Some(&key_of("resource_server"))),
                    "empty resource server name",
                ));
            }
            let scope = required("scope")?;
            let access_token = required("access_token")?;
            let expires_raw = required("expires_at_seconds")?;
            let expires_at_seconds = parse_int(&expires_raw).ok_or_else(|| {
                Error::invalid_data(
                    self.location(Some(&key_of("expires_at_seconds"))),
                    "not an integer",
                )
            })?;
            let mut data = TokenData::new(
                resource_server.clone(),
                scope,
                Secret::new(access_token),
                expires_at_seconds,
            );
            data.refresh_token = get("refresh_token").flatten().map(Secret::new);
            data.token_type = get("token_type").flatten();
            data.extra = Map::new();
            if groups.iter().any(|(rs, _)| *rs == resource_server) {
                return Err(Error::invalid_data(
                    self.location(Some(&key_of("resource_server"))),
                    format!("a second token group for resource server {resource_server:?}"),
                ));
            }
            groups.push((resource_server, data));
        }
        Ok(groups)
    }

    /// Replace this client's section with `groups`, keeping the order of the options that
    /// stay; other sections untouched.
    fn set_groups(&self, file: &mut IniFile, groups: &[(String, TokenData)]) -> Result<()> {
        let mut options: Vec<(String, String)> = Vec::new();
        let mut prefixes: Vec<(String, &str)> = Vec::new();
        for (rs, data) in groups {
            let prefix = key_prefix(rs).ok_or_else(|| {
                Error::invalid_data(
                    self.location(None),
                    format!(
                        "resource server {rs:?} cannot be an option name in this format (it must not contain \"__\", '=', ':', line breaks, or start with '[', '#' or ';')"
                    ),
                )
            })?;
            if let Some((_, other)) = prefixes.iter().find(|(p, _)| *p == prefix) {
                return Err(Error::invalid_data(
                    self.location(None),
                    format!(
                        "resource servers {other:?} and {rs:?} share the option prefix {prefix:?} in this format"
                    ),
                ));
            }
            prefixes.push((prefix.clone(), rs));
            let values: [(&str, String); 6] = [
                ("scope", data.scope.clone()),
                ("access_token", data.access_token.expose().to_owned()),
                (
                    "refresh_token",
                    data.refresh_token
                        .as_ref()
                        .map(|rt| rt.expose().to_owned())
                        .unwrap_or_default(),
                ),
                ("token_type", data.token_type.clone().unwrap_or_default()),
                ("expires_at_seconds", data.expires_at_seconds.to_string()),
                ("resource_server", data.resource_server.clone()),
            ];
            for (field, value) in values {
                let key = format!("{prefix}__{field}");
                if !ini::round_trips(&value) {
                    return Err(Error::invalid_data(
                        self.location(Some(&key)),
                        "value has leading or trailing whitespace on a line, a carriage return, or a continuation line starting with '#' or ';', which an INI file cannot hold",
                    ));
                }
                options.push((key, ini::interpolate_escape(&value)));
            }
        }
        let section = file.section_mut(&self.client_id);
        // Keep the existing position of options that remain, append the rest.
        let mut ordered: Vec<(String, String)> = Vec::with_capacity(options.len());
        for (key, _) in &section.options {
            if let Some(index) = options.iter().position(|(k, _)| k == key) {
                ordered.push(options.remove(index));
            }
        }
        ordered.extend(options);
        section.options = ordered;
        Ok(())
    }
}

/// A token group's fields as read: name and value (`None` when empty).
type FieldValues = Vec<(String, Option<String>)>;

/// `{rs with "." -> "_"}` lowercased, if the result is a usable option name prefix.
fn key_prefix(resource_server: &str) -> Option<String> {
    let prefix = resource_server.replace('.', "_").to_lowercase();
    let usable = !prefix.is_empty()
        && !prefix.contains("__")
        && !prefix.ends_with('_')
        && !prefix.contains(['=', ':', '\n', '\r'])
        && !prefix.starts_with(['[', '#', ';'])
        && prefix.trim() == prefix;
    usable.then_some(prefix)
}

/// Python's `int(str)` for the integers we expect: optional sign, digits, surrounding spaces.
fn parse_int(raw: &str) -> Option<i64> {
    let trimmed = raw.trim();
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || digits.starts_with(['+']) {
        return None;
    }
    digits.parse().ok()
}

fn strip_for_format(data: &TokenData) -> TokenData {
    let mut data = data.clone();
    data.identity_id = None;
    data.extra.clear();
    if data
        .refresh_token
        .as_ref()
        .is_some_and(|rt| rt.expose().is_empty())
    {
        data.refresh_token = None;
    }
    if data.token_type.as_deref() == Some("") {
        data.token_type = None;
    }
    data
}

impl LoginTokenStorage for MultiClientTokenStorage {
    fn read_tokens(&self) -> Result<BTreeMap<String, TokenData>> {
        Ok(self.read_groups()?.into_iter().collect())
    }

    fn write_tokens(&self, tokens: &BTreeMap<String, TokenData>) -> Result<()> {
        self.modify(|groups| replace_all::<Self>(groups, tokens))
    }

    /// Empties this client's section (keeping it, as fair-research-login does) and nothing else.
    fn clear_tokens(&self) -> Result<()> {
        self.modify_file(|file| {
            file.section_mut(&self.client_id).options.clear();
            Ok(((), true))
        })
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

impl GroupFile for MultiClientTokenStorage {
    fn read_groups(&self) -> Result<Groups> {
        let file = self.read_file()?;
        self.groups(&file)
    }
    fn modify<T>(&self, update: impl FnOnce(&mut Groups) -> T) -> Result<T> {
        self.modify_file(|file| {
            let before = self.groups(file)?;
            let mut groups = before.clone();
            let outcome = update(&mut groups);
            let changed = groups != before;
            if changed {
                self.set_groups(file, &groups)?;
            }
            Ok((outcome, changed))
        })
    }

    fn as_stored(data: &TokenData) -> TokenData {
        strip_for_format(data)
    }
}

group_file_token_storage!(MultiClientTokenStorage, |this| &this.client_id);

impl EnumerableTokenStorage for MultiClientTokenStorage {
    fn get_by_resource_server(&self) -> Result<BTreeMap<String, TokenData>> {
        self.read_tokens()
    }

    /// The sections (client ids) holding at least one token group (an option named
    /// `*__resource_server`), sorted.
    fn namespaces(&self) -> Result<Vec<String>> {
        let file = self.read_file()?;
        let mut names: Vec<String> = file
            .sections
            .iter()
            .filter(|section| {
                section
                    .options
                    .iter()
                    .any(|(key, _)| key.ends_with("__resource_server"))
            })
            .map(|section| section.name.clone())
            .collect();
        names.sort();
        Ok(names)
    }
}
