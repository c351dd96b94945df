//! `cargo xtask` — project automation without shell scripts (rust-analyzer style).
//!
//! ```text
//! cargo xtask ci [--no-deny] [--no-fuzz]
//!                                fmt --check, tidy, clippy -D warnings, tests (+ corpora, the
//!                                client suite again on rustcrypto), cargo deny,
//!                                docs, a 30 s fuzz smoke run of every target
//! cargo xtask tidy               the dependency rules of ARCHITECTURE.md's invariants
//!                                (xtask/src/tidy.rs LAYERS), from cargo metadata
//! cargo xtask demo               a real handshake against an in-process server: blocking,
//!                                non-blocking and BIO-pair
//! cargo xtask bench <layer|all> [--quick] [--reps N] [--filter S]
//!                                per-layer benchmarks → target/bench/<layer>.json
//! cargo xtask corpus <name>      one conformance corpus: wycheproof, rfc8448, x509-limbo,
//!                                hostile, badssl, openssl-diff (the differential suite against
//!                                OpenSSL's real SSL_connect; needs gcc and libssl-dev)
//! cargo xtask fuzz <target|all> [--time S] [-- libFuzzer flags]
//!                                build fuzz/ with coverage instrumentation (stable rustc),
//!                                replay fuzz/regressions, fuzz each target S seconds (30)
//! cargo xtask fuzz <target|all> --minimize
//!                                shrink fuzz/corpus/<target> to what keeps its coverage
//! cargo xtask bogo --runner PATH [-- runner flags]
//!                                BoringSSL's BoGo suite: runs a runner binary built elsewhere
//!                                against tests/bogo (shim + config.json) in the client role
//! ```
//!
//! It keeps no dependencies: it only runs cargo (and a few system tools) with the right flags.

mod tidy;

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
    "tokio",
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
        "tidy" => tidy::tidy(),
        "demo" => cargo(
            &["run", "--quiet", "-p", "overture", "--example", "demo"],
            &[],
        ),
        "bench" => bench(rest),
        "corpus" => corpus(rest),
        "fuzz" => fuzz(rest),
        "bogo" => bogo(rest),
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
        "usage: cargo xtask <ci | demo | bench <{}|all> [--quick] [--reps N] | corpus <wycheproof|rfc8448|x509-limbo|hostile|badssl|openssl-diff> | fuzz <deframer|handshake_messages|certificate|path_building|client_state_machine|connection|ech_config|all> [--time S | --minimize] | bogo --runner PATH [-- runner flags]>",
        LAYERS.join("|")
    );
    eprintln!("       cargo xtask tidy   (dependency rules, xtask/src/tidy.rs)");
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
        "hostile" => vec!["test", "-p", "overture-tests", "--test", "hostile"],
        "badssl" => vec!["test", "-p", "overture-tests", "--test", "badssl"],
        "openssl-diff" => vec!["test", "-p", "overture-tests", "--test", "openssl_diff"],
        _ => return None,
    })
}

fn corpus(args: &[String]) -> Result<(), String> {
    let name = args.first().ok_or("corpus needs a name")?;
    match corpus_command(name) {
        Some(cmd) => cargo(&cmd, &["--".into(), "--nocapture".into()]),
        None => Err(format!("unknown corpus `{name}`")),
    }
}

/// `cargo xtask bench <layer|all> [--quick] [--reps N] [--filter S]`: builds the layer's bench
/// binary (for `all`, every layer's in one build), runs each pinned to the last core with
/// `taskset` where there is more than one (the binary also pins itself), then writes the
/// summary: `target/bench/report.md`, and for a full (not `--quick`) `all` run also
/// `BENCHMARKS.md` at the root.
fn bench(args: &[String]) -> Result<(), String> {
    let layer = args.first().ok_or("bench needs a layer or `all`")?;
    let extra = &args[1..];
    let have = |l: &str| {
        root()
            .join("benches/src/bin")
            .join(format!("{l}.rs"))
            .exists()
    };
    let layers: Vec<&str> = if layer == "all" {
        LAYERS.iter().copied().filter(|l| have(l)).collect()
    } else if LAYERS.contains(&layer.as_str()) {
        if !have(layer) {
            return Err(format!(
                "bench {layer}: not in this tree yet (its issue adds benches/src/bin/{layer}.rs)"
            ));
        }
        vec![layer.as_str()]
    } else {
        return Err(format!(
            "unknown bench layer `{layer}` (one of {})",
            LAYERS.join(", ")
        ));
    };
    let started = std::time::Instant::now();
    let features = layers.join(",");
    let mut build = vec![
        "build",
        "--profile",
        "bench",
        "--quiet",
        "-p",
        "overture-benches",
        "--features",
        &features,
        "--bin",
        "report",
    ];
    for l in &layers {
        build.extend(["--bin", l]);
    }
    cargo(&build, &[])?;
    let bin_dir = bench_target_dir().join("release");
    let mut failed = Vec::new();
    for l in &layers {
        let exe = bin_dir.join(l);
        let mut cmd = bench_pinned(&exe);
        cmd.args(extra);
        if let Err(e) = run(&mut cmd) {
            eprintln!("xtask: bench {l}: {e}");
            failed.push(*l);
        }
    }
    let full = layer == "all" && !extra.iter().any(|a| a == "--quick");
    let command = format!("cargo xtask bench {}", args.join(" "));
    let mut report = Command::new(bin_dir.join("report"));
    report
        .arg("--command")
        .arg(&command)
        .arg("--seconds")
        .arg(format!("{:.0}", started.elapsed().as_secs_f64()))
        .args(layers.iter().map(|l| format!("--layer={l}")));
    if full {
        report.arg("--write").arg(root().join("BENCHMARKS.md"));
    }
    run(&mut report)?;
    eprintln!(
        "xtask: bench {layer} took {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("bench layers failed: {}", failed.join(", ")))
    }
}

/// Where cargo puts the bench binaries (`$CARGO_TARGET_DIR` or `target/`).
fn bench_target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The command running `exe` on the last CPU through `taskset` (util-linux) when there is
/// more than one CPU and `taskset` is installed; plain `exe` otherwise.
fn bench_pinned(exe: &Path) -> Command {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus > 1 && cfg!(target_os = "linux") && on_path("taskset") {
        let mut c = Command::new("taskset");
        c.arg("-c").arg((cpus - 1).to_string()).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

/// The fuzz targets of `fuzz/` (cargo-fuzz layout, a package outside the workspace).
const FUZZ_TARGETS: &[&str] = &[
    "deframer",
    "handshake_messages",
    "certificate",
    "path_building",
    "client_state_machine",
    "connection",
    "ech_config",
];

/// Coverage instrumentation for libFuzzer on *stable* rustc: the SanitizerCoverage pass with
/// the flags cargo-fuzz passes (inline 8-bit counters, PC table, compare tracing) and
/// `--cfg fuzzing`. No sanitizer runtime: every crate is `forbid(unsafe_code)`, so ASan would
/// find nothing that a panic or libFuzzer's RSS/timeout limits do not; ring's C is not
/// instrumented. Debug assertions and overflow checks come from fuzz/Cargo.toml's profile.
const FUZZ_RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing";

/// What one fuzz run did, from libFuzzer's final statistics.
struct FuzzRun {
    target: String,
    executions: u64,
    seconds: f64,
    corpus_in_memory: Option<String>,
    corpus_files: usize,
    corpus_bytes: u64,
    coverage: Option<String>,
    regressions: usize,
    crash: Option<String>,
}

/// `cargo xtask fuzz <target|all> [--time S | --minimize] [-- libFuzzer flags]`: builds fuzz/ with coverage
/// instrumentation, replays `fuzz/regressions/<target>/`, then fuzzes each target for S seconds
/// (default 30) with the persistent corpus `fuzz/corpus/<target>` plus the committed seeds
/// `fuzz/seeds/<target>`; crashes land in `fuzz/artifacts/<target>/`.
fn fuzz(args: &[String]) -> Result<(), String> {
    let target = args.first().ok_or_else(|| {
        format!(
            "fuzz needs a target: one of {} or `all`",
            FUZZ_TARGETS.join(", ")
        )
    })?;
    let fuzz_dir = root().join("fuzz");
    if !fuzz_dir.join("Cargo.toml").exists() {
        return Err(format!("fuzz {target}: no fuzz/Cargo.toml in this tree"));
    }
    let mut seconds: u64 = 30;
    let mut minimize = false;
    let mut extra: Vec<String> = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--minimize" => minimize = true,
            "--time" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--time needs a number of seconds")?;
            }
            "--" => extra.extend(it.by_ref().cloned()),
            other => return Err(format!("fuzz: unknown argument `{other}`")),
        }
    }
    let targets: Vec<&str> = if target == "all" {
        FUZZ_TARGETS.to_vec()
    } else if FUZZ_TARGETS.contains(&target.as_str()) {
        vec![target.as_str()]
    } else {
        return Err(format!(
            "unknown fuzz target `{target}` (one of {}, or `all`)",
            FUZZ_TARGETS.join(", ")
        ));
    };
    let bin_dir = fuzz_build(&fuzz_dir)?;
    if minimize {
        for t in targets {
            fuzz_minimize(&fuzz_dir, &bin_dir, t)?;
        }
        return Ok(());
    }
    let mut runs = Vec::new();
    for t in targets {
        runs.push(fuzz_run(&fuzz_dir, &bin_dir, t, seconds, &extra)?);
    }
    eprintln!();
    let mut crashed = Vec::new();
    for r in &runs {
        let rate = if r.seconds > 0.0 {
            // Display only: u64 → f64 loses nothing that matters here.
            #[allow(clippy::cast_precision_loss)]
            let execs = r.executions as f64;
            execs / r.seconds
        } else {
            0.0
        };
        println!(
            "fuzz {}: {} executions in {:.0} s ({:.0} exec/s), corpus {} (fuzz/corpus/{}: {} files, {} bytes), {}, {} regression inputs replayed, {}",
            r.target,
            r.executions,
            r.seconds,
            rate,
            r.corpus_in_memory.as_deref().unwrap_or("?"),
            r.target,
            r.corpus_files,
            r.corpus_bytes,
            r.coverage.as_deref().unwrap_or("cov ?"),
            r.regressions,
            match &r.crash {
                Some(a) => format!("CRASH: {a}"),
                None => "0 crashes".to_string(),
            }
        );
        if let Some(a) = &r.crash {
            crashed.push(format!("{}: {a}", r.target));
        }
    }
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzzing found crashes: {}", crashed.join("; ")))
    }
}

fn host_triple() -> Result<String, String> {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| "rustc -vV printed no host triple".to_string())
}

/// Builds every fuzz target; returns the directory of the binaries. An explicit `--target`
/// keeps the instrumentation out of build scripts and proc macros (as cargo-fuzz does).
fn fuzz_build(fuzz_dir: &Path) -> Result<PathBuf, String> {
    let triple = host_triple()?;
    let target_dir = fuzz_dir.join("target");
    let cargo_bin = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo_bin);
    cmd.args([
        "build",
        "--release",
        "--bins",
        "--locked",
        "--manifest-path",
    ])
    .arg(fuzz_dir.join("Cargo.toml"))
    .arg("--target")
    .arg(&triple)
    .arg("--target-dir")
    .arg(&target_dir)
    .env("RUSTFLAGS", FUZZ_RUSTFLAGS)
    .env_remove("CARGO_ENCODED_RUSTFLAGS")
    .env_remove("CARGO_BUILD_RUSTFLAGS");
    let started = std::time::Instant::now();
    run(&mut cmd)?;
    eprintln!(
        "xtask fuzz: built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(target_dir.join(triple).join("release"))
}

/// Files directly in `dir` (none if it does not exist), sorted.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Replays the regression inputs, then fuzzes `target` for `seconds`.
fn fuzz_run(
    fuzz_dir: &Path,
    bin_dir: &Path,
    target: &str,
    seconds: u64,
    extra: &[String],
) -> Result<FuzzRun, String> {
    let bin = bin_dir.join(target);
    let corpus = fuzz_dir.join("corpus").join(target);
    let seeds = fuzz_dir.join("seeds").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    for d in [&corpus, &artifacts] {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    // Limits: a hang is an input that takes over 10 s; memory over 2 GiB is a leak or an
    // unbounded allocation. Inputs up to 64 KiB (a whole certificate chain fits).
    let limits = ["-timeout=10", "-rss_limit_mb=2048", "-max_len=65536"];

    let regressions = files_in(&fuzz_dir.join("regressions").join(target));
    if !regressions.is_empty() {
        eprintln!(
            "xtask fuzz {target}: replaying {} regression input(s)",
            regressions.len()
        );
        let status = Command::new(&bin)
            .args(limits)
            .args(&regressions)
            .env("RUST_BACKTRACE", "1")
            .status()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        if !status.success() {
            return Err(format!(
                "fuzz {target}: a regression input in fuzz/regressions/{target} crashes ({status})"
            ));
        }
    }

    eprintln!("xtask fuzz {target}: fuzzing for {seconds} s");
    let mut cmd = Command::new(&bin);
    cmd.arg(&corpus);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    let mut prefix = artifacts.into_os_string();
    prefix.push("/");
    let mut artifact_prefix = std::ffi::OsString::from("-artifact_prefix=");
    artifact_prefix.push(&prefix);
    cmd.args(limits)
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg(artifact_prefix)
        .args(extra)
        .env("RUST_BACKTRACE", "1")
        .stderr(std::process::Stdio::piped());
    let started = std::time::Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let mut stats = FuzzRun {
        target: target.to_string(),
        executions: 0,
        seconds: 0.0,
        corpus_in_memory: None,
        corpus_files: 0,
        corpus_bytes: 0,
        coverage: None,
        regressions: regressions.len(),
        crash: None,
    };
    if let Some(stderr) = child.stderr.take() {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            parse_libfuzzer_line(&line, &mut stats);
            // New-coverage lines are many and tell little; everything else is shown.
            let noisy =
                line.starts_with('#') && (line.contains("\tNEW ") || line.contains("\tREDUCE "));
            if !noisy {
                eprintln!("{line}");
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {}: {e}", bin.display()))?;
    stats.seconds = started.elapsed().as_secs_f64();
    let files = files_in(&corpus);
    stats.corpus_files = files.len();
    stats.corpus_bytes = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    if !status.success() && stats.crash.is_none() {
        stats.crash = Some(format!(
            "libFuzzer exited with {status} (no artifact named; see the output above)"
        ));
    }
    Ok(stats)
}

/// Replaces `fuzz/corpus/<target>` by the smallest subset of it and the seeds that keeps the
/// coverage (libFuzzer `-merge=1`): a long-lived corpus keeps every input that was once new.
fn fuzz_minimize(fuzz_dir: &Path, bin_dir: &Path, target: &str) -> Result<(), String> {
    let corpus = fuzz_dir.join("corpus").join(target);
    let merged = fuzz_dir.join("corpus").join(format!("{target}.merging"));
    let _ = std::fs::remove_dir_all(&merged);
    std::fs::create_dir_all(&merged)
        .map_err(|e| format!("cannot create {}: {e}", merged.display()))?;
    let before = files_in(&corpus).len();
    let mut cmd = Command::new(bin_dir.join(target));
    cmd.args([
        "-merge=1",
        "-timeout=10",
        "-rss_limit_mb=2048",
        "-max_len=65536",
    ])
    .arg(&merged)
    .arg(&corpus);
    let seeds = fuzz_dir.join("seeds").join(target);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    run(&mut cmd)?;
    let after = files_in(&merged).len();
    let _ = std::fs::remove_dir_all(&corpus);
    std::fs::rename(&merged, &corpus).map_err(|e| {
        format!(
            "cannot move {} to {}: {e}",
            merged.display(),
            corpus.display()
        )
    })?;
    println!("fuzz {target}: corpus minimized, {before} files -> {after} files");
    Ok(())
}

/// Picks the figures out of one line of libFuzzer's output.
fn parse_libfuzzer_line(line: &str, stats: &mut FuzzRun) {
    if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
        if let Ok(n) = n.trim().parse() {
            stats.executions = n;
        }
    } else if let Some(path) = line
        .split_once("Test unit written to ")
        .map(|(_, p)| p.trim())
    {
        stats.crash = Some(path.to_string());
    } else if line.starts_with('#') {
        // "#1024\tpulse  cov: 812 ft: 2301 corp: 120/9034b lim: ... exec/s: ..."
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            if let [k, v] = pair {
                match *k {
                    "corp:" => {
                        stats.corpus_in_memory = Some(match v.split_once('/') {
                            Some((n, size)) => format!("{n} inputs ({size})"),
                            None => (*v).to_string(),
                        });
                    }
                    "cov:" => stats.coverage = Some(format!("cov {v}")),
                    _ => {}
                }
            }
        }
    }
}

/// Installs what the tests need and a fresh machine lacks: the interop peers (`openssl`,
/// `gnutls-serv`) through apt when we are root, and cargo-deny through cargo.
fn ensure_tools(skip_deny: bool) -> Result<(), String> {
    // g++: libfuzzer-sys compiles libFuzzer's C++ for the fuzz smoke run.
    let missing: Vec<&str> = [
        ("openssl", "openssl"),
        ("gnutls-serv", "gnutls-bin"),
        ("g++", "g++"),
    ]
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
    tidy::tidy()?;
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
    // The client suite once more on the other provider (`ClientConfig::builder()` follows
    // overture's features): rebuilds only overture, overture-tests and this one test binary
    // (measured: about 15 s of build and 4 s of tests on 2 cores).
    cargo(
        &[
            "test",
            "-p",
            "overture-tests",
            "--no-default-features",
            "--features",
            "rustcrypto",
            "--test",
            "client",
        ],
        &[],
    )?;
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
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    if args.iter().any(|a| a == "--no-fuzz") {
        eprintln!("xtask ci: fuzz smoke run skipped (--no-fuzz)");
        Ok(())
    } else {
        // A smoke run (issue #11): every target replays its regressions and fuzzes 30 s.
        fuzz(&["all".into(), "--time".into(), "30".into()])
    }
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

/// The BoGo summary line (a convention scripts read): `bogo: P passed, F failed, U
/// unimplemented, D disabled`.
fn bogo_summary(passed: usize, failed: usize, unimplemented: usize, disabled: usize) -> String {
    format!(
        "bogo: {passed} passed, {failed} failed, {unimplemented} unimplemented, {disabled} disabled"
    )
}

/// How many results of each kind a runner `-json-output` file holds (`"actual": "PASS"`, ...).
/// The file is the runner's own (util/testresult), one `"actual"` per test; counting the
/// strings keeps xtask free of a JSON dependency.
fn bogo_count(json: &str, actual: &str) -> usize {
    json.matches(&format!("\"actual\": \"{actual}\"")).count()
}

/// `cargo xtask bogo --runner PATH [-- extra runner flags]`: builds the shim (tests/bogo) and
/// runs the given BoGo runner binary (BoringSSL's `ssl/test/runner`, built by the caller —
/// nothing of BoringSSL is in this repository) with our shim and `tests/bogo/config.json`,
/// then prints the summary line. The full results are in `target/bogo/results.json` and the
/// runner's log in `target/bogo/runner.log`. Without `--runner` it says what it needs and
/// succeeds: CI does not run BoGo.
fn bogo(args: &[String]) -> Result<(), String> {
    let (ours, extra) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let mut runner = None;
    let mut it = ours.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runner" => runner = Some(PathBuf::from(it.next().ok_or("--runner needs a path")?)),
            other => return Err(format!("bogo: unknown argument `{other}`")),
        }
    }
    let Some(runner) = runner else {
        println!(
            "bogo: a BoGo runner binary is needed (BoringSSL's ssl/test/runner, built outside \
             this repository): cargo xtask bogo --runner PATH"
        );
        return Ok(());
    };
    let runner = runner
        .canonicalize()
        .map_err(|e| format!("runner {}: {e}", runner.display()))?;
    cargo(&["build", "--quiet", "-p", "overture-bogo-shim"], &[])?;
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let shim = target.join("debug").join("bogo-shim");
    let config = root().join("tests/bogo/config.json");
    let out_dir = target.join("bogo");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let results = out_dir.join("results.json");
    let all = out_dir.join("all-tests.json");
    let log = out_dir.join("runner.log");
    let _ = std::fs::remove_file(&results);
    let _ = std::fs::remove_file(&all);

    // The runner resolves nothing relative to its working directory that we use; run it from
    // its own directory all the same, as its documentation does.
    let runner_dir = runner.parent().map(Path::to_path_buf).unwrap_or_else(root);
    let run_runner = |args: &[&std::ffi::OsStr], log_to: &Path| -> Result<(), String> {
        let log_file =
            std::fs::File::create(log_to).map_err(|e| format!("{}: {e}", log_to.display()))?;
        let err_file = log_file
            .try_clone()
            .map_err(|e| format!("{}: {e}", log_to.display()))?;
        eprintln!("$ {} {:?} > {}", runner.display(), args, log_to.display());
        // The runner exits non-zero when a test failed: the counts tell, not the status.
        Command::new(&runner)
            .args(args)
            .current_dir(&runner_dir)
            .stdout(log_file)
            .stderr(err_file)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", runner.display()))?;
        Ok(())
    };
    let mut main_args: Vec<&std::ffi::OsStr> = vec![
        "-shim-path".as_ref(),
        shim.as_os_str(),
        "-shim-config".as_ref(),
        config.as_os_str(),
        "-allow-unimplemented".as_ref(),
        "-num-workers".as_ref(),
        "2".as_ref(),
        "-json-output".as_ref(),
        results.as_os_str(),
    ];
    main_args.extend(extra.iter().map(std::ffi::OsStr::new));
    run_runner(&main_args, &log)?;
    let json = std::fs::read_to_string(&results)
        .map_err(|e| format!("the runner wrote no results ({e}); see {}", log.display()))?;
    let (passed, failed, unimplemented) = (
        bogo_count(&json, "PASS"),
        bogo_count(&json, "FAIL"),
        bogo_count(&json, "SKIP"),
    );

    // The runner does not report disabled tests: count every test once more with the
    // disabled ones included and the shim answering "unimplemented" at once (`-server` as
    // the first flag), and take the difference.
    let mut all_args: Vec<&std::ffi::OsStr> = vec![
        "-shim-path".as_ref(),
        shim.as_os_str(),
        "-shim-config".as_ref(),
        config.as_os_str(),
        "-include-disabled".as_ref(),
        "-allow-unimplemented".as_ref(),
        "-shim-extra-flags".as_ref(),
        "-server".as_ref(),
        "-num-workers".as_ref(),
        "2".as_ref(),
        "-json-output".as_ref(),
        all.as_os_str(),
    ];
    all_args.extend(extra.iter().map(std::ffi::OsStr::new));
    run_runner(&all_args, &out_dir.join("all-tests.log"))?;
    let total = std::fs::read_to_string(&all)
        .map(|j| bogo_count(&j, "PASS") + bogo_count(&j, "FAIL") + bogo_count(&j, "SKIP"))
        .map_err(|e| format!("counting all tests: {e}"))?;
    let disabled = total.saturating_sub(passed + failed + unimplemented);
    println!("{}", bogo_summary(passed, failed, unimplemented, disabled));
    eprintln!(
        "xtask: results in {}, runner log in {}",
        results.display(),
        log.display()
    );
    Ok(())
}
