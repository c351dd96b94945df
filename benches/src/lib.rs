//! The measuring harness behind `cargo xtask bench <layer>`.
//!
//! Each case runs its implementations **interleaved** (A B C A B C …) in one process, so a
//! noisy neighbour slows all of them alike; each repetition is calibrated to a fixed time; the
//! report gives the median and min–max over the repetitions, and ratios are taken **per
//! repetition** (then their median), never from two separately noisy medians.
//!
//! ```no_run
//! let mut suite = overture_benches::Suite::from_args("demo");
//! let data = vec![0u8; 16384];
//! let (mut a, mut b) = (vec![0u8; 16384], vec![0u8; 16384]);
//! suite.throughput("copy-16k", 16384, &mut [
//!     ("overture", &mut || a.copy_from_slice(&data)),
//!     ("floor", &mut || b.copy_from_slice(std::hint::black_box(&data))),
//! ]);
//! suite.finish(); // Markdown on stdout, target/bench/demo.json
//! ```
//!
//! ```text
//!  src/bin/<layer>.rs ──► Suite::{throughput, time, time_charged, throughput_charged, samples}
//!        │                  interleaved repetitions ─► rows (median, min–max, per-rep ratios)
//!        │                                                   │
//!        ├─ inmem: client ⇄ rustls server in memory,         ├─► stdout: Markdown table
//!        │   only the client's calls charged                 ├─► target/bench/<layer>.json
//!        ├─ floor: a handshake's primitives on ring          ├─► target/bench/<layer>.svg (plot)
//!        └─ callgrind: instruction counts, ring vs the rest  └─► <layer>.notrun.tsv (reasons)
//!  src/bin/report.rs: all layers' JSON ─► target/bench/report.md, BENCHMARKS.md (goals)
//! ```
//!
//! The first implementation of a case is the subject; a ratio row `subject/anchor` is written
//! for every other one. For throughput the ratio is subject÷anchor throughput (higher is
//! better); for time it is subject÷anchor time (lower is better).

#![forbid(unsafe_code)]
#![allow(
    clippy::as_conversions,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One implementation of a case: a name and a closure that runs one operation.
pub type Impl<'a> = (&'a str, &'a mut dyn FnMut());

/// One implementation whose operation reports the time to charge to it (e.g. only the client's
/// calls of a handshake whose server runs in the same thread, as `rustls-bench` charges it).
pub type Charged<'a> = (&'a str, &'a mut dyn FnMut() -> Duration);

/// One row of `target/bench/<layer>.json`.
#[derive(Clone, Debug)]
pub struct Row {
    /// The case name (scripts read these).
    pub case: String,
    /// `overture`, `rustls`, `openssl`, `floor`, `raw-aead`, … or a ratio `a/b`.
    pub imp: String,
    /// `throughput`, `time` or `ratio`.
    pub metric: String,
    /// `MiB/s`, `us`, `ns` or `x`.
    pub unit: String,
    /// Median over the repetitions.
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Number of repetitions.
    pub n: usize,
}

/// A benchmark run for one layer.
pub struct Suite {
    layer: String,
    reps: usize,
    target: Duration,
    filter: Option<String>,
    quick: bool,
    rows: Vec<Row>,
    not_run: Vec<(String, String, String)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Throughput(u64),
    Time,
}

impl Suite {
    /// Reads `--quick` (shorter repetitions), `--reps N` (default 7, at least 5) and
    /// `--filter S` (only cases whose name contains S) from the command line.
    pub fn from_args(layer: &str) -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let quick = args.iter().any(|a| a == "--quick");
        let mut reps = if quick { 5 } else { 7 };
        let mut filter = None;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--reps" => {
                    reps = it
                        .next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(reps)
                        .max(5)
                }
                "--filter" => filter = it.next().cloned(),
                _ => {}
            }
        }
        pin_to_one_core();
        Self {
            layer: layer.to_string(),
            reps,
            target: Duration::from_millis(if quick { 40 } else { 200 }),
            filter,
            quick,
            rows: Vec::new(),
            not_run: Vec::new(),
        }
    }

    /// Whether `--quick` was given.
    pub fn quick(&self) -> bool {
        self.quick
    }

    /// The number of repetitions (at least 5).
    pub fn reps(&self) -> usize {
        self.reps
    }

    /// The calibrated time of one repetition of one implementation.
    pub fn target(&self) -> Duration {
        self.target
    }

    /// Notes that `imp` of `case` could not run and why; the table shows it, the JSON has no
    /// row for it (no figure is invented).
    pub fn not_run(&mut self, case: &str, imp: &str, reason: &str) {
        if self.wants(case) {
            eprintln!("{case} [{imp}]: not run: {reason}");
            self.not_run
                .push((case.to_string(), imp.to_string(), reason.to_string()));
        }
    }

    /// Like [`Suite::time`], but each call returns the time to charge (the rest of the call,
    /// e.g. the in-memory server's work, is not counted), and a repetition's figure is the
    /// **median** charged time of its operations (robust to a preempted operation on a shared
    /// machine). Calibration uses the wall time so a repetition still lasts about the target.
    pub fn time_charged(&mut self, case: &str, impls: &mut [Charged<'_>]) {
        self.run_charged(case, Kind::Time, impls, 1);
    }

    /// [`Suite::time_charged`] for operations that each process `bytes` bytes; reports MiB/s
    /// (from the median charged time of each repetition).
    pub fn throughput_charged(&mut self, case: &str, bytes: u64, impls: &mut [Charged<'_>]) {
        self.run_charged(case, Kind::Throughput(bytes), impls, 1);
    }

    /// [`Suite::throughput_charged`] with the first `subjects` implementations each a subject:
    /// ratio rows `a/b` for each of them against every implementation after it (e.g. two ways
    /// of one client, both against the same anchors in one interleaved run).
    pub fn throughput_charged_subjects(
        &mut self,
        case: &str,
        bytes: u64,
        subjects: usize,
        impls: &mut [Charged<'_>],
    ) {
        self.run_charged(case, Kind::Throughput(bytes), impls, subjects);
    }

    fn run_charged(&mut self, case: &str, kind: Kind, impls: &mut [Charged<'_>], subjects: usize) {
        if !self.wants(case) || impls.is_empty() {
            return;
        }
        let iters: Vec<u64> = impls
            .iter_mut()
            .map(|(_, f)| {
                calibrate(
                    &mut || {
                        f();
                    },
                    self.target,
                )
            })
            .collect();
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); impls.len()];
        for rep in 0..self.reps {
            for k in 0..impls.len() {
                let i = (k + rep) % impls.len();
                let (_, f) = &mut impls[i];
                let mut ops: Vec<f64> = (0..iters[i]).map(|_| f().as_secs_f64()).collect();
                ops.sort_by(|a, b| a.total_cmp(b));
                // The median operation of the repetition: on a shared machine one preempted
                // handshake (milliseconds) would otherwise move a mean of a few hundred.
                let per_op = ops.get(ops.len() / 2).copied().unwrap_or(f64::NAN);
                samples[i].push(match kind {
                    Kind::Throughput(b) => b as f64 / per_op / (1024.0 * 1024.0),
                    Kind::Time => per_op * 1e6,
                });
            }
        }
        self.push_samples(case, kind, impls.iter().map(|(n, _)| *n), samples, subjects);
    }

    fn push_samples<'n>(
        &mut self,
        case: &str,
        kind: Kind,
        names: impl Iterator<Item = &'n str>,
        samples: Vec<Vec<f64>>,
        subjects: usize,
    ) {
        let (metric, unit) = match kind {
            Kind::Throughput(_) => ("throughput", "MiB/s"),
            Kind::Time => ("time", "us"),
        };
        let named: Vec<(&str, Vec<f64>)> = names.zip(samples).collect();
        self.samples(case, metric, unit, &named);
        // Further subjects' ratios, after the first's.
        for (k, (subject, first)) in named.iter().enumerate().take(subjects).skip(1) {
            for (name, v) in named.iter().skip(k + 1) {
                let ratios: Vec<f64> = first.iter().zip(v).map(|(a, b)| a / b).collect();
                let imp = format!("{subject}/{name}");
                self.rows.push(summarize(case, &imp, "ratio", "x", &ratios));
            }
        }
    }

    /// Adds figures measured by the caller, one value per repetition for each implementation
    /// (the first is the subject); ratio rows `subject/anchor` are taken per repetition.
    pub fn samples(&mut self, case: &str, metric: &str, unit: &str, impls: &[(&str, Vec<f64>)]) {
        if !self.wants(case) || impls.is_empty() {
            return;
        }
        for (name, v) in impls {
            self.rows.push(summarize(case, name, metric, unit, v));
        }
        let (subject, first) = &impls[0];
        for (name, v) in impls.iter().skip(1) {
            let ratios: Vec<f64> = first.iter().zip(v).map(|(a, b)| a / b).collect();
            self.rows.push(summarize(
                case,
                &format!("{subject}/{name}"),
                "ratio",
                "x",
                &ratios,
            ));
        }
    }

    /// Whether a case would run under the `--filter`.
    pub fn wants(&self, case: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| case.contains(f))
    }

    /// Measures operations that each process `bytes` bytes; reports MiB/s.
    pub fn throughput(&mut self, case: &str, bytes: u64, impls: &mut [Impl<'_>]) {
        self.run(case, Kind::Throughput(bytes), impls);
    }

    /// Measures the time of one operation; reports microseconds.
    pub fn time(&mut self, case: &str, impls: &mut [Impl<'_>]) {
        self.run(case, Kind::Time, impls);
    }

    /// Adds a row measured elsewhere (e.g. bytes held by a connection).
    pub fn record(&mut self, row: Row) {
        self.rows.push(row);
    }

    fn run(&mut self, case: &str, kind: Kind, impls: &mut [Impl<'_>]) {
        if !self.wants(case) || impls.is_empty() {
            return;
        }
        // Calibrate: how many operations fill the target time, per implementation.
        let iters: Vec<u64> = impls
            .iter_mut()
            .map(|(_, f)| calibrate(&mut **f, self.target))
            .collect();
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); impls.len()];
        for rep in 0..self.reps {
            // Rotate the starting implementation so none always runs first.
            for k in 0..impls.len() {
                let i = (k + rep) % impls.len();
                let (_, f) = &mut impls[i];
                let t = Instant::now();
                for _ in 0..iters[i] {
                    f();
                }
                let per_op = t.elapsed().as_secs_f64() / iters[i] as f64;
                samples[i].push(match kind {
                    Kind::Throughput(b) => b as f64 / per_op / (1024.0 * 1024.0),
                    Kind::Time => per_op * 1e6,
                });
            }
        }
        self.push_samples(case, kind, impls.iter().map(|(n, _)| *n), samples, 1);
    }

    /// The rows measured so far.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Prints the Markdown table and writes `target/bench/<layer>.json`.
    pub fn finish(self) {
        println!("{}", self.markdown());
        let dir = bench_dir();
        std::fs::create_dir_all(&dir).expect("create target/bench");
        let path = dir.join(format!("{}.json", self.layer));
        std::fs::write(&path, self.json()).expect("write bench json");
        eprintln!("wrote {}", path.display());
        let skipped: String = self
            .not_run
            .iter()
            .map(|(c, i, r)| format!("{c}\t{i}\t{r}\n"))
            .collect();
        let notrun = dir.join(format!("{}.notrun.tsv", self.layer));
        std::fs::write(&notrun, skipped).expect("write not-run list");
        let svg = dir.join(format!("{}.svg", self.layer));
        match plot::write_svg(&svg, &self.layer, &self.rows) {
            Ok(()) => eprintln!("wrote {}", svg.display()),
            Err(e) => eprintln!("plot {}: {e}", svg.display()),
        }
    }

    /// The Markdown table.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "### {} ({} repetitions, interleaved)\n\n| case | impl | metric | median | min | max | unit |\n|---|---|---|---:|---:|---:|---|\n",
            self.layer, self.reps
        );
        for r in &self.rows {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.case,
                r.imp,
                r.metric,
                fmt_num(r.median),
                fmt_num(r.min),
                fmt_num(r.max),
                r.unit
            );
        }
        for (case, imp, reason) in &self.not_run {
            let _ = writeln!(s, "| {case} | {imp} | not run: {reason} | | | | |");
        }
        s
    }

    /// The JSON list of rows.
    pub fn json(&self) -> String {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "case": r.case, "impl": r.imp, "metric": r.metric, "unit": r.unit,
                    "median": r.median, "min": r.min, "max": r.max, "n": r.n,
                })
            })
            .collect();
        serde_json::to_string_pretty(&rows).expect("serialize rows")
    }
}

fn calibrate(f: &mut dyn FnMut(), target: Duration) -> u64 {
    // Warm up, then grow the count until one batch takes a tenth of the target.
    f();
    let mut n: u64 = 1;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        let e = t.elapsed();
        if e >= target / 10 || n >= 1 << 30 {
            let per = e.as_secs_f64() / n as f64;
            return ((target.as_secs_f64() / per.max(1e-9)) as u64).max(1);
        }
        n *= 4;
    }
}

fn summarize(case: &str, imp: &str, metric: &str, unit: &str, v: &[f64]) -> Row {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let median = if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Row {
        case: case.to_string(),
        imp: imp.to_string(),
        metric: metric.to_string(),
        unit: unit.to_string(),
        median,
        min: s.first().copied().unwrap_or(f64::NAN),
        max: s.last().copied().unwrap_or(f64::NAN),
        n,
    }
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// `target/bench` at the workspace root (or `$CARGO_TARGET_DIR/bench`, or
/// `$OVERTURE_BENCH_DIR` when set: a private directory, so that a run in a checkout shared with
/// others is not mixed with their runs).
pub fn bench_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("OVERTURE_BENCH_DIR") {
        return PathBuf::from(d);
    }
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(t).join("bench");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("bench")
}

/// Pins this process to the last CPU with `taskset` semantics where the OS allows (Linux:
/// through `/proc/self` and the `taskset` tool when present); a no-op elsewhere.
fn pin_to_one_core() {
    #[cfg(target_os = "linux")]
    {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus > 1 {
            let pid = std::process::id().to_string();
            let cpu = (cpus - 1).to_string();
            let _ = std::process::Command::new("taskset")
                .args(["-a", "-p", "-c", &cpu, &pid])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// The `main` of a layer's bench binary built without its feature: says how to build it.
///
/// Each `src/bin/<layer>.rs` has its real `main` behind `#[cfg(feature = "<layer>")]`, so that
/// a layer's benchmark compiles only the crates it measures.
pub fn needs_feature(layer: &str) -> ! {
    eprintln!("this benchmark needs `--features {layer}`: run it as `cargo xtask bench {layer}`");
    std::process::exit(2)
}

mod plot;

#[cfg(any(feature = "handshake", feature = "bulk", feature = "memory"))]
pub mod inmem;

#[cfg(feature = "handshake")]
pub mod floor;

#[cfg(feature = "handshake")]
pub mod callgrind;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_rows_follow_each_anchor() {
        let mut s = Suite {
            layer: "t".into(),
            reps: 5,
            target: Duration::from_millis(2),
            filter: None,
            quick: true,
            rows: vec![],
            not_run: vec![],
        };
        let mut a = 0u64;
        let mut b = 0u64;
        s.time(
            "case",
            &mut [
                ("overture", &mut || a = std::hint::black_box(a + 1)),
                ("floor", &mut || b = std::hint::black_box(b + 1)),
            ],
        );
        let imps: Vec<&str> = s.rows().iter().map(|r| r.imp.as_str()).collect();
        assert_eq!(imps, ["overture", "floor", "overture/floor"]);
        assert!(s.rows().iter().all(|r| r.n == 5 && r.median.is_finite()));
        assert!(s.json().contains("\"impl\": \"overture/floor\""));
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn samples_take_ratios_per_repetition_and_not_run_stays_out_of_json() {
        let mut s = Suite {
            layer: "t".into(),
            reps: 5,
            target: Duration::from_millis(1),
            filter: None,
            quick: true,
            rows: vec![],
            not_run: vec![],
        };
        s.samples(
            "c",
            "heap",
            "bytes",
            &[
                ("overture", vec![1.0, 2.0, 4.0]),
                ("rustls", vec![2.0, 2.0, 2.0]),
            ],
        );
        let ratio = s
            .rows()
            .iter()
            .find(|r| r.imp == "overture/rustls")
            .unwrap();
        assert_eq!((ratio.min, ratio.median, ratio.max), (0.5, 1.0, 2.0));
        s.not_run("d", "overture", "no reason");
        assert!(!s.json().contains("\"d\""));
        assert!(s.markdown().contains("not run: no reason"));
    }
}
