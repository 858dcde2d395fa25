//! The reader's own tests: comments and literals dropped, use groups expanded, paths
//! resolved, and a small tree with a known cycle reported.

use super::*;

/// The paths a source names: `line:path`, after `scope/` if in an inline module.
fn paths(src: &str) -> String {
    let each = scan(src).refs.into_iter().map(|r| {
        let scope: String = r.scope.iter().map(|s| format!("{s}/")).collect();
        format!("{}:{scope}{} ", r.line, r.path.join("::"))
    });
    each.collect()
}

#[test]
fn comments_and_literals_are_dropped_and_lines_kept() {
    let src = "/// crate::doc::A\n//! crate::inner::B\nuse crate::real::C; // crate::line::D\n\
        /* crate::outer /* crate::nested */ crate::still::E */ fn f<'a>(x: &'a str) {\n\
        let c = '\"'; let q = '\\''; let u = '\\u{1F600}'; let s = \"crate::s::F \\\" \";\n\
        let r = r##\"crate::raw::H \"# still raw\"##; let b = br\"crate::raw::I\";\n\
        /** crate::doc::J */ crate::after::K(x, r#type, b'\\'', 0x1f);\n}";
    assert_eq!(paths(src), "3:crate::real::C 7:crate::after::K ");
    let t = lex(src);
    let strings = t.iter().filter_map(|t| match &t.tok {
        Tok::Str(s) => Some(format!("{s}|")),
        _ => None,
    });
    let want = "crate::s::F \\\" |crate::raw::H \"# still raw|crate::raw::I|";
    assert_eq!(strings.collect::<String>(), want);
    assert!(t.iter().any(|t| t.tok == Tok::Ident("type".into())));
    // A lifetime is no char literal: what follows it is still read.
    let src = "fn g<'a, 'b>(x: &'a crate::x::T, y: &'b str) -> crate::y::U {}";
    assert_eq!(paths(src), "1:crate::x::T 1:crate::y::U ");
}

#[test]
fn grouped_uses_expand_to_every_leaf() {
    let src = "pub(crate) use crate::{a::B, c::{d, e::{self, F as G}}, h::*};\n\
               use super::{super::i, self::j::K};";
    let refs = scan(src).refs;
    let leaves = refs
        .iter()
        .map(|r| format!("{}={:?} ", r.path.join("::"), r.import));
    let want = r#"crate::a::B=Some("B") crate::c::d=Some("d") crate::c::e::self=Some("e") "#
        .to_string()
        + r#"crate::c::e::F=Some("G") crate::h::*=Some("*") super::super::i=Some("i") "#
        + r#"super::self::j::K=Some("K") "#;
    assert_eq!(leaves.collect::<String>(), want);
}

#[test]
fn test_modules_macros_and_path_attributes() {
    let src = "mod inner { fn f() { super::x::A; } }\n#[cfg(test)]\nmod tests { use crate::t::T; }\n\
        macro_rules! m { () => { $crate::m::M } }\n#[cfg(test)]\n#[path = \"other_tests.rs\"]\n\
        mod more;\n#[cfg(test)] mod units;\npub(in crate::a) mod plain;";
    let s = scan(src);
    assert_eq!(s.inline, [m("inner")]);
    assert_eq!(paths(src), "1:inner/super::x::A ");
    let decls = s
        .decls
        .iter()
        .map(|(at, p, t)| format!("{}:{p:?}:{t} ", at.join("::")));
    let want = r#"more:Some("other_tests.rs"):true units:None:true plain:None:false "#;
    assert_eq!(decls.collect::<String>(), want);
}

fn m(path: &str) -> ModPath {
    path.split_terminator("::").map(String::from).collect()
}

#[test]
fn paths_resolve_relative_to_their_module() {
    let modules = ["", "a", "a::b", "a::b::c", "a::d", "a::d::e", "f"]
        .map(m)
        .into();
    let imports = [("dee".to_string(), m("a::d")), ("*".to_string(), m("a"))];
    // Where `path` leads from `from`, `+` if it names a module in full.
    let at = |from: &str, path: &str| match resolve(&m(from), &m(path), &modules, &imports) {
        Some((to, whole)) => to.join("::") + if whole { "+" } else { "" },
        None => "none".to_string(),
    };
    assert_eq!(at("a::b::c", "super::super::d::e::X"), "a::d::e");
    assert_eq!(at("a::b::c", "super::Item"), "a::b");
    assert_eq!(at("a::b", "self::c"), "a::b::c+");
    assert_eq!(at("a::b", "crate::f::g"), "f");
    assert_eq!(at("a", "super::super::x"), "none");
    assert_eq!(at("a", "b::c::Y"), "a::b::c");
    assert_eq!(at("a::b", "g::Z"), "none"); // no child `g`, nothing imported: another crate
    assert_eq!(at("a::b", "dee::e::f"), "a::d::e"); // through `use crate::a::d as dee`
    assert_eq!(at("a::b", "d::W"), "a::d"); // through `use crate::a::*`
    let edge = |a: &str, b: &str| format!("{:?}", sibling_edge(&m(a), &m(b)));
    assert_eq!(edge("a::b::c", "a::d::e"), r#"Some((["a"], "b", "d"))"#);
    assert_eq!(edge("a::b::c", "f"), r#"Some(([], "a", "f"))"#);
    assert_eq!(edge("a::b::c", "a::b"), "None");
    assert_eq!(edge("a", "a::d::e"), "None");
}

#[test]
fn a_cycle_in_a_small_tree_is_reported() {
    let root = std::env::temp_dir().join(format!("module-graph-{}", std::process::id()));
    let src = root.join("src");
    let files = [
        "lib.rs: mod a; mod b; mod c; mod d; pub struct Root;",
        "a.rs: use crate::b::B; // crate::d::never\nuse crate::Root;",
        "b/mod.rs: mod x; mod y; pub struct B; fn f() { super::c::run() }",
        "b/x.rs: use super::{B, y::Y}; fn f() -> &'static str { \"crate::d\" }",
        "b/y.rs: fn f() { crate::b::x::X; }\n#[cfg(test)] mod tests { use crate::d::T; }",
        "c.rs: use crate::{a::{self}, d::*};\npub fn run() {}",
        "d.rs: pub struct T; mod inner { fn f() { super::T; crate::Root; } }",
    ];
    for (path, text) in files.map(|f| f.split_once(": ").unwrap()) {
        std::fs::create_dir_all(src.join(path).parent().unwrap()).unwrap();
        std::fs::write(src.join(path), text).unwrap();
    }
    let (modules, edges) = load(&src);
    std::fs::remove_dir_all(&root).unwrap();
    assert!(modules.contains(&m("d::inner")));
    let want = "in crate: a -> b -> c -> a\n    a -> b: src/a.rs:1 crate::b::B\n    \
                b -> c: src/b/mod.rs:1 super::c::run\n    c -> a: src/c.rs:1 crate::a\n\n\
                in crate::b: x -> y -> x\n    x -> y: src/b/x.rs:1 super::y::Y\n    \
                y -> x: src/b/y.rs:1 crate::b::x::X\n";
    assert_eq!(cycles(&edges, &[]).join("\n"), want);
    assert_eq!(cycles(&edges, &["b"]).len(), 1);
    let d = edges
        .iter()
        .filter(|e| e.from == "d" || e.to == "d")
        .map(|e| e.at.as_str());
    assert_eq!(d.collect::<Vec<_>>(), ["src/c.rs:1 crate::d::*"]);
}
