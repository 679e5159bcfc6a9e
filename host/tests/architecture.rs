//! The shape of `host/src`, read from its sources: its files import one
//! another without a cycle (the generated WIT bindings aside), and none is
//! over [`MAX_LINES`] lines. `docs/ARCHITECTURE.md` describes the layers.
//!
//! A file A imports a file B when A's code names, through `use` or a path
//! (`crate::…`, `super::…`, a module or name in scope, also inside macro
//! calls), an item that B defines: re-exports are followed to the file that
//! defines the item, so a `mod.rs` that re-exports its children's items is
//! not a dependency of theirs. Code under `#[cfg(test)]` is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// The longest file `host/src` may hold.
const MAX_LINES: usize = 800;

/// Files whose imports may close a cycle: wasmtime's `bindgen!` names the
/// host types that implement WIT resources (`with: { … }`), while those
/// types implement the traits it generates.
const GENERATED: &[&str] = &[
    "runtime/bindings/since_v1_0_0.rs",
    "runtime/bindings/since_v1_1_0.rs",
];

#[test]
fn host_src_has_no_import_cycle() {
    let krate = load_host();
    let cycles = krate.cycles(GENERATED);
    assert!(
        cycles.is_empty(),
        "host/src has import cycles (file -> file: the names it takes):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn no_host_src_file_is_over_the_line_limit() {
    let krate = load_host();
    let long: Vec<String> = krate
        .lines
        .iter()
        .filter(|(_, n)| **n > MAX_LINES)
        .map(|(file, n)| format!("{file}: {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines in host/src:\n{}",
        long.join("\n")
    );
}

/// The checks above can fail: a cycle between two files, made of a `use`
/// one way and a path inside a macro call the other, is found; a child
/// reaching its parent's re-export of a sibling, and test code, are not
/// cycles; a long file is counted.
#[test]
fn the_checks_find_a_synthetic_cycle_and_nothing_else() {
    let mut sources = BTreeMap::from([
        ("lib.rs", "mod a;\nmod b;\nmod p;\n"),
        (
            "a.rs",
            "use crate::b::B;\npub struct A(B);\npub fn name() {}\n",
        ),
        ("b.rs", "pub struct B;\n"),
        ("p/mod.rs", "mod x;\nmod y;\npub use x::X;\npub use y::Y;\n"),
        ("p/x.rs", "pub struct X;\n"),
        (
            "p/y.rs",
            "use super::X;\npub struct Y(X);\n#[cfg(test)]\nmod tests { use crate::p::Y; }\n",
        ),
    ]);
    let load = |sources: &BTreeMap<&str, &str>| {
        Crate::load(&|file: &str| sources.get(file).map(|s| s.to_string()))
            .expect("the synthetic crate loads")
    };
    let krate = load(&sources);
    assert!(krate.cycles(&[]).is_empty(), "{:?}", krate.cycles(&[]));
    assert_eq!(krate.edges_from("p/y.rs"), vec!["p/x.rs".to_string()]);
    assert_eq!(krate.lines.get("a.rs"), Some(&3));

    sources.insert(
        "b.rs",
        "pub struct B;\npub fn show() { println!(\"{:?}\", crate::a::name()) }\n",
    );
    let krate = load(&sources);
    let cycles = krate.cycles(&[]);
    assert_eq!(cycles.len(), 1, "{cycles:#?}");
    assert!(cycles[0].contains("a.rs -> b.rs: B"), "{}", cycles[0]);
    assert!(cycles[0].contains("b.rs -> a.rs: name"), "{}", cycles[0]);
    assert!(krate.cycles(&["b.rs"]).is_empty());
}

fn load_host() -> Crate {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    Crate::load(&|file: &str| std::fs::read_to_string(root.join(file)).ok())
        .unwrap_or_else(|e| panic!("cannot read host/src: {e}"))
}

type ModPath = Vec<String>;

/// One module: the file it lives in and the names it has in scope.
#[derive(Default)]
struct Module {
    file: String,
    children: BTreeSet<String>,
    defs: BTreeSet<String>,
    /// `use` bindings: name -> the path as written.
    uses: BTreeMap<String, Vec<String>>,
    /// `use path::*`: the paths as written.
    globs: Vec<Vec<String>>,
    /// Every path the module's code names.
    refs: Vec<Vec<String>>,
}

/// What a path names.
enum Target {
    Module(ModPath),
    /// An item: the file that defines it, and its name.
    Item(String, String),
}

/// A crate's modules, read from `lib.rs` down its `mod` declarations.
struct Crate {
    modules: BTreeMap<ModPath, Module>,
    /// Lines of each file.
    lines: BTreeMap<String, usize>,
}

impl Crate {
    /// Reads the crate whose files `read` returns, by path relative to its
    /// `src/` folder.
    fn load(read: &dyn Fn(&str) -> Option<String>) -> Result<Crate, String> {
        let mut krate = Crate {
            modules: BTreeMap::new(),
            lines: BTreeMap::new(),
        };
        krate.load_file(read, Vec::new(), "lib.rs", "")?;
        Ok(krate)
    }

    /// Reads module `path` from `file`; its child modules' files are in `dir`.
    fn load_file(
        &mut self,
        read: &dyn Fn(&str) -> Option<String>,
        path: ModPath,
        file: &str,
        dir: &str,
    ) -> Result<(), String> {
        let text = read(file).ok_or_else(|| format!("{file} not found"))?;
        self.lines.insert(file.to_string(), text.lines().count());
        let parsed = syn::parse_file(&text).map_err(|e| format!("{file}: {e}"))?;
        self.load_items(read, path, file, dir, &parsed.items)
    }

    fn load_items(
        &mut self,
        read: &dyn Fn(&str) -> Option<String>,
        path: ModPath,
        file: &str,
        dir: &str,
        items: &[syn::Item],
    ) -> Result<(), String> {
        let mut module = Module {
            file: file.to_string(),
            ..Module::default()
        };
        let mut children = Vec::new();
        for item in items {
            if is_test(item_attrs(item)) {
                continue;
            }
            if let syn::Item::Mod(m) = item {
                module.children.insert(m.ident.to_string());
                children.push(m);
                continue;
            }
            if let Some(name) = item_name(item) {
                module.defs.insert(name);
            }
            Refs {
                module: &mut module,
            }
            .visit_item(item);
        }
        self.modules.insert(path.clone(), module);
        for m in children {
            let name = m.ident.to_string();
            let mut child = path.clone();
            child.push(name.clone());
            let child_dir = format!("{dir}{name}/");
            match &m.content {
                Some((_, items)) => self.load_items(read, child, file, &child_dir, items)?,
                None => {
                    if m.attrs.iter().any(|a| a.path().is_ident("path")) {
                        return Err(format!(
                            "{file}: `#[path]` on `mod {name}` is not supported"
                        ));
                    }
                    let flat = format!("{dir}{name}.rs");
                    let nested = format!("{dir}{name}/mod.rs");
                    let file = if read(&flat).is_some() { flat } else { nested };
                    self.load_file(read, child, &file, &child_dir)?;
                }
            }
        }
        Ok(())
    }

    /// What `path`, as written in `module`, names.
    fn resolve(&self, module: &[String], path: &[String], depth: u32) -> Option<Target> {
        self.resolve_in(module, path, depth, false)
    }

    /// As [`Crate::resolve`]; `entered` says that `module` was reached by
    /// the path itself, so a name it does not visibly define (one a macro
    /// such as `bindgen!` generates) is taken to be defined in its file.
    fn resolve_in(
        &self,
        module: &[String],
        path: &[String],
        depth: u32,
        entered: bool,
    ) -> Option<Target> {
        if depth > 24 {
            return None;
        }
        let Some((first, rest)) = path.split_first() else {
            return Some(Target::Module(module.to_vec()));
        };
        match first.as_str() {
            "crate" => return self.resolve_in(&[], rest, depth + 1, true),
            "self" => return self.resolve_in(module, rest, depth + 1, true),
            "super" => {
                let (_, parent) = module.split_last()?;
                return self.resolve_in(parent, rest, depth + 1, true);
            }
            _ => {}
        }
        let m = self.modules.get(module)?;
        if m.children.contains(first) {
            let mut child = module.to_vec();
            child.push(first.clone());
            return self.resolve_in(&child, rest, depth + 1, true);
        }
        if m.defs.contains(first) {
            return Some(Target::Item(m.file.clone(), first.clone()));
        }
        if let Some(target) = m.uses.get(first) {
            let mut full = target.clone();
            full.extend_from_slice(rest);
            return self.resolve(module, &full, depth + 1);
        }
        for glob in &m.globs {
            if let Some(Target::Module(from)) = self.resolve(module, glob, depth + 1)
                && self.modules.get(&from).is_some_and(|g| {
                    g.children.contains(first)
                        || g.defs.contains(first)
                        || g.uses.contains_key(first)
                })
            {
                return self.resolve_in(&from, path, depth + 1, true);
            }
        }
        entered.then(|| Target::Item(m.file.clone(), first.clone()))
    }

    /// Imports file -> file, with the names each takes.
    fn edges(&self) -> BTreeMap<(String, String), BTreeSet<String>> {
        let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for (path, module) in &self.modules {
            for r in &module.refs {
                if let Some(Target::Item(file, name)) = self.resolve(path, r, 0)
                    && file != module.file
                    && !self.owns(path, &file)
                {
                    edges
                        .entry((module.file.clone(), file))
                        .or_default()
                        .insert(name);
                }
            }
        }
        edges
    }

    /// Whether `file` holds one of `module`'s descendants: a module may
    /// always use the modules it declares.
    fn owns(&self, module: &[String], file: &str) -> bool {
        self.modules.iter().any(|(path, m)| {
            m.file == file && path.len() > module.len() && path.starts_with(module)
        })
    }

    /// The files `file` imports.
    fn edges_from(&self, file: &str) -> Vec<String> {
        self.edges()
            .into_keys()
            .filter(|(from, _)| from == file)
            .map(|(_, to)| to)
            .collect()
    }

    /// Each cycle (a strongly connected set of files), with the imports
    /// inside it, leaving out the imports of the files in `exempt`.
    fn cycles(&self, exempt: &[&str]) -> Vec<String> {
        let edges: BTreeMap<(String, String), BTreeSet<String>> = self
            .edges()
            .into_iter()
            .filter(|((from, _), _)| !exempt.contains(&from.as_str()))
            .collect();
        let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (from, to) in edges.keys() {
            next.entry(from).or_default().push(to);
        }
        strongly_connected(&next)
            .into_iter()
            .filter(|set| set.len() > 1)
            .map(|set| {
                let mut text = format!("cycle of {} files:", set.len());
                for ((from, to), names) in &edges {
                    if set.contains(from.as_str()) && set.contains(to.as_str()) {
                        let names: Vec<&str> = names.iter().map(String::as_str).collect();
                        text.push_str(&format!("\n  {from} -> {to}: {}", names.join(", ")));
                    }
                }
                text
            })
            .collect()
    }
}

/// Tarjan's strongly connected components of a graph.
fn strongly_connected<'a>(next: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<BTreeSet<&'a str>> {
    struct State<'a, 'g> {
        next: &'g BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<BTreeSet<&'a str>>,
    }
    fn visit<'a>(s: &mut State<'a, '_>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for &w in s.next.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut set = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                set.insert(w);
                if w == v {
                    break;
                }
            }
            s.found.push(set);
        }
    }
    let mut s = State {
        next,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for &v in next.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

/// Collects what a module's items name: `use` bindings and every path.
struct Refs<'m> {
    module: &'m mut Module,
}

impl Refs<'_> {
    fn add_use(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.add_use(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.bind(prefix, &n.ident, &n.ident),
            syn::UseTree::Rename(r) => self.bind(prefix, &r.ident, &r.rename),
            syn::UseTree::Glob(_) => self.module.globs.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.add_use(tree, prefix);
                }
            }
        }
    }

    fn bind(&mut self, prefix: &[String], ident: &syn::Ident, name: &syn::Ident) {
        let mut path = prefix.to_vec();
        let name = if ident == "self" {
            prefix.last().cloned().unwrap_or_default()
        } else {
            path.push(ident.to_string());
            name.to_string()
        };
        if name != "_" {
            self.module.uses.insert(name, path.clone());
        }
        self.module.refs.push(path);
    }

    /// Paths inside a macro call's tokens: `a::b::c` sequences.
    fn add_tokens(&mut self, tokens: TokenStream) {
        let mut path: Vec<String> = Vec::new();
        let mut colons = 0;
        for token in tokens {
            match token {
                TokenTree::Ident(ident) if colons == 2 => {
                    path.push(ident.to_string());
                    colons = 0;
                }
                TokenTree::Punct(p) if p.as_char() == ':' && !path.is_empty() && colons < 2 => {
                    colons += 1;
                }
                other => {
                    self.flush(&mut path);
                    colons = 0;
                    match other {
                        TokenTree::Ident(ident) => path.push(ident.to_string()),
                        TokenTree::Group(g) => self.add_tokens(g.stream()),
                        _ => {}
                    }
                }
            }
        }
        self.flush(&mut path);
    }

    fn flush(&mut self, path: &mut Vec<String>) {
        if path.len() > 1 {
            self.module.refs.push(std::mem::take(path));
        }
        path.clear();
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !is_test(item_attrs(item)) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        if item.leading_colon.is_none() {
            self.add_use(&item.tree, &mut Vec::new());
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() {
            let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.module.refs.push(segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        syn::visit::visit_macro(self, mac);
        self.add_tokens(mac.tokens.clone());
    }
}

/// The name an item defines, if any.
fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::TraitAlias(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// Whether the attributes include `#[cfg(test)]`.
fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| match &a.meta {
        syn::Meta::List(list) => list.path.is_ident("cfg") && list.tokens.to_string() == "test",
        _ => false,
    })
}
