//! `cargo xtask` — project automation without shell scripts (rust-analyzer style).
//!
//! ```text
//! cargo xtask ci                 fmt --check, clippy -D warnings, tests (+ corpora), cargo deny, docs
//! cargo xtask demo               a real handshake against an in-process server: blocking,
//!                                non-blocking and BIO-pair
//! cargo xtask bench <layer|all> [--quick] [--reps N] [--filter S]
//!                                per-layer benchmarks → target/bench/<layer>.json
//! cargo xtask corpus <name>      one conformance corpus: wycheproof, rfc8448, x509-limbo,
//!                                hostile, badssl
//! cargo xtask fuzz <target> [--time S]
//! ```
//!
//! It keeps no dependencies: it only runs cargo (and a few system tools) with the right flags.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const LAYERS: &[&str] = &[
    "crypto",
    "bio",
    "record",
    "x509",
    "handshake",
    "bulk",
    "memory",
    "tcp",
];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        usage();
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "ci" => ci(rest),
        "demo" => cargo(
            &["run", "--quiet", "-p", "overture", "--example", "demo"],
            &[],
        ),
        "bench" => bench(rest),
        "corpus" => corpus(rest),
        "fuzz" => fuzz(rest),
        "help" | "--help" | "-h" => {
            usage();
            Ok(())
        }
        other => Err(format!("unknown command `{other}`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() {
    eprintln!(
        "usage: cargo xtask <ci | demo | bench <{}|all> [--quick] [--reps N] | corpus <wycheproof|rfc8448|x509-limbo|hostile|badssl> | fuzz <target> [--time S]>",
        LAYERS.join("|")
    );
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    eprintln!("$ {shown}");
    let status = cmd
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

fn cargo(args: &[&str], extra: &[String]) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).args(args).args(extra))
}

/// The corpus harnesses: name → the cargo test invocation that prints its summary line(s).
fn corpus_command(name: &str) -> Option<Vec<&'static str>> {
    Some(match name {
        "wycheproof" => vec![
            "test",
            "-p",
            "overture-crypto-provider",
            "--features",
            "ring,rustcrypto",
            "--test",
            "wycheproof",
        ],
        "rfc8448" => vec![
            "test",
            "-p",
            "overture-handshake",
            "-p",
            "overture-record-layer",
            "--features",
            "overture-crypto-provider/rustcrypto",
            "--test",
            "rfc8448",
        ],
        "x509-limbo" => vec!["test", "-p", "overture-x509-verify", "--test", "limbo"],
        _ => return None,
    })
}

fn corpus(args: &[String]) -> Result<(), String> {
    let name = args.first().ok_or("corpus needs a name")?;
    match corpus_command(name) {
        Some(cmd) => cargo(&cmd, &["--".into(), "--nocapture".into()]),
        None if name == "hostile" || name == "badssl" => Err(format!(
            "corpus {name}: its harness arrives with the hostile-servers issue (#11) and is not in this tree yet"
        )),
        None => Err(format!("unknown corpus `{name}`")),
    }
}

fn bench(args: &[String]) -> Result<(), String> {
    let layer = args.first().ok_or("bench needs a layer or `all`")?;
    let extra = &args[1..];
    let layers: Vec<&str> = if layer == "all" {
        LAYERS
            .iter()
            .copied()
            .filter(|l| {
                root()
                    .join("benches/src/bin")
                    .join(format!("{l}.rs"))
                    .exists()
            })
            .collect()
    } else if LAYERS.contains(&layer.as_str()) {
        vec![layer.as_str()]
    } else {
        return Err(format!(
            "unknown bench layer `{layer}` (one of {})",
            LAYERS.join(", ")
        ));
    };
    for l in layers {
        if !root()
            .join("benches/src/bin")
            .join(format!("{l}.rs"))
            .exists()
        {
            return Err(format!(
                "bench {l}: not in this tree yet (its issue adds benches/src/bin/{l}.rs)"
            ));
        }
        cargo(
            &[
                "run",
                "--release",
                "--quiet",
                "-p",
                "overture-benches",
                "--features",
                l,
                "--bin",
                l,
                "--",
            ],
            extra,
        )?;
    }
    Ok(())
}

fn fuzz(args: &[String]) -> Result<(), String> {
    let target = args.first().ok_or("fuzz needs a target")?;
    if !root().join("fuzz").join("Cargo.toml").exists() {
        return Err(format!(
            "fuzz {target}: the fuzz targets arrive with the hostile-servers issue (#11) and are not in this tree yet"
        ));
    }
    let mut time = "30".to_string();
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        if a == "--time" {
            time = it.next().cloned().ok_or("--time needs seconds")?;
        }
    }
    run(Command::new("cargo")
        .current_dir(root().join("fuzz"))
        .args(["run", "--release", "--bin", target, "--"])
        .arg(format!("-max_total_time={time}")))
}

/// Installs what the tests need and a fresh machine lacks: the interop peers (`openssl`,
/// `gnutls-serv`) through apt when we are root, and cargo-deny through cargo.
fn ensure_tools(skip_deny: bool) -> Result<(), String> {
    let missing: Vec<&str> = [("openssl", "openssl"), ("gnutls-serv", "gnutls-bin")]
        .into_iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(_, pkg)| pkg)
        .collect();
    if !missing.is_empty() {
        let root_user = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        if root_user && on_path("apt-get") {
            run(Command::new("apt-get").args(["update", "-qq"]))?;
            run(Command::new("apt-get")
                .args(["install", "-y", "-qq"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"))?;
        } else {
            eprintln!(
                "xtask ci: interop peers missing ({}); install them (e.g. `apt-get install -y {}`) or their tests skip (and fail with OVERTURE_REQUIRE_PEERS=1)",
                missing.join(", "),
                missing.join(" ")
            );
        }
    }
    if !skip_deny && !have_cargo_sub("deny") {
        cargo(&["install", "--locked", "cargo-deny"], &[])?;
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    env::var_os("PATH").is_some_and(|p| env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn ci(args: &[String]) -> Result<(), String> {
    let skip_deny = args.iter().any(|a| a == "--no-deny");
    ensure_tools(skip_deny)?;
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // Tests, with both crypto providers on so the Wycheproof harness runs for each.
    let features = ["--features", "overture-crypto-provider/rustcrypto"];
    if have_cargo_sub("nextest") {
        cargo(
            &[
                "nextest",
                "run",
                "--workspace",
                "--no-fail-fast",
                features[0],
                features[1],
            ],
            &[],
        )?;
        // nextest does not run doctests.
        cargo(
            &["test", "--workspace", "--doc", features[0], features[1]],
            &[],
        )?;
    } else {
        cargo(
            &[
                "test",
                "--workspace",
                "--no-fail-fast",
                features[0],
                features[1],
            ],
            &[],
        )?;
    }
    if skip_deny {
        eprintln!("xtask ci: cargo deny skipped (--no-deny)");
    } else if have_cargo_sub("deny") {
        cargo(&["deny", "check", "licenses", "bans", "sources"], &[])?;
    } else {
        eprintln!(
            "xtask ci: cargo-deny is not installed; `cargo install --locked cargo-deny` to check licenses, bans and sources"
        );
    }
    let cargo_bin = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo_bin)
        .args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings"))
}

fn have_cargo_sub(sub: &str) -> bool {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args([sub, "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
