use std::process::ExitCode;

use clap::Parser;
use nyhetsbrev::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        // Output piped into `head` and closed early: not an error.
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            // One line: the error and its causes, e.g. "could not open the database …: …".
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
