//! Reading callgrind's output through `callgrind_annotate`: the total instructions counted,
//! the part spent in the crypto libraries (the self cost of ring's functions: `ring::…`, its C
//! and assembly `ring_core_…`; and libcrux's, for ML-KEM), and the costliest functions
//! outside them.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Instruction counts of one callgrind run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    /// Every instruction counted.
    pub total: u64,
    /// Instructions in ring's own functions (self cost).
    pub crypto: u64,
}

/// Whether a function belongs to a crypto library: ring's Rust (`ring::…`), its C and
/// assembly (exported `ring_core_…` symbols, and static ones found by their source file under
/// `ring-0.x/`), and libcrux (ML-KEM and its SHA-3: `libcrux_…`, files under `libcrux-…/`).
pub fn is_crypto(file: &str, function: &str) -> bool {
    file.contains("/ring-0.")
        || function.starts_with("ring::")
        || function.starts_with("<ring::")
        || function.contains("ring_core_")
        || file.contains("/libcrux-")
        || function.starts_with("libcrux")
        || function.starts_with("<libcrux")
}

/// One function's cost: (instructions, source file, function).
type Cost = (u64, String, String);

/// Every function of the run with its self or inclusive cost. Lines that carry the whole
/// total (the frames outside the counted calls: `main`, the runtime) are left out.
fn functions(out: &Path, inclusive: bool) -> Result<(u64, Vec<Cost>), String> {
    let o = Command::new("callgrind_annotate")
        .arg(format!(
            "--inclusive={}",
            if inclusive { "yes" } else { "no" }
        ))
        .args(["--threshold=100", "--auto=no", "--show-percs=no"])
        .arg(out)
        .output()
        .map_err(|e| format!("callgrind_annotate: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "callgrind_annotate failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let mut total = 0;
    let mut rows = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some((num, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let Ok(n) = num.replace(',', "").parse::<u64>() else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with("PROGRAM TOTALS") || rest.starts_with("(PROGRAM TOTALS") {
            total = n;
            continue;
        }
        let (file, name) = rest.split_once(':').unwrap_or(("???", rest));
        let name = name.rsplit_once(" [").map_or(name, |(f, _)| f).trim();
        rows.push((n, file.to_string(), name.to_string()));
    }
    if !inclusive {
        rows.retain(|(n, _, _)| *n < total);
    }
    if total == 0 {
        return Err("callgrind_annotate reported no PROGRAM TOTALS".into());
    }
    Ok((total, rows))
}

/// Sums the run in `out` and writes `<out>.top.txt`: the costliest functions outside ring by
/// self cost, and Overture's/rustls's own functions by inclusive cost.
pub fn annotate(out: &Path, imp: &str) -> Result<Totals, String> {
    let (total, self_costs) = functions(out, false)?;
    let crypto: u64 = self_costs
        .iter()
        .filter(|(_, file, f)| is_crypto(file, f))
        .map(|(n, _, _)| n)
        .sum();
    let (_, inclusive) = functions(out, true)?;
    let mut report = format!(
        "callgrind, {imp} client handshakes: {total} Ir counted, {crypto} Ir in ring (self cost), {} outside\n\nTop functions outside ring by self cost:\n",
        total - crypto.min(total)
    );
    let mut outside: Vec<&Cost> = self_costs
        .iter()
        .filter(|(_, file, f)| !is_crypto(file, f))
        .collect();
    outside.sort_by_key(|c| std::cmp::Reverse(c.0));
    for (n, _, f) in outside.iter().take(40) {
        let _ = writeln!(report, "{n:>12}  {f}");
    }
    let own = match imp {
        "overture" => "overture",
        "floor" => "overture_benches",
        _ => "rustls",
    };
    let _ = writeln!(report, "\nTop {own} functions by inclusive cost:");
    let mut mine: Vec<&Cost> = inclusive
        .iter()
        .filter(|(_, _, f)| f.starts_with(own) || f.starts_with(&format!("<{own}")))
        .collect();
    mine.sort_by_key(|c| std::cmp::Reverse(c.0));
    mine.dedup_by(|a, b| a.2 == b.2);
    for (n, _, f) in mine.iter().take(40) {
        let _ = writeln!(report, "{n:>12}  {f}");
    }
    let top = out.with_extension("top.txt");
    std::fs::write(&top, report).map_err(|e| format!("{}: {e}", top.display()))?;
    Ok(Totals { total, crypto })
}
