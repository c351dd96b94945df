//! The summary `cargo xtask bench` writes after running layers: machine, command, the
//! issue's goals (#17, and #16's hybrid goal) with the measured ratios, the callgrind profiles, and every layer's figures.
//! Reads `target/bench/<layer>.json` (and `.notrun.tsv`); writes `target/bench/report.md`,
//! and with `--write PATH` (a full `all` run) also PATH (`BENCHMARKS.md`).
//!
//! `report --command "<cmd>" --seconds N --layer=<l>... [--write PATH]`

use overture_benches::bench_dir;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// One goal of issue #17's table (and issue #16's hybrid goal).
struct Goal {
    what: &'static str,
    layer: &'static str,
    case: &'static str,
    ratio: &'static str,
    at_most: bool,
    target: f64,
}

/// The goals of issue #17 (performance round 2), in its table's order, and issue #16's
/// X25519MLKEM768 goal. (The table's would-block goal, no allocation on a `WantRead` /
/// `WantWrite` return, is a yes/no property: `crates/client/tests/would_block_alloc.rs`
/// proves it with a counting allocator.)
const GOALS: &[Goal] = &[
    Goal {
        what: "full TLS 1.3 client ÷ crypto floor (ECDSA P-256, cold)",
        layer: "handshake",
        case: "tls13-full-ecdsa",
        ratio: "overture/floor",
        at_most: true,
        target: 1.02,
    },
    Goal {
        what: "full TLS 1.3 client ÷ crypto floor (RSA-2048, cold)",
        layer: "handshake",
        case: "tls13-full-rsa",
        ratio: "overture/floor",
        at_most: true,
        target: 1.04,
    },
    Goal {
        what: "resumed TLS 1.3 ÷ crypto floor",
        layer: "handshake",
        case: "tls13-resumed",
        ratio: "overture/floor",
        at_most: true,
        target: 1.04,
    },
    Goal {
        what: "TLS 1.2 full ÷ crypto floor",
        layer: "handshake",
        case: "tls12-full-ecdsa",
        ratio: "overture/floor",
        at_most: true,
        target: 1.04,
    },
    Goal {
        what: "non-crypto instructions per full TLS 1.3 handshake ÷ rustls (callgrind)",
        layer: "handshake",
        case: "instr-non-crypto-tls13-full-ecdsa",
        ratio: "overture/rustls",
        at_most: true,
        target: 0.50,
    },
    Goal {
        what: "warm-cache full TLS 1.3 client ÷ rustls",
        layer: "handshake",
        case: "tls13-full-ecdsa-warm",
        ratio: "overture/rustls",
        at_most: true,
        target: 0.50,
    },
    Goal {
        what: "bulk send ÷ raw AEAD (AES-128-GCM)",
        layer: "bulk",
        case: "bulk-send-aes128gcm",
        ratio: "overture/raw-aead",
        at_most: false,
        target: 0.92,
    },
    Goal {
        what: "bulk send ÷ raw AEAD (AES-256-GCM)",
        layer: "bulk",
        case: "bulk-send-aes256gcm",
        ratio: "overture/raw-aead",
        at_most: false,
        target: 0.92,
    },
    Goal {
        what: "bulk receive ÷ raw AEAD (AES-128-GCM)",
        layer: "bulk",
        case: "bulk-recv-aes128gcm",
        ratio: "overture/raw-aead",
        at_most: false,
        target: 0.88,
    },
    Goal {
        what: "bulk receive ÷ raw AEAD (AES-256-GCM)",
        layer: "bulk",
        case: "bulk-recv-aes256gcm",
        ratio: "overture/raw-aead",
        at_most: false,
        target: 0.88,
    },
    Goal {
        what: "bulk receive ÷ raw AEAD, lent in place (`Ssl::read_in_place`, AES-128-GCM)",
        layer: "bulk",
        case: "bulk-recv-aes128gcm",
        ratio: "overture-lend/raw-aead",
        at_most: false,
        target: 0.88,
    },
    Goal {
        what: "bulk receive ÷ raw AEAD, lent in place (`Ssl::read_in_place`, AES-256-GCM)",
        layer: "bulk",
        case: "bulk-recv-aes256gcm",
        ratio: "overture-lend/raw-aead",
        at_most: false,
        target: 0.88,
    },
    Goal {
        what: "heap held after the handshake ÷ rustls",
        layer: "memory",
        case: "mem-held-after-handshake",
        ratio: "overture/rustls",
        at_most: true,
        target: 0.35,
    },
    Goal {
        what: "heap peak with 16 KiB each way ÷ rustls",
        layer: "memory",
        case: "mem-peak-16k",
        ratio: "overture/rustls",
        at_most: true,
        target: 0.60,
    },
    Goal {
        what: "heap peak during the handshake ÷ rustls",
        layer: "memory",
        case: "mem-peak-handshake",
        ratio: "overture/rustls",
        at_most: true,
        target: 0.80,
    },
    Goal {
        what: "allocation calls per full TLS 1.3 handshake ÷ rustls (DHAT)",
        layer: "handshake",
        case: "allocs-tls13-full-ecdsa",
        ratio: "overture/rustls",
        at_most: true,
        target: 0.60,
    },
    Goal {
        what: "loopback connects/s ÷ rustls",
        layer: "tcp",
        case: "tcp-connects",
        ratio: "overture/rustls",
        at_most: false,
        target: 1.25,
    },
    Goal {
        what: "issue #16: full TLS 1.3 over X25519MLKEM768 ÷ its crypto floor",
        layer: "handshake",
        case: "tls13-full-ecdsa-mlkem",
        ratio: "overture/floor",
        at_most: true,
        target: 1.03,
    },
];

fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut command = String::from("cargo xtask bench all");
    let mut seconds = String::from("?");
    let mut layers: Vec<String> = Vec::new();
    let mut write: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--command" => command = it.next().cloned().unwrap_or_default(),
            "--seconds" => seconds = it.next().cloned().unwrap_or_default(),
            "--write" => write = it.next().map(PathBuf::from),
            l if l.starts_with("--layer=") => layers.push(l.trim_start_matches("--layer=").into()),
            _ => {}
        }
    }
    let dir = bench_dir();
    let rows_of = |layer: &str| -> Vec<Value> {
        std::fs::read_to_string(dir.join(format!("{layer}.json")))
            .ok()
            .and_then(|t| serde_json::from_str::<Vec<Value>>(&t).ok())
            .unwrap_or_default()
    };
    let notrun_of = |layer: &str| -> Vec<(String, String, String)> {
        std::fs::read_to_string(dir.join(format!("{layer}.notrun.tsv")))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut p = l.splitn(3, '\t');
                Some((p.next()?.into(), p.next()?.into(), p.next()?.into()))
            })
            .collect()
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let dirty = if sh("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        ""
    } else {
        " plus uncommitted changes in the working tree"
    };
    let _ = writeln!(
        md,
        "Generated by `{command}` on {} at commit {}{dirty} (took {seconds} s). Machine: `nproc` = {}, CPU: {cpu}, kernel {}; \
         {}. Each bench process runs pinned to the last core (`taskset`); `tcp` puts \
         `openssl s_server` on core 0.\n",
        sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        sh("git", &["rev-parse", "--short", "HEAD"]),
        sh("nproc", &[]),
        sh("uname", &["-r"]),
        sh("rustc", &["--version"]),
    );
    let _ = writeln!(
        md,
        "Method: every implementation is built with the workspace's `bench` profile (one codegen \
         unit, fat LTO, as rustls's own benchmarks; since 2026-12-04, before that the default \
         release profile). Implementations of a case run interleaved in one process (A B C A B C …, the \
         starting one rotated), each repetition calibrated to a fixed time; figures are the median \
         and min–max over the repetitions, ratios are taken per repetition. Handshake and bulk \
         cases charge only the client's calls (the in-memory rustls server and the moving of bytes \
         are not charged) and take each repetition's median operation. Ratios: time ratios are \
         subject÷anchor time (lower is better), throughput and rate ratios subject÷anchor (higher \
         is better), heap and instruction ratios subject÷anchor (lower is better).\n"
    );
    let _ = writeln!(md, "## Goals of issue #17 (and #16's hybrid goal)\n");
    let _ = writeln!(
        md,
        "| goal | target | measured median (min–max) | status |\n|---|---:|---:|---|"
    );
    for g in GOALS.iter().filter(|g| layers.iter().any(|l| l == g.layer)) {
        let rows = rows_of(g.layer);
        let found = rows
            .iter()
            .find(|r| r["case"] == g.case && r["impl"] == g.ratio && r["metric"] == "ratio");
        let target = format!("{} {}", if g.at_most { "≤" } else { "≥" }, num(g.target));
        let (measured, status) = match found {
            Some(r) => {
                let m = r["median"].as_f64().unwrap_or(f64::NAN);
                let lo = r["min"].as_f64().unwrap_or(f64::NAN);
                let hi = r["max"].as_f64().unwrap_or(f64::NAN);
                let ok = if g.at_most {
                    m <= g.target
                } else {
                    m >= g.target
                };
                (
                    format!("{}× ({}–{})", num(m), num(lo), num(hi)),
                    if ok {
                        "met".to_string()
                    } else {
                        "**behind**".to_string()
                    },
                )
            }
            None => {
                let why = notrun_of(g.layer)
                    .into_iter()
                    .find(|(c, _, _)| c == g.case)
                    .map(|(_, i, r)| format!("not run ({i}): {r}"))
                    .unwrap_or_else(|| format!("no figure in `{}.json`", g.layer));
                ("–".into(), why)
            }
        };
        let _ = writeln!(
            md,
            "| {} (`{}` {}) | {target} | {measured} | {status} |",
            g.what, g.case, g.ratio
        );
    }
    md.push('\n');
    if let Ok(notes) =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("NOTES.md"))
    {
        md.push_str(&notes);
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "## Profiles (callgrind, client handshake `tls13-full-ecdsa`)\n"
    );
    for imp in ["overture", "rustls", "floor"] {
        if let Ok(top) = std::fs::read_to_string(dir.join(format!("callgrind.{imp}.top.txt"))) {
            let lines: Vec<&str> = top.lines().collect();
            let _ = writeln!(md, "<details><summary>{imp}</summary>\n\n```text");
            for l in lines.iter().take(70) {
                let _ = writeln!(md, "{l}");
            }
            let _ = writeln!(md, "```\n</details>\n");
        }
    }
    let _ = writeln!(md, "## Figures\n");
    for layer in &layers {
        let rows = rows_of(layer);
        let _ = writeln!(md, "### {layer}\n\nPlot: `target/bench/{layer}.svg`\n");
        let _ = writeln!(
            md,
            "| case | impl | metric | median | min | max | unit | n |\n|---|---|---|---:|---:|---:|---|---:|"
        );
        for r in &rows {
            let f = |k: &str| r[k].as_f64().map_or("–".into(), num);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r["case"].as_str().unwrap_or("?"),
                r["impl"].as_str().unwrap_or("?"),
                r["metric"].as_str().unwrap_or("?"),
                f("median"),
                f("min"),
                f("max"),
                r["unit"].as_str().unwrap_or("?"),
                r["n"],
            );
        }
        for (c, i, why) in notrun_of(layer) {
            let _ = writeln!(md, "| {c} | {i} | not run: {why} | | | | | |");
        }
        md.push('\n');
    }
    let out = dir.join("report.md");
    if let Err(e) = std::fs::write(&out, &md) {
        eprintln!("report: {}: {e}", out.display());
        std::process::exit(1);
    }
    eprintln!("wrote {}", out.display());
    if let Some(path) = write {
        if let Err(e) = std::fs::write(&path, &md) {
            eprintln!("report: {}: {e}", path.display());
            std::process::exit(1);
        }
        eprintln!("wrote {}", path.display());
    }
    // The goals on stdout too.
    if let Some(goals) = md.split("## Goals of issue #17").nth(1) {
        let table: String = goals.split("\n\n").take(2).collect::<Vec<_>>().join("\n\n");
        println!("## Goals of issue #17{table}\n");
    }
}
