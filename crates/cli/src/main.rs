//! `overture` — an `openssl s_client` for the Overture stack, for humans and for scripts.
//!
//! ```text
//! overture connect HOST:PORT [--server-name NAME] [--ca-file PEM] [--tls1.2 | --tls1.3]
//!     [--cipher-suites LIST] [--groups LIST] [--alpn LIST] [--cert PEM --key PEM]
//!     [--non-blocking] [--bio-pair] [--nodelay] [--reconnect N] [--request STRING]
//!     [--keylog FILE] [--timeout SECS] [--showcerts]
//!     [--starttls smtp|imap|pop3|ftp|xmpp|postgres] [--trace] [--json] [--record-size-limit N]
//! ```
//!
//! With `--json`, one JSON object per connection, one per line. Exit status: 0 when every
//! connection succeeded, 1 when one failed, 2 on a usage error.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod certs;
mod drive;
mod starttls;
mod trace;

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let opts = match args::parse(&argv) {
        Ok(args::Command::Connect(o)) => o,
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("overture: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    if opts.trace
        && let Err(e) = trace::MsgPrinter::install(opts.json)
    {
        eprintln!("overture: {e}");
        return ExitCode::from(2);
    }
    match drive::run(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("overture: {e}");
            ExitCode::from(2)
        }
    }
}
