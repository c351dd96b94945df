//! The `overture` command: an `openssl s_client` for the Overture stack (filled by the «client» issue).

fn main() {
    eprintln!("overture: the connect command arrives with the client issue");
    std::process::exit(2);
}
