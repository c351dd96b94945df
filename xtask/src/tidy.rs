//! `cargo xtask tidy`: the dependency rules of ARCHITECTURE.md's invariants, checked against
//! `cargo metadata`. The allowed edges live here, in [`LAYERS`], and nowhere else.
//!
//! ```text
//! cargo metadata --no-deps ──► packages + their declared dependencies ──► check() ──► problems
//! cargo tree -p overture --no-default-features --features rustcrypto ──► no ring
//! ```

use std::process::Command;

/// The layers, and the workspace crates each may depend on (normal and build dependencies;
/// dev-dependencies are free). Arrows point down only. A layer depending on a workspace crate
/// not in its list fails tidy.
pub(crate) const LAYERS: &[(&str, &[&str])] = &[
    ("overture-types", &[]),
    ("overture-crypto-provider", &["overture-types"]),
    ("overture-bio", &[]),
    (
        "overture-record-layer",
        &["overture-crypto-provider", "overture-types"],
    ),
    ("overture-x509-verify", &["overture-crypto-provider"]),
    (
        "overture-handshake",
        &["overture-crypto-provider", "overture-types"],
    ),
    (
        "overture",
        &[
            "overture-handshake",
            "overture-record-layer",
            "overture-bio",
            "overture-x509-verify",
            "overture-crypto-provider",
            "overture-types",
        ],
    ),
    ("overture-cli", &["overture"]),
    ("overture-tokio", &["overture"]),
    ("overture-hyper", &["overture", "overture-tokio"]),
    ("overture-ureq", &["overture"]),
];

/// Workspace members that are not layers: tests, benches and tools. They may depend on any
/// layer, no layer may depend on them, and they may name crypto crates (an anchor must call
/// raw ring or rustls).
pub(crate) const TOOLS: &[&str] = &[
    "xtask",
    "overture-tests",
    "overture-benches",
    "overture-bogo-shim",
];

/// Crates that only `overture-crypto-provider` may name as normal or build dependencies.
pub(crate) const CRYPTO_CRATES: &[&str] = &[
    "ring",
    "aws-lc-rs",
    "sha2",
    "hkdf",
    "hmac",
    "aes-gcm",
    "chacha20poly1305",
    "x25519-dalek",
    "p256",
    "p384",
    "ed25519-dalek",
    "rsa",
    "ml-kem",
];

const PROVIDER: &str = "overture-crypto-provider";

/// One declared dependency of a workspace package.
#[derive(Debug, PartialEq)]
pub(crate) struct Dep {
    pub(crate) name: String,
    /// `None` for a normal dependency, else `dev` or `build`.
    pub(crate) kind: Option<String>,
    /// The features it enables.
    pub(crate) features: Vec<String>,
}

/// A workspace package and what its manifest declares.
#[derive(Debug, PartialEq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) deps: Vec<Dep>,
}

pub(crate) fn tidy() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::root())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| "cargo metadata: not UTF-8")?;
    let packages = packages(&text)?;
    let mut problems = check(&packages);
    // Features, not manifests, keep ring out of a RustCrypto-only build: ask cargo.
    let out = Command::new(&cargo)
        .args([
            "tree",
            "-p",
            "overture",
            "--no-default-features",
            "--features",
            "rustcrypto",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(crate::root())
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    problems.extend(check_rustcrypto_tree(&String::from_utf8_lossy(&out.stdout)));
    if problems.is_empty() {
        println!(
            "tidy: {} workspace crates follow the dependency rules (xtask/src/tidy.rs LAYERS)",
            packages.len()
        );
        Ok(())
    } else {
        for p in &problems {
            eprintln!("tidy: {p}");
        }
        Err(format!(
            "tidy: {} dependency rule(s) broken (ARCHITECTURE.md, Architecture invariants)",
            problems.len()
        ))
    }
}

/// Every broken rule, one sentence each.
pub(crate) fn check(packages: &[Package]) -> Vec<String> {
    let members: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    let mut problems = Vec::new();
    for p in packages {
        let layer = LAYERS.iter().find(|(n, _)| *n == p.name);
        let tool = TOOLS.contains(&p.name.as_str());
        if layer.is_none() && !tool {
            problems.push(format!(
                "`{}` is neither a layer nor a tool: add it to LAYERS (with what it may depend on) or TOOLS in xtask/src/tidy.rs",
                p.name
            ));
        }
        for d in p.deps.iter().filter(|d| d.kind.as_deref() != Some("dev")) {
            if let Some((_, allowed)) = layer
                && members.contains(&d.name.as_str())
                && !allowed.contains(&d.name.as_str())
            {
                problems.push(format!(
                    "`{}` depends on `{}`, which the dependency direction forbids (it may use: {})",
                    p.name,
                    d.name,
                    if allowed.is_empty() {
                        "no workspace crate".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ));
            }
            if CRYPTO_CRATES.contains(&d.name.as_str()) && p.name != PROVIDER && !tool {
                problems.push(format!(
                    "`{}` names `{}` as a {} dependency: only {PROVIDER} names ring or RustCrypto crates (a dev-dependency is fine)",
                    p.name,
                    d.name,
                    d.kind.as_deref().unwrap_or("normal")
                ));
            }
            if d.name == PROVIDER && !tool && !d.features.is_empty() {
                problems.push(format!(
                    "`{}` turns on {PROVIDER} feature(s) {}: a layer reaches crypto through the traits only; the provider is chosen by overture's `ring` / `rustcrypto` features (a dev-dependency may pick one)",
                    p.name,
                    d.features.join(", ")
                ));
            }
        }
    }
    problems
}

/// `cargo tree --prefix none --format {p}` of overture with only `rustcrypto` must not list
/// ring.
pub(crate) fn check_rustcrypto_tree(tree: &str) -> Vec<String> {
    if tree
        .lines()
        .any(|l| l.split_whitespace().next() == Some("ring"))
    {
        vec![
            "`cargo tree -p overture --no-default-features --features rustcrypto -e normal,build` lists ring"
                .to_string(),
        ]
    } else {
        Vec::new()
    }
}

/// The workspace packages of `cargo metadata --format-version 1` output.
pub(crate) fn packages(metadata: &str) -> Result<Vec<Package>, String> {
    let json = Json::parse(metadata)?;
    let members: Vec<&str> = json
        .get("workspace_members")
        .and_then(Json::array)
        .ok_or("cargo metadata: no workspace_members")?
        .iter()
        .filter_map(Json::str)
        .collect();
    let mut out = Vec::new();
    for p in json
        .get("packages")
        .and_then(Json::array)
        .ok_or("cargo metadata: no packages")?
    {
        let id = p.get("id").and_then(Json::str).unwrap_or_default();
        if !members.contains(&id) {
            continue;
        }
        let name = p
            .get("name")
            .and_then(Json::str)
            .ok_or("cargo metadata: a package without a name")?;
        let deps = p
            .get("dependencies")
            .and_then(Json::array)
            .unwrap_or_default()
            .iter()
            .map(|d| {
                Ok(Dep {
                    name: d
                        .get("name")
                        .and_then(Json::str)
                        .ok_or_else(|| {
                            format!("cargo metadata: a dependency of {name} without a name")
                        })?
                        .to_string(),
                    kind: d.get("kind").and_then(Json::str).map(str::to_string),
                    features: d
                        .get("features")
                        .and_then(Json::array)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(Json::str)
                        .map(str::to_string)
                        .collect(),
                })
            })
            .collect::<Result<_, String>>()?;
        out.push(Package {
            name: name.to_string(),
            deps,
        });
    }
    Ok(out)
}

/// Just enough JSON for `cargo metadata`: values, with numbers kept as text.
#[derive(Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Nesting deeper than this is refused (cargo metadata nests about 6 deep).
const MAX_DEPTH: usize = 64;

impl Json {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            at: 0,
        };
        let v = p.value(0)?;
        p.ws();
        if p.at == p.s.len() {
            Ok(v)
        } else {
            Err(format!("JSON: trailing bytes at {}", p.at))
        }
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn err(&self, what: &str) -> String {
        format!("JSON: {what} at byte {}", self.at)
    }

    fn eat(&mut self, lit: &str) -> Result<(), String> {
        if self.s.get(self.at..self.at + lit.len()) == Some(lit.as_bytes()) {
            self.at += lit.len();
            Ok(())
        } else {
            Err(self.err(&format!("expected `{lit}`")))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.ws();
        match self.peek() {
            Some(b'n') => self.eat("null").map(|()| Json::Null),
            Some(b't') => self.eat("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.eat("false").map(|()| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.err("expected `,` or `]`")),
                    }
                }
            }
            Some(b'{') => {
                self.at += 1;
                let mut kv = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Json::Object(kv));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    self.eat(":")?;
                    kv.push((k, self.value(depth + 1)?));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Json::Object(kv));
                        }
                        _ => return Err(self.err("expected `,` or `}`")),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.at;
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.at += 1;
                }
                let n = std::str::from_utf8(self.s.get(start..self.at).unwrap_or_default())
                    .map_err(|_| self.err("bad number"))?;
                Ok(Json::Number(n.to_string()))
            }
            _ => Err(self.err("expected a value")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat("\"")?;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.at += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|_| self.err("string not UTF-8")),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.at += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                self.eat("\\u")?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(code).ok_or_else(|| self.err("bad \\u escape"))?
                        }
                        _ => return Err(self.err("unknown escape")),
                    };
                    let mut b = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .s
            .get(self.at..self.at + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.err("bad \\u escape"))?;
        self.at += 4;
        Ok(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trimmed `cargo metadata --no-deps` document: two members and a non-member.
    fn sample(handshake_deps: &str) -> String {
        format!(
            r#"{{"packages":[
  {{"name":"overture-handshake","id":"path+file:///w/crates/handshake#0.1.0","version":"0.1.0",
    "dependencies":[{handshake_deps}],"features":{{}},"targets":[]}},
  {{"name":"overture-crypto-provider","id":"path+file:///w/crates/crypto-provider#0.1.0",
    "dependencies":[
      {{"name":"overture-types","source":null,"kind":null,"optional":false,"path":"/w/crates/types"}},
      {{"name":"ring","source":"registry+https://github.com/rust-lang/crates.io-index","kind":null,"optional":true}}]}},
  {{"name":"overture-types","id":"path+file:///w/crates/types#0.1.0","dependencies":[]}},
  {{"name":"outsider","id":"registry+x#outsider@1.0.0","dependencies":[{{"name":"ring","kind":null}}]}}
],
"workspace_members":["path+file:///w/crates/handshake#0.1.0","path+file:///w/crates/crypto-provider#0.1.0","path+file:///w/crates/types#0.1.0"],
"resolve":null,"target_directory":"/w/target","version":1,"workspace_root":"/w","metadata":{{"n":-1.5e3,"esc":"a\"\\\u00e9\ud83d\ude00"}}}}"#
        )
    }

    const ALLOWED: &str = r#"{"name":"overture-types","kind":null},
        {"name":"overture-crypto-provider","kind":null,"features":[]},
        {"name":"overture-crypto-provider","kind":"dev","features":["ring","rustcrypto"]},
        {"name":"ring","kind":"dev"},
        {"name":"overture-record-layer","kind":"dev"}"#;

    #[test]
    fn an_allowed_graph_passes() {
        let pkgs = packages(&sample(ALLOWED)).unwrap();
        assert_eq!(
            pkgs.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            [
                "overture-handshake",
                "overture-crypto-provider",
                "overture-types"
            ],
            "members only"
        );
        assert_eq!(pkgs[0].deps.len(), 5);
        assert_eq!(pkgs[0].deps[2].kind.as_deref(), Some("dev"));
        assert_eq!(pkgs[0].deps[2].features, ["ring", "rustcrypto"]);
        assert_eq!(check(&pkgs), Vec::<String>::new());
    }

    #[test]
    fn a_forbidden_layer_edge_fails() {
        let deps = format!(r#"{ALLOWED}, {{"name":"overture-record-layer","kind":null}}"#);
        let mut pkgs = packages(&sample(&deps)).unwrap();
        pkgs.push(Package {
            name: "overture-record-layer".into(),
            deps: vec![],
        });
        let problems = check(&pkgs);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("`overture-handshake` depends on `overture-record-layer`"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_crypto_crate_outside_the_provider_fails_even_as_a_build_dependency() {
        for kind in ["null", r#""build""#] {
            let deps = format!(r#"{ALLOWED}, {{"name":"sha2","kind":{kind}}}"#);
            let problems = check(&packages(&sample(&deps)).unwrap());
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(
                problems[0].contains("`overture-handshake` names `sha2`"),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn a_layer_choosing_a_provider_fails() {
        let deps = ALLOWED.replace(
            r#""kind":null,"features":[]"#,
            r#""kind":null,"features":["ring"]"#,
        );
        let problems = check(&packages(&sample(&deps)).unwrap());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .contains("`overture-handshake` turns on overture-crypto-provider feature(s) ring"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_unclassified_member_fails_and_tools_are_free() {
        let pkgs = vec![
            Package {
                name: "overture-quic".into(),
                deps: vec![],
            },
            Package {
                name: "overture-benches".into(),
                deps: vec![Dep {
                    name: "ring".into(),
                    kind: None,
                    features: vec![],
                }],
            },
        ];
        let problems = check(&pkgs);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("`overture-quic`"), "{problems:?}");
    }

    #[test]
    fn ring_in_the_rustcrypto_tree_fails() {
        let clean = "overture v0.1.0 (/w/crates/client)\nsha2 v0.11.1\nrsa v0.10.0\n";
        assert!(check_rustcrypto_tree(clean).is_empty());
        assert_eq!(
            check_rustcrypto_tree(&format!("{clean}ring v0.17.14\n")).len(),
            1
        );
    }

    #[test]
    fn json_values_and_refusals() {
        let v = Json::parse(&sample("")).unwrap();
        assert_eq!(
            v.get("metadata")
                .and_then(|m| m.get("esc"))
                .and_then(Json::str),
            Some("a\"\\\u{e9}\u{1f600}")
        );
        assert_eq!(
            v.get("metadata").and_then(|m| m.get("n")),
            Some(&Json::Number("-1.5e3".into()))
        );
        for bad in [
            "",
            "{",
            r#"{"a":1,}"#,
            "[1 2]",
            r#""\ud83d""#,
            r#""\q""#,
            "nul",
            "1 2",
        ] {
            assert!(Json::parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
        assert!(Json::parse(&deep).is_err());
    }
}
