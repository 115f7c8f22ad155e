//! [`ConsentForest`] and [`ConsentTree`]: consents linked by their dependency paths, and the
//! check of scope requirements against them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;

use serde_json::Value;

use super::consent::{Consent, load};
use super::error::{ConsentError, json_type};
use crate::error::ScopeParseError;
use crate::scope::Scope;

/// Parent id -> child ids. Sorted, so output is stable (globus-sdk uses sets).
type Edges = BTreeMap<i64, BTreeSet<i64>>;

/// All of a user's consents, linked into trees: globus-sdk's `ConsentForest`.
///
/// Built from the body of Globus Auth's `GET /v2/api/identities/{identity_id}/consents`
/// ([`from_response_json`](Self::from_response_json)). A consent whose `dependency_path` has
/// one element is the root of a tree; any other consent is a child of the consent named by
/// the second-to-last element. As in globus-sdk, when two consents share an id the later one
/// is the one looked up, and a consent with an empty `dependency_path` is kept but belongs to
/// no tree.
///
/// ```
/// use globus_scopes::consents::ConsentForest;
/// use globus_scopes::{GcsCollectionScopeBuilder, Scope, TransferScopes};
///
/// let body = br#"{"consents": [
///   {"id": 1, "dependency_path": [1], "scope_name": "urn:globus:auth:scope:transfer.api.globus.org:all",
///    "client": "cli", "scope": "s1", "effective_identity": "me", "status": "approved",
///    "created": "2024-03-18T17:32:51+00:00", "updated": "2024-03-18T17:32:51+00:00",
///    "last_used": "2024-03-18T17:32:51+00:00",
///    "allows_refresh": true, "auto_approved": false, "atomically_revocable": false},
///   {"id": 2, "dependency_path": [1, 2], "scope_name": "https://auth.globus.org/scopes/c1/data_access",
///    "client": "transfer", "scope": "s2", "effective_identity": "me", "status": "approved",
///    "created": "2024-03-18T17:32:51+00:00", "updated": "2024-03-18T17:32:51+00:00",
///    "last_used": "2024-03-18T17:32:51+00:00",
///    "allows_refresh": true, "auto_approved": false, "atomically_revocable": true}
/// ]}"#;
/// let forest = ConsentForest::from_response_json(body)?;
///
/// let c1 = Scope::new(GcsCollectionScopeBuilder::new("c1").data_access())?;
/// let c2 = Scope::new(GcsCollectionScopeBuilder::new("c2").data_access())?;
/// let transfer = Scope::new(TransferScopes::ALL)?;
/// assert!(forest.meets_scope_requirements(&[transfer.clone().with_dependency(c1)]));
/// assert!(!forest.meets_scope_requirements(&[transfer.with_dependency(c2)]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentForest {
    nodes: Vec<Consent>,
    node_by_id: HashMap<i64, usize>,
    edges: Edges,
    trees: Vec<ConsentTree>,
}

impl ConsentForest {
    /// Links `consents` into trees (globus-sdk's `ConsentForest(consents)`).
    ///
    /// # Errors
    ///
    /// [`ConsentError::MissingParent`] when a consent's parent is not among `consents`.
    pub fn new(consents: Vec<Consent>) -> Result<Self, ConsentError> {
        let node_by_id: HashMap<i64, usize> = consents
            .iter()
            .enumerate()
            .map(|(i, consent)| (consent.id, i))
            .collect();
        let mut edges: Edges = consents.iter().map(|c| (c.id, BTreeSet::new())).collect();
        for consent in &consents {
            if let [.., parent_id, _] = consent.dependency_path[..] {
                match edges.get_mut(&parent_id) {
                    Some(children) => {
                        children.insert(consent.id);
                    }
                    None => {
                        return Err(ConsentError::MissingParent {
                            consent_id: consent.id,
                            parent_id,
                        });
                    }
                }
            }
        }
        let mut forest = Self {
            nodes: consents,
            node_by_id,
            edges,
            trees: Vec::new(),
        };
        forest.trees = forest
            .nodes
            .iter()
            .filter(|consent| consent.dependency_path.len() == 1)
            .map(|root| ConsentTree::new(root.id, &forest))
            .collect();
        Ok(forest)
    }

    /// Parses the body of `GET /v2/api/identities/{identity_id}/consents`: an object whose
    /// `consents` is an array of consents (a bare array of consents is accepted too).
    ///
    /// # Errors
    ///
    /// [`ConsentError`]: not JSON, the wrong shape (naming the consent's index and the field),
    /// or a missing parent.
    pub fn from_response_json(body: &[u8]) -> Result<Self, ConsentError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| ConsentError::InvalidJson {
            message: e.to_string(),
        })?;
        Self::from_json_value(&value)
    }

    /// [`from_response_json`](Self::from_response_json) for an already parsed body.
    ///
    /// # Errors
    ///
    /// As [`from_response_json`](Self::from_response_json), without `InvalidJson`.
    pub fn from_json_value(body: &Value) -> Result<Self, ConsentError> {
        let consents = match body {
            Value::Array(items) => items,
            Value::Object(map) => match map.get("consents") {
                Some(Value::Array(items)) => items,
                Some(other) => {
                    return Err(ConsentError::ConsentsNotAnArray {
                        found: json_type(other),
                    });
                }
                None => return Err(ConsentError::MissingConsents),
            },
            other => {
                return Err(ConsentError::NotAnObject {
                    found: json_type(other),
                });
            }
        };
        let consents = consents
            .iter()
            .enumerate()
            .map(|(i, item)| load(item, Some(i)))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(consents)
    }

    /// Every consent, in the body's order.
    pub fn nodes(&self) -> &[Consent] {
        &self.nodes
    }

    /// One tree per root consent, in the body's order.
    pub fn trees(&self) -> &[ConsentTree] {
        &self.trees
    }

    /// The consent with this id (the last one, if several share it).
    pub fn get_node(&self, consent_id: i64) -> Option<&Consent> {
        self.node_by_id
            .get(&consent_id)
            .and_then(|&i| self.nodes.get(i))
    }

    /// The ids of the consents whose parent is `consent_id`, ascending.
    pub fn children(&self, consent_id: i64) -> impl Iterator<Item = i64> + '_ {
        self.edges.get(&consent_id).into_iter().flatten().copied()
    }

    /// Whether every scope requirement is met by some tree (globus-sdk's
    /// `ConsentForest.meets_scope_requirements`): see [`ConsentTree::meets_scope_requirements`].
    /// No requirements are always met; any requirement against a forest without trees is not.
    pub fn meets_scope_requirements(&self, scopes: &[Scope]) -> bool {
        scopes
            .iter()
            .all(|scope| self.trees.iter().any(|t| t.meets_scope_requirements(scope)))
    }

    /// [`meets_scope_requirements`](Self::meets_scope_requirements) for a scope string, parsed
    /// with [`Scope::parse`] as globus-sdk parses a string argument.
    ///
    /// # Errors
    ///
    /// [`ScopeParseError`] when `scopes` does not parse.
    pub fn meets_scope_requirements_str(&self, scopes: &str) -> Result<bool, ScopeParseError> {
        Ok(self.meets_scope_requirements(&Scope::parse(scopes)?))
    }
}

impl fmt::Display for ConsentForest {
    /// globus-sdk's `str(forest)`: the consents, then the trees, indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<String> = self.nodes.iter().map(ToString::to_string).collect();
        let trees: Vec<String> = self.trees.iter().map(ToString::to_string).collect();
        write!(
            f,
            "ConsentForest\n  nodes\n{}\n  trees\n{}",
            indent(&nodes.join("\n")),
            indent(&trees.join("\n"))
        )
    }
}

/// Python's `textwrap.indent(text, "    ")`: whitespace-only lines are left alone.
fn indent(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            if line.trim().is_empty() {
                line.to_owned()
            } else {
                format!("    {line}")
            }
        })
        .collect()
}

/// The consents reachable from one root consent: globus-sdk's `ConsentTree`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentTree {
    root_id: i64,
    /// Root first, then breadth-first.
    nodes: Vec<Consent>,
    node_by_id: HashMap<i64, usize>,
    edges: Edges,
}

impl ConsentTree {
    fn new(root_id: i64, forest: &ConsentForest) -> Self {
        let mut tree = Self {
            root_id,
            nodes: Vec::new(),
            node_by_id: HashMap::new(),
            edges: Edges::new(),
        };
        let mut queue = VecDeque::from([root_id]);
        tree.insert(root_id, forest);
        while let Some(id) = queue.pop_front() {
            let children = forest.edges.get(&id).cloned().unwrap_or_default();
            for &child in &children {
                // a consent already in the tree (shared ids can make cycles) is not revisited
                if !tree.node_by_id.contains_key(&child) {
                    tree.insert(child, forest);
                    queue.push_back(child);
                }
            }
            tree.edges.insert(id, children);
        }
        tree
    }

    fn insert(&mut self, id: i64, forest: &ConsentForest) {
        if let Some(consent) = forest.get_node(id) {
            self.node_by_id.insert(id, self.nodes.len());
            self.nodes.push(consent.clone());
        }
    }

    /// The root consent.
    pub fn root(&self) -> Option<&Consent> {
        self.get_node(self.root_id)
    }

    /// Every consent in the tree: the root, then breadth-first.
    pub fn nodes(&self) -> &[Consent] {
        &self.nodes
    }

    /// The consent with this id, if it is in the tree.
    pub fn get_node(&self, consent_id: i64) -> Option<&Consent> {
        self.node_by_id
            .get(&consent_id)
            .and_then(|&i| self.nodes.get(i))
    }

    /// The ids of the children of `consent_id` in this tree, ascending.
    pub fn children(&self, consent_id: i64) -> impl Iterator<Item = i64> + '_ {
        self.edges.get(&consent_id).into_iter().flatten().copied()
    }

    /// Whether this tree meets one scope requirement (globus-sdk's algorithm): the root's
    /// `scope_name` equals the scope string, and each dependency is met, recursively, by some
    /// child.
    ///
    /// Only scope names and the tree's shape count. A requirement's optional flag (`*`) is
    /// ignored, so an optional dependency is still required; a consent's `status`,
    /// `atomically_revocable`, `allows_refresh` and `auto_approved` are not looked at; extra
    /// consents in the tree do no harm.
    pub fn meets_scope_requirements(&self, scope: &Scope) -> bool {
        self.meets_at(self.root_id, scope)
    }

    /// Recursion depth is the requirement's depth, not the tree's.
    fn meets_at(&self, consent_id: i64, scope: &Scope) -> bool {
        let Some(consent) = self.get_node(consent_id) else {
            return false;
        };
        consent.scope_name == scope.scope_string()
            && scope.dependencies().iter().all(|dependency| {
                self.children(consent_id)
                    .any(|child| self.meets_at(child, dependency))
            })
    }

    /// The number of consents on the longest path from the root (globus-sdk's `max_depth`;
    /// a root alone is 1). An edge back to a consent already on the path, possible only when
    /// ids repeat, is not followed (globus-sdk recurses without end there).
    pub fn max_depth(&self) -> usize {
        let mut depth: HashMap<i64, usize> = HashMap::new();
        let mut on_path: HashSet<i64> = HashSet::from([self.root_id]);
        let mut stack: Vec<(i64, Vec<i64>)> =
            vec![(self.root_id, self.children(self.root_id).collect())];
        while let Some((id, pending)) = stack.last_mut() {
            let id = *id;
            if let Some(child) = pending.pop() {
                if !on_path.contains(&child) && !depth.contains_key(&child) {
                    on_path.insert(child);
                    stack.push((child, self.children(child).collect()));
                }
            } else {
                let deepest = self
                    .children(id)
                    .filter_map(|c| depth.get(&c))
                    .max()
                    .copied()
                    .unwrap_or(0);
                depth.insert(id, deepest + 1);
                on_path.remove(&id);
                stack.pop();
            }
        }
        depth.get(&self.root_id).copied().unwrap_or(1)
    }
}

impl fmt::Display for ConsentTree {
    /// globus-sdk's `str(tree)`: one line per consent, ` - ` after two spaces per level.
    /// Written depth-first without recursion; an edge back to a consent already on the path
    /// (possible only when ids repeat) is not followed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(root) = self.root() else {
            return Ok(());
        };
        write!(f, " - {root}")?;
        let pending = |id: i64| -> Vec<i64> {
            let mut children: Vec<i64> = self.children(id).collect();
            children.reverse();
            children
        };
        let mut on_path: HashSet<i64> = HashSet::from([self.root_id]);
        let mut stack: Vec<(i64, Vec<i64>)> = vec![(self.root_id, pending(self.root_id))];
        while let Some((id, children)) = stack.last_mut() {
            let id = *id;
            match children.pop() {
                Some(child) if on_path.contains(&child) => {}
                Some(child) => {
                    if let Some(consent) = self.get_node(child) {
                        write!(f, "\n{:width$} - {consent}", "", width = stack.len() * 2)?;
                    }
                    on_path.insert(child);
                    stack.push((child, pending(child)));
                }
                None => {
                    on_path.remove(&id);
                    stack.pop();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn consent(id: i64, path: &[i64], scope_name: &str) -> Value {
        json!({
            "id": id, "dependency_path": path, "scope_name": scope_name, "client": "c",
            "scope": "s", "effective_identity": "e", "created": "2024-01-01T00:00:00+00:00",
            "updated": "2024-01-01T00:00:00+00:00", "last_used": "2024-01-01T00:00:00+00:00",
            "status": "approved", "allows_refresh": true, "auto_approved": false,
            "atomically_revocable": false
        })
    }

    fn forest(consents: Vec<Value>) -> ConsentForest {
        match ConsentForest::from_json_value(&json!({ "consents": consents })) {
            Ok(f) => f,
            Err(e) => panic!("{e}"),
        }
    }

    fn meets(forest: &ConsentForest, requirement: &str) -> bool {
        match forest.meets_scope_requirements_str(requirement) {
            Ok(b) => b,
            Err(e) => panic!("{requirement}: {e}"),
        }
    }

    #[test]
    fn requirements_follow_the_tree() {
        let f = forest(vec![
            consent(1, &[1], "a"),
            consent(2, &[1, 2], "b"),
            consent(3, &[1, 2, 3], "c"),
            consent(4, &[1, 4], "d"),
            consent(5, &[5], "x"),
        ]);
        assert_eq!(f.trees().len(), 2);
        assert!(meets(&f, "a"));
        assert!(meets(&f, "a[b[c] d] x"));
        assert!(meets(&f, "a[b]"), "extra consents do no harm");
        assert!(!meets(&f, "a[c]"), "c is a grandchild, not a child");
        assert!(!meets(&f, "b"), "b is not a root");
        assert!(!meets(&f, "a[d[c]]"));
        assert!(!meets(&f, "a y"));
        assert!(meets(&f, ""), "no requirements");
        assert!(meets(&f, "*a[*b]"), "optional markers are ignored");
    }

    #[test]
    fn empty_forest_meets_only_nothing() {
        let f = forest(vec![]);
        assert!(f.meets_scope_requirements(&[]));
        assert!(!meets(&f, "a"));
        assert!(matches!(
            f.meets_scope_requirements_str("a["),
            Err(ScopeParseError::EndsInLeftBracket { .. })
        ));
    }

    #[test]
    fn missing_parent_is_a_tree_construction_error() {
        let err = ConsentForest::from_json_value(&json!([consent(2, &[1, 2], "b")]));
        assert_eq!(
            err,
            Err(ConsentError::MissingParent {
                consent_id: 2,
                parent_id: 1
            })
        );
        assert!(err.is_err_and(|e| e.is_tree_construction_error()));
    }

    #[test]
    fn body_shape_errors() {
        for (body, expected) in [
            (&b"nope"[..], "not valid JSON"),
            (b"7", "is a JSON integer"),
            (b"{}", "no \"consents\""),
            (b"{\"consents\": {}}", "\"consents\" is a JSON object"),
            (
                b"{\"consents\": [1]}",
                "a consent is a JSON integer, expected an object (consents[0])",
            ),
        ] {
            match ConsentForest::from_response_json(body) {
                Err(e) => assert!(e.to_string().contains(expected), "{e}"),
                Ok(_) => panic!("accepted {body:?}"),
            }
        }
    }

    #[test]
    fn shared_ids_take_the_last_consent_and_cycles_terminate() {
        // id 1 twice: the root entry and a later entry whose parent is 2, making 1 -> 2 -> 1
        let f = forest(vec![
            consent(1, &[1], "a"),
            consent(2, &[1, 2], "b"),
            consent(1, &[2, 1], "a2"),
        ]);
        assert_eq!(f.trees().len(), 1);
        assert_eq!(f.get_node(1).map(|c| c.scope_name.as_str()), Some("a2"));
        // a requirement that repeats a scope along a path can only be built, not parsed
        let named = |s: &str| Scope::new(s).unwrap_or_else(|e| panic!("{e}"));
        let repeated = named("a2")
            .with_dependency(named("b").with_dependency(named("a2").with_dependency(named("b"))));
        assert!(f.meets_scope_requirements(&[repeated]));
        assert!(meets(&f, "a2[b]"));
        assert!(!meets(&f, "a"));
        let tree = &f.trees()[0];
        assert_eq!(tree.max_depth(), 2);
        assert_eq!(tree.nodes().len(), 2);
        let _ = tree.to_string();
    }

    #[test]
    fn empty_dependency_path_is_in_no_tree() {
        let f = forest(vec![consent(1, &[], "a")]);
        assert_eq!(f.nodes().len(), 1);
        assert!(f.trees().is_empty());
    }

    #[test]
    fn display_matches_python_layout() {
        let f = forest(vec![
            consent(1, &[1], "a"),
            consent(3, &[1, 3], "c"),
            consent(2, &[1, 2], "b"),
            consent(4, &[1, 2, 4], "d"),
        ]);
        let tree = &f.trees()[0];
        assert_eq!(
            tree.to_string(),
            " - Consent [1]: Client [c] -> Scope [a]\n   - Consent [2]: Client [c] -> Scope [b]\n     - Consent [4]: Client [c] -> Scope [d]\n   - Consent [3]: Client [c] -> Scope [c]"
        );
        assert_eq!(tree.max_depth(), 3);
        assert!(f.to_string().starts_with(
            "ConsentForest\n  nodes\n    Consent [1]: Client [c] -> Scope [a]\n    Consent [3]"
        ));
        assert!(f.to_string().contains("\n  trees\n     - Consent [1]"));
    }

    #[test]
    fn deep_chains_do_not_recurse() {
        let mut consents = Vec::new();
        consents.push(consent(0, &[0], "s"));
        for id in 1..5_000 {
            // only the last two ids of a path matter for the links
            consents.push(consent(id, &[id - 1, id], "s"));
        }
        let f = forest(consents);
        assert_eq!(f.trees()[0].max_depth(), 5_000);
        assert_eq!(f.trees()[0].to_string().lines().count(), 5_000);
    }
}
