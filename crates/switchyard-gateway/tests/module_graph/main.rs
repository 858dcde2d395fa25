//! No import cycles between the gateway's modules. At every level of the module tree, the
//! modules that share a parent may use each other only one way: if `config::validate` uses
//! `config::models`, nothing under `config::models` uses anything under `config::validate`.
//! A module using its own ancestor's items (`super::Config`) or a descendant's is how Rust
//! modules work and is no edge.
//!
//! Read from the source text with std alone: comments and literals are dropped, then every
//! `crate::`, `super::` and `self::` path (in `use` trees, groups included, and inline in the
//! code) is resolved as deep as it names a module, a file or an inline `mod x { .. }`. Names of
//! modules brought into scope (`use crate::traces;` then `traces::export::f()`, or a glob) are
//! followed too. `#[cfg(test)]` modules are left out: they are tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
    Str(String),
}

struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Identifiers (`r#type` as `type`), `::`, string literals (their text as written) and other
/// punctuation, each with its line. Comments (line, block, nested, doc), char literals,
/// numbers, lifetimes and labels are dropped.
fn lex(src: &str) -> Vec<Token> {
    let s: Vec<char> = src.chars().collect();
    let at = |i: usize| s.get(i).copied().unwrap_or('\0');
    let word_end = |i: usize| (i..s.len()).find(|&k| !is_ident(s[k])).unwrap_or(s.len());
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while i < s.len() {
        let (start, c) = (i, s[i]);
        let tok = if c == '/' && at(i + 1) == '/' {
            i = (i..s.len()).find(|&k| s[k] == '\n').unwrap_or(s.len());
            None
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                let two = [at(i), at(i + 1)];
                let (open, close) = (two == ['/', '*'], two == ['*', '/']);
                depth += i32::from(open) - i32::from(close);
                i += 1 + usize::from(open || close);
                if depth == 0 || i >= s.len() {
                    break None;
                }
            }
        } else if c == '"' {
            i += 1;
            while i < s.len() && s[i] != '"' {
                i += if s[i] == '\\' { 2 } else { 1 };
            }
            let end = i.min(s.len());
            i = end + 1;
            Some(Tok::Str(s[start + 1..end].iter().collect()))
        } else if c == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // A char literal ('x', '\'', '\u{1F600}'), not a lifetime or label ('a).
            let from = if at(i + 1) == '\\' { i + 3 } else { i + 2 };
            i = (from..s.len()).find(|&k| s[k] == '\'').unwrap_or(s.len()) + 1;
            None
        } else if c == '\'' || c.is_ascii_digit() {
            i = word_end(i + 1);
            None
        } else if is_ident(c) {
            i = word_end(i);
            let word: String = s[start..i].iter().collect();
            let hashes = (i..s.len()).take_while(|&k| s[k] == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && at(i + hashes) == '"' {
                // A raw string: it ends at a quote followed by as many `#`.
                let text = i + hashes + 1;
                i = text;
                while i < s.len() && !(s[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#')) {
                    i += 1;
                }
                let tok = Tok::Str(s[text..i.min(s.len())].iter().collect());
                i += hashes + 1;
                Some(tok)
            } else if word == "r" && hashes == 1 {
                i = word_end(i + 1);
                Some(Tok::Ident(s[start + 2..i].iter().collect()))
            } else {
                Some(Tok::Ident(word))
            }
        } else if c == ':' && at(i + 1) == ':' {
            i += 2;
            Some(Tok::Sep)
        } else {
            i += 1;
            (!c.is_whitespace()).then_some(Tok::Punct(c))
        };
        if let Some(tok) = tok {
            out.push(Token { tok, line });
        }
        i = i.min(s.len());
        line += s[start..i].iter().filter(|&&c| c == '\n').count();
    }
    out
}

fn tok(t: &[Token], i: usize) -> Option<&Tok> {
    t.get(i).map(|x| &x.tok)
}

fn ident(t: &[Token], i: usize) -> Option<&str> {
    match tok(t, i) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

fn punct(t: &[Token], i: usize, c: char) -> bool {
    tok(t, i) == Some(&Tok::Punct(c))
}

/// The index of the bracket closing the one at `open`.
fn matching(t: &[Token], open: usize) -> usize {
    let pairs = [('(', ')'), ('[', ']'), ('{', '}')];
    let (o, c) = pairs.into_iter().find(|p| punct(t, open, p.0)).unwrap();
    let mut depth = 0;
    for (i, tok) in t.iter().enumerate().skip(open) {
        depth += i32::from(tok.tok == Tok::Punct(o)) - i32::from(tok.tok == Tok::Punct(c));
        if depth == 0 {
            return i;
        }
    }
    t.len() - 1
}

/// One path named in a file.
#[derive(Clone, Debug, PartialEq)]
struct Ref {
    /// The inline module it is in, relative to the file's module.
    scope: ModPath,
    path: Vec<String>,
    /// For an import, the name it brings into scope (`*` for a glob); None in code.
    import: Option<String>,
    line: usize,
}

#[derive(Debug, Default)]
struct Scan {
    /// Inline `mod x { .. }` blocks, relative to the file's module.
    inline: Vec<ModPath>,
    /// `mod x;`: where (relative), its `#[path]` if any, and whether it is `#[cfg(test)]`.
    decls: Vec<(ModPath, Option<String>, bool)>,
    refs: Vec<Ref>,
}

/// A path, the name it brings into scope if it is an import, and its line.
type Leaf = (ModPath, Option<String>, usize);

/// Reads the use tree at `i` under `prefix`, pushing each leaf.
fn use_tree(t: &[Token], mut i: usize, prefix: &[String], out: &mut Vec<Leaf>) -> usize {
    let mut path = prefix.to_vec();
    loop {
        match tok(t, i) {
            Some(Tok::Sep) => i += 1,
            Some(Tok::Ident(s)) if tok(t, i + 1) == Some(&Tok::Sep) => {
                path.push(s.clone());
                i += 2;
            }
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                let mut name = s.clone();
                if s == "self" && path.len() > 1 {
                    name = path[path.len() - 2].clone();
                }
                let renamed = ident(t, i + 1) == Some("as");
                if renamed {
                    name = ident(t, i + 2).unwrap_or("_").to_string();
                }
                out.push((path, Some(name), t[i].line));
                return i + 1 + 2 * usize::from(renamed);
            }
            Some(Tok::Punct('*')) => {
                path.push("*".into());
                out.push((path, Some("*".into()), t[i].line));
                return i + 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                while i < t.len() && !punct(t, i, '}') {
                    let end = use_tree(t, i, &path, out);
                    i = end + usize::from(punct(t, end, ',') || end == i);
                }
                return i + 1;
            }
            _ => return i,
        }
    }
}

fn scan(src: &str) -> Scan {
    let t = lex(src);
    let mut out = Scan::default();
    let mut attrs: Vec<&[Token]> = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new(); // open inline modules, by brace depth
    let (mut depth, mut i) = (0, 0);
    while i < t.len() {
        let scope: ModPath = inline.iter().map(|m| m.0.clone()).collect();
        let mut found = Vec::new();
        let open = if punct(&t, i + 1, '!') { i + 2 } else { i + 1 };
        let path_follows = tok(&t, i + 1) == Some(&Tok::Sep)
            && !(i > 0 && (punct(&t, i - 1, '$') || t[i - 1].tok == Tok::Sep));
        if punct(&t, i, '#') && punct(&t, open, '[') {
            let close = matching(&t, open);
            attrs.push(&t[open + 1..close]);
            i = close + 1;
            continue; // an attribute: it belongs to what comes next
        } else if ident(&t, i) == Some("pub") {
            let restricted = punct(&t, i + 1, '(');
            i = if restricted {
                matching(&t, i + 1) + 1
            } else {
                i + 1
            };
            continue;
        } else if let (Some("mod"), Some(name)) = (ident(&t, i), ident(&t, i + 1)) {
            let test = attrs.iter().any(|a| {
                let w: Vec<&str> = (0..a.len()).filter_map(|k| ident(a, k)).collect();
                w.first() == Some(&"cfg") && w.contains(&"test") && !w.contains(&"not")
            });
            let path = attrs.iter().find_map(|a| match (ident(a, 0), tok(a, 2)) {
                (Some("path"), Some(Tok::Str(path))) => Some(path.clone()),
                _ => None,
            });
            let at: ModPath = scope.iter().cloned().chain([name.to_string()]).collect();
            if punct(&t, i + 2, '{') && test {
                i = matching(&t, i + 2);
            } else if punct(&t, i + 2, '{') {
                inline.push((name.to_string(), depth));
                depth += 1;
                out.inline.push(at);
                i += 2;
            } else {
                out.decls.push((at, path, test));
                i += 1;
            }
        } else if ident(&t, i) == Some("use") {
            i = use_tree(&t, i + 1, &[], &mut found) - 1;
        } else if let (Some(first), true) = (ident(&t, i), path_follows) {
            let (mut path, line) = (vec![first.to_string()], t[i].line);
            while tok(&t, i + 1) == Some(&Tok::Sep) && ident(&t, i + 2).is_some() {
                path.push(ident(&t, i + 2).unwrap().to_string());
                i += 2;
            }
            found.push((path, None, line));
        } else if punct(&t, i, '{') {
            depth += 1;
        } else if punct(&t, i, '}') {
            depth -= 1;
            if inline.last().is_some_and(|m| m.1 == depth) {
                inline.pop();
            }
        }
        for (path, import, line) in found {
            out.refs.push(Ref {
                scope: scope.clone(),
                path,
                import,
                line,
            });
        }
        attrs.clear();
        i += 1;
    }
    out
}

/// The module `path` names from module `from`, as deep as it names modules, and whether all of
/// it did; None when it starts at no module of this crate. `imports`: names `from` imported
/// that are modules (`*` for a glob).
fn resolve(
    from: &ModPath,
    path: &[String],
    modules: &BTreeSet<ModPath>,
    imports: &[(String, ModPath)],
) -> Option<(ModPath, bool)> {
    let child = |base: &ModPath, name: &str| {
        let c: ModPath = base.iter().cloned().chain([name.to_string()]).collect();
        modules.contains(&c).then_some(c)
    };
    let first = path[0].as_str();
    let named = imports
        .iter()
        .find(|i| i.0 == first)
        .map(|i| (i.1.clone(), 1));
    let glob = imports
        .iter()
        .find(|(n, m)| n == "*" && child(m, first).is_some());
    let (mut base, skip) = match first {
        "crate" => (Vec::new(), 1),
        "self" => (from.clone(), 1),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            (from[..from.len().checked_sub(ups)?].to_vec(), ups)
        }
        _ if child(from, first).is_some() => (from.clone(), 0),
        _ => named.or(glob.map(|g| (g.1.clone(), 0)))?,
    };
    for seg in path[skip..].iter().filter(|s| *s != "self" && *s != "*") {
        match child(&base, seg) {
            Some(c) => base = c,
            None => return Some((base, false)),
        }
    }
    Some((base, true))
}

/// The sibling edge a reference from `from` to `to` makes: (parent, from's side, to's side).
fn sibling_edge(from: &ModPath, to: &ModPath) -> Option<(ModPath, String, String)> {
    let k = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if k == from.len() || k == to.len() {
        return None; // an ancestor, a descendant or itself
    }
    Some((from[..k].to_vec(), from[k].clone(), to[k].clone()))
}

struct Edge {
    level: ModPath,
    from: String,
    to: String,
    /// Where: `src/file.rs:line path::as::written`.
    at: String,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    let mut entries: Vec<_> = entries.collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn join(base: &ModPath, rel: &ModPath) -> ModPath {
    base.iter().chain(rel).cloned().collect()
}

/// The modules of the library crate rooted at `src/lib.rs` and every sibling edge among them.
fn load(src: &Path) -> (BTreeSet<ModPath>, Vec<Edge>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut scans: BTreeMap<PathBuf, (ModPath, Scan)> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        if rel == Path::new("main.rs") || rel.starts_with("bin") {
            continue; // binaries are crates of their own
        }
        let parts = rel.with_extension("");
        let mut module: ModPath = parts.iter().map(|s| s.to_string_lossy().into()).collect();
        if module == ["lib"] || module.last().is_some_and(|m| m == "mod") {
            module.pop();
        }
        let text = std::fs::read_to_string(&file).unwrap();
        scans.insert(file, (module, scan(&text)));
    }
    // `#[path]` moves a file to where it is declared; `#[cfg(test)]` takes it out.
    let (mut moved, mut tests) = (Vec::new(), Vec::new());
    for (file, (module, scan)) in &scans {
        for (at, path, test) in &scan.decls {
            if let (Some(path), [_]) = (path, at.as_slice()) {
                moved.push((file.parent().unwrap().join(path), join(module, at)));
            }
            if *test {
                tests.push(join(module, at));
            }
        }
    }
    for (file, module) in moved {
        if let Some(entry) = scans.get_mut(&file) {
            entry.0 = module;
        }
    }
    scans.retain(|_, (module, _)| !tests.iter().any(|t| module.starts_with(t)));
    let mut modules = BTreeSet::new();
    for (module, scan) in scans.values() {
        modules.insert(module.clone());
        modules.extend(scan.inline.iter().map(|m| join(module, m)));
    }
    let mut edges = Vec::new();
    for (file, (module, scan)) in &scans {
        // The names each scope's imports bring in that are whole modules.
        let mut imports: BTreeMap<ModPath, Vec<(String, ModPath)>> = BTreeMap::new();
        for r in &scan.refs {
            let scope = join(module, &r.scope);
            if let (Some(name), Some((m, true))) =
                (&r.import, resolve(&scope, &r.path, &modules, &[]))
            {
                imports.entry(scope).or_default().push((name.clone(), m));
            }
        }
        for r in &scan.refs {
            let scope = join(module, &r.scope);
            let here = imports.get(&scope).map_or(&[][..], Vec::as_slice);
            let to = resolve(&scope, &r.path, &modules, here);
            if let Some((level, from, to)) = to.and_then(|to| sibling_edge(&scope, &to.0)) {
                let rel = Path::new("src").join(file.strip_prefix(src).unwrap());
                let path = r.path.join("::");
                let written = path.strip_suffix("::self").unwrap_or(&path);
                let at = format!("{}:{} {written}", rel.display(), r.line);
                edges.push(Edge {
                    level,
                    from,
                    to,
                    at,
                });
            }
        }
    }
    (modules, edges)
}

/// Every cycle among siblings at the levels at or under `within`, one for each edge that is on
/// one (the shortest through it), each as `a -> b -> a` with the references behind each step.
fn cycles(edges: &[Edge], within: &[&str]) -> Vec<String> {
    let mut levels: BTreeMap<&ModPath, BTreeMap<(&str, &str), Vec<&str>>> = BTreeMap::new();
    for e in edges {
        if e.level.len() >= within.len() && e.level.iter().zip(within).all(|(a, b)| a == b) {
            let steps = levels.entry(&e.level).or_default();
            steps.entry((&e.from, &e.to)).or_default().push(&e.at);
        }
    }
    let mut out = Vec::new();
    for (level, steps) in levels {
        let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for &(a, b) in steps.keys() {
            next.entry(a).or_default().push(b);
        }
        let mut found: BTreeSet<(usize, Vec<&str>)> = BTreeSet::new();
        for &(a, b) in steps.keys() {
            // The shortest way back from b to a, breadth first.
            let (mut came_from, mut queue) = (BTreeMap::from([(b, b)]), VecDeque::from([b]));
            while let Some(n) = queue.pop_front().filter(|&n| n != a) {
                for &m in next.get(n).into_iter().flatten() {
                    if !came_from.contains_key(m) {
                        came_from.insert(m, n);
                        queue.push_back(m);
                    }
                }
            }
            if !came_from.contains_key(a) {
                continue;
            }
            let mut cycle = vec![a];
            while *cycle.last().unwrap() != b {
                cycle.push(came_from[cycle.last().unwrap()]);
            }
            cycle[1..].reverse();
            let first = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap();
            cycle.rotate_left(first);
            found.insert((cycle.len(), cycle));
        }
        let name: String = level.iter().map(|m| format!("::{m}")).collect();
        for (_, cycle) in found {
            let mut text = format!("in crate{name}: {} -> {}\n", cycle.join(" -> "), cycle[0]);
            for (k, &a) in cycle.iter().enumerate() {
                let b = cycle[(k + 1) % cycle.len()];
                let refs = &steps[&(a, b)];
                text += &format!("    {a} -> {b}: {}", refs[..refs.len().min(3)].join(", "));
                if refs.len() > 3 {
                    text += &format!(" (and {} more)", refs.len() - 3);
                }
                text += "\n";
            }
            out.push(text);
        }
    }
    out
}

/// Fails with every cycle at or under `within`; `&[]` is the whole crate.
fn assert_no_cycles(within: &[&str]) {
    let (modules, edges) = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let root: ModPath = within.iter().map(|s| s.to_string()).collect();
    let under = edges.iter().filter(|e| e.level.starts_with(&root)).count();
    let read = modules.contains(&root) && under > 0;
    assert!(read, "no module or no edge under {within:?}");
    let found = cycles(&edges, within);
    let all = format!(
        "{} import cycle(s) among sibling modules:\n\n{}",
        found.len(),
        found.join("\n")
    );
    assert!(found.is_empty(), "{all}");
}

#[test]
fn gateway_has_no_module_cycles() {
    assert_no_cycles(&[]);
}

mod reader;
