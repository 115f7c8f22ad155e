//! Parsing a scope string: tokens (`tokenize`), then globus-sdk's graph of scopes, then the
//! trees of [`Scope`]s read out of the graph.
//!
//! globus-sdk parses in the same three steps (`_tokenize`, `_parse_tokens` + `_convert_trees`
//! into a `ScopeGraph`, then a breadth-first walk building `Scope`s). The graph is what makes
//! parsing more than syntax: one scope string is one node wherever it appears, so the
//! dependencies given to it anywhere are its dependencies everywhere, repeated scopes are
//! merged, a required dependency absorbs an optional one with the same name, and a scope that
//! reaches itself is a cycle.

mod tokenize;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use crate::error::ScopeParseError;
use crate::scope::Scope;
use tokenize::{Token, TokenKind, tokenize};

/// The deepest nesting of dependencies [`Scope::parse`] accepts, counting a scope without
/// dependencies as 1 level.
///
/// globus-sdk has no limit (and fails to serialise beyond Python's recursion limit, about
/// 1000 levels); real scope requirements are 2 or 3 levels deep. The limit keeps the
/// recursive `Display`, `Clone` and `Drop` of a parsed [`Scope`] far from the stack's end.
pub const MAX_DEPTH: usize = 128;

/// The most scopes [`Scope::parse`] returns, counting every dependency at every place it is
/// copied to.
///
/// globus-sdk has no limit. Because a scope's dependencies are shared by every occurrence of
/// it, a short string such as `a[b c] b[c d] c[d e] …` expands exponentially; the limit turns
/// that into an error instead of exhausting memory. A request for a thousand collections'
/// `data_access` scopes is about a thousand scopes.
pub const MAX_SCOPES: usize = 100_000;

/// globus-sdk's `ScopeGraph` with insertion order kept.
///
/// Python keeps top-level scopes and each scope's dependencies in sets, so its output order
/// changes from one process to the next (`PYTHONHASHSEED`); we keep the order of first
/// appearance in the input instead. The contents are the same.
#[derive(Debug, Default)]
struct ScopeGraph<'a> {
    names: Vec<&'a str>,
    index_of: HashMap<&'a str, usize>,
    /// Distinct `(node, optional)` pairs at the top level: `a *a` keeps both, as Python does.
    roots: Vec<(usize, bool)>,
    root_seen: HashSet<(usize, bool)>,
    /// Out-edges per node, `(child, optional)`, each child once.
    children: Vec<Vec<(usize, bool)>>,
    /// `(parent, child)` -> index in `children[parent]`.
    edge_at: HashMap<(usize, usize), usize>,
}

impl<'a> ScopeGraph<'a> {
    fn node(&mut self, name: &'a str) -> usize {
        match self.index_of.entry(name) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let index = self.names.len();
                self.names.push(name);
                self.children.push(Vec::new());
                e.insert(index);
                index
            }
        }
    }

    fn add_root(&mut self, node: usize, optional: bool) {
        if self.root_seen.insert((node, optional)) {
            self.roots.push((node, optional));
        }
    }

    /// Python's `add_edge` followed by `_normalize_optionals`: an optional edge is dropped
    /// when the same edge is also required.
    fn add_edge(&mut self, parent: usize, child: usize, optional: bool) {
        match self.edge_at.entry((parent, child)) {
            Entry::Occupied(e) => {
                if let Some(edge) = self.children[parent].get_mut(*e.get()) {
                    edge.1 &= optional;
                }
            }
            Entry::Vacant(e) => {
                e.insert(self.children[parent].len());
                self.children[parent].push((child, optional));
            }
        }
    }
}

/// Globus-sdk's `_parse_tokens` and `_convert_trees` in one pass: the token checks and
/// errors are the same, in the same order, but edges go straight into the graph.
fn build_graph<'a>(tokens: &[Token<'a>]) -> Result<ScopeGraph<'a>, ScopeParseError> {
    let mut graph = ScopeGraph::default();
    let mut optional = false;
    // nodes whose '[' is open, with the position of that '['
    let mut parents: Vec<(usize, usize)> = Vec::new();
    let mut current: Option<usize> = None;

    for (i, token) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1).map(|t| t.kind);
        reject_bad_adjacent_tokens(token, next)?;
        match token.kind {
            TokenKind::Star => optional = true,
            TokenKind::Open => {
                let Some(node) = current else {
                    return Err(ScopeParseError::LeftBracketWithoutScope {
                        position: token.position,
                    });
                };
                parents.push((node, token.position));
            }
            TokenKind::Close => {
                if parents.pop().is_none() {
                    return Err(ScopeParseError::UnmatchedRightBracket {
                        position: token.position,
                    });
                }
            }
            TokenKind::Name(name) => {
                let node = graph.node(name);
                match parents.last() {
                    Some(&(parent, _)) => graph.add_edge(parent, node, optional),
                    None => graph.add_root(node, optional),
                }
                optional = false;
                current = Some(node);
            }
        }
    }
    if let Some(&(_, position)) = parents.last() {
        return Err(ScopeParseError::UnclosedBracket { position });
    }
    Ok(graph)
}

fn reject_bad_adjacent_tokens(
    token: &Token<'_>,
    next: Option<TokenKind<'_>>,
) -> Result<(), ScopeParseError> {
    let position = token.position;
    match (token.kind, next) {
        (TokenKind::Star, None) => Err(ScopeParseError::EndsInOptionalMarker { position }),
        (TokenKind::Star, Some(TokenKind::Star | TokenKind::Open | TokenKind::Close)) => {
            Err(ScopeParseError::OptionalMarkerWithoutScope { position })
        }
        (TokenKind::Open, None) => Err(ScopeParseError::EndsInLeftBracket { position }),
        (TokenKind::Open, Some(TokenKind::Close)) => {
            Err(ScopeParseError::EmptyBrackets { position })
        }
        (TokenKind::Open, Some(TokenKind::Open)) => {
            Err(ScopeParseError::DoubleLeftBracket { position })
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    OnPath,
    Done,
}

/// Depth-first search from the roots (iterative, so a long chain cannot exhaust the stack):
/// finds a cycle as globus-sdk's `_check_cycles` does, and otherwise measures the depth and the
/// expanded size of the trees that reading the graph out will build.
fn check_graph(graph: &ScopeGraph<'_>) -> Result<(), ScopeParseError> {
    let count = graph.names.len();
    let mut visit = vec![Visit::New; count];
    let mut depth = vec![0usize; count];
    let mut size = vec![0usize; count];
    let mut stack: Vec<(usize, usize)> = Vec::new();

    for &(root, _) in &graph.roots {
        if visit[root] != Visit::New {
            continue;
        }
        visit[root] = Visit::OnPath;
        stack.push((root, 0));
        while let Some(&(node, next_child)) = stack.last() {
            if let Some(&(child, _)) = graph.children[node].get(next_child) {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                match visit[child] {
                    Visit::OnPath => {
                        return Err(ScopeParseError::Cycle {
                            scope: graph.names[child].to_owned(),
                        });
                    }
                    Visit::Done => {}
                    Visit::New => {
                        visit[child] = Visit::OnPath;
                        stack.push((child, 0));
                    }
                }
            } else {
                stack.pop();
                visit[node] = Visit::Done;
                let kids = &graph.children[node];
                depth[node] = 1 + kids.iter().map(|&(c, _)| depth[c]).max().unwrap_or(0);
                size[node] = kids
                    .iter()
                    .fold(1usize, |total, &(c, _)| total.saturating_add(size[c]));
            }
        }
    }

    let deepest = graph
        .roots
        .iter()
        .map(|&(r, _)| depth[r])
        .max()
        .unwrap_or(0);
    if deepest > MAX_DEPTH {
        return Err(ScopeParseError::TooDeep {
            depth: deepest,
            limit: MAX_DEPTH,
        });
    }
    let total = graph
        .roots
        .iter()
        .fold(0usize, |total, &(r, _)| total.saturating_add(size[r]));
    if total > MAX_SCOPES {
        return Err(ScopeParseError::TooManyScopes { limit: MAX_SCOPES });
    }
    Ok(())
}

/// Builds the tree under `node`; recursion depth is bounded by [`MAX_DEPTH`], checked first.
fn read_out(graph: &ScopeGraph<'_>, node: usize, optional: bool) -> Scope {
    let dependencies = graph.children[node]
        .iter()
        .map(|&(child, child_optional)| read_out(graph, child, child_optional))
        .collect();
    Scope::from_parts(graph.names[node].to_owned(), optional, dependencies)
}

/// globus-sdk's `Scope.parse` (3.x) / `ScopeParser.parse` (4.x).
pub(crate) fn parse(input: &str) -> Result<Vec<Scope>, ScopeParseError> {
    let tokens = tokenize(input)?;
    let graph = build_graph(&tokens)?;
    check_graph(&graph)?;
    Ok(graph
        .roots
        .iter()
        .map(|&(root, optional)| read_out(&graph, root, optional))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(input: &str) -> String {
        match parse(input) {
            Ok(scopes) => crate::scopes_to_str(&scopes),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn keeps_first_appearance_order() {
        assert_eq!(show("c b a"), "c b a");
        assert_eq!(show("a[c b] "), "a[c b]");
        assert_eq!(show("a b a"), "a b");
    }

    #[test]
    fn merges_dependencies_of_one_scope_everywhere() {
        assert_eq!(show("a[b[x]] c[b[y]]"), "a[b[x y]] c[b[x y]]");
        assert_eq!(show("a[b] b[c]"), "a[b[c]] b[c]");
        assert_eq!(show("a[x] *a"), "a[x] *a[x]");
        assert_eq!(show("a[x] a[y]"), "a[x y]");
    }

    #[test]
    fn optional_and_required_are_distinct_at_the_top_but_required_wins_below() {
        assert_eq!(show("a *a"), "a *a");
        assert_eq!(show("a[*b b]"), "a[b]");
        assert_eq!(show("a[b *b]"), "a[b]");
        assert_eq!(show("a[*b] a[*b]"), "a[*b]");
        assert_eq!(show("a[*c b c]"), "a[c b]");
    }

    #[test]
    fn token_errors_in_python_order() {
        assert_eq!(
            parse("a]"),
            Err(ScopeParseError::UnmatchedRightBracket { position: 1 })
        );
        assert_eq!(
            parse("[a]"),
            Err(ScopeParseError::LeftBracketWithoutScope { position: 0 })
        );
        assert_eq!(
            parse("a[b *]"),
            Err(ScopeParseError::OptionalMarkerWithoutScope { position: 4 })
        );
        assert_eq!(
            parse("a *"),
            Err(ScopeParseError::EndsInOptionalMarker { position: 2 })
        );
        assert_eq!(
            parse("a["),
            Err(ScopeParseError::EndsInLeftBracket { position: 1 })
        );
        assert_eq!(
            parse("a[ ]"),
            Err(ScopeParseError::EmptyBrackets { position: 1 })
        );
        assert_eq!(
            parse("a[[b]]"),
            Err(ScopeParseError::DoubleLeftBracket { position: 1 })
        );
        assert_eq!(
            parse("a[b[c] d"),
            Err(ScopeParseError::UnclosedBracket { position: 1 })
        );
        // the first bad token wins over a later one
        assert_eq!(
            parse("] a["),
            Err(ScopeParseError::UnmatchedRightBracket { position: 0 })
        );
    }

    #[test]
    fn cycles_name_a_scope_on_the_cycle() {
        for (input, on_cycle) in [
            ("a[a]", &["a"][..]),
            ("a[b] b[a]", &["a", "b"]),
            ("x a[b[c[a]]]", &["a", "b", "c"]),
            ("a[*a]", &["a"]),
        ] {
            match parse(input) {
                Err(ScopeParseError::Cycle { scope }) => {
                    assert!(on_cycle.contains(&scope.as_str()), "{input}: {scope}")
                }
                other => panic!("{input}: {other:?}"),
            }
        }
        assert!(parse("a[b c] b[c]").is_ok(), "a diamond is not a cycle");
    }

    #[test]
    fn depth_limit() {
        let mut deep = String::new();
        for i in 0..MAX_DEPTH {
            deep.push_str(&format!("s{i}["));
        }
        deep.push('x');
        deep.push_str(&"]".repeat(MAX_DEPTH));
        assert_eq!(
            parse(&deep),
            Err(ScopeParseError::TooDeep {
                depth: MAX_DEPTH + 1,
                limit: MAX_DEPTH
            })
        );
        // a chain made by merging, not by brackets, counts too
        let chain: Vec<String> = (0..=MAX_DEPTH)
            .map(|i| format!("s{i}[s{}]", i + 1))
            .collect();
        assert!(matches!(
            parse(&chain.join(" ")),
            Err(ScopeParseError::TooDeep { .. })
        ));
        let ok: Vec<String> = (0..MAX_DEPTH - 1)
            .map(|i| format!("s{i}[s{}]", i + 1))
            .collect();
        assert!(parse(&ok.join(" ")).is_ok());
    }

    #[test]
    fn size_limit_stops_exponential_expansion() {
        // each level doubles the tree: 2^40 scopes if expanded
        let levels: Vec<String> = (0..40)
            .map(|i| format!("s{i}[s{} t{}] t{i}[s{} t{}]", i + 1, i + 1, i + 1, i + 1))
            .collect();
        assert_eq!(
            parse(&levels.join(" ")),
            Err(ScopeParseError::TooManyScopes { limit: MAX_SCOPES })
        );
    }

    #[test]
    fn a_long_merged_chain_is_checked_without_recursion() {
        // 200k nodes in one chain: the cycle check must not recurse
        let chain: Vec<String> = (0..200_000).map(|i| format!("s{i}[s{}]", i + 1)).collect();
        let mut input = chain.join(" ");
        input.push_str(" s200000[s0]");
        assert!(matches!(parse(&input), Err(ScopeParseError::Cycle { .. })));
    }
}
